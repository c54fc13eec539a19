// Before the browser tests: the built app must exist; the IPC mock is bundled into one script
// that Playwright injects before the app's own (so the production bundle never contains it).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'vite';
import { DIST_DIR, MOCK_BUNDLE, UI_DIR } from './paths';

export default async function setup(): Promise<void> {
  if (!existsSync(path.join(DIST_DIR, 'index.html'))) {
    throw new Error(`${DIST_DIR}/index.html is missing: run \`npm run build\` (or \`npm run e2e\`, which builds)`);
  }
  await build({
    configFile: false,
    root: UI_DIR,
    logLevel: 'warn',
    build: {
      lib: {
        entry: path.join(UI_DIR, 'tests/e2e/mock-entry.ts'),
        formats: ['iife'],
        name: 'paafTauriMock',
        fileName: () => path.basename(MOCK_BUNDLE),
      },
      outDir: path.dirname(MOCK_BUNDLE),
      emptyOutDir: true,
      minify: false,
      target: 'es2021',
    },
  });
}
