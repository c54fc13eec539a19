// Where the browser tests find and put things.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_DIR = path.join(UI_DIR, 'dist');
/** The test-only IPC mock, built from mock-entry.ts by global-setup.ts (ignored by git). */
export const MOCK_BUNDLE = path.join(UI_DIR, 'node_modules/.cache/paaf-e2e/tauri-mock.js');
/** Screenshots for people to look at (the repo's tests/artifacts is ignored by git). */
export const SCREENSHOT_DIR = path.resolve(UI_DIR, '../tests/artifacts/ui');
export const TAURI_CONF = path.resolve(UI_DIR, '../src-tauri/tauri.conf.json');
