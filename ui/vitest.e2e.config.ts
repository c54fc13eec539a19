// Browser tests: the built ui/dist in Debian's Chromium, Tauri IPC mocked (tests/e2e/).
import { defineConfig } from 'vitest/config';
import SummaryReporter from './tests/summary-reporter.ts';

export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['tests/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', new SummaryReporter('e2e')],
  },
});
