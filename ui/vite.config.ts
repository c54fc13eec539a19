import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import SummaryReporter from './tests/summary-reporter.ts';

// Served to the Tauri webview from disk (no remote content); `base: './'` keeps asset paths relative.
export default defineConfig({
  plugins: [svelte(), process.env.VITEST ? svelteTesting() : null],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2021' },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  // Unit and component tests (npm test); the browser tests have vitest.e2e.config.ts.
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node', // component tests say `@vitest-environment jsdom`
    setupFiles: ['tests/unit-setup.ts'],
    reporters: ['default', new SummaryReporter('unit')],
  },
});
