// Builds ui/dist when it is missing or older than anything it is built from.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ui = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const inputs = ['src', 'index.html', 'vite.config.ts', 'svelte.config.js', 'tsconfig.json', 'package-lock.json'];

function newest(p) {
  let s;
  try {
    s = statSync(p);
  } catch {
    return 0;
  }
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

const built = newest(path.join(ui, 'dist/index.html'));
const source = Math.max(...inputs.map((f) => newest(path.join(ui, f))));
if (built === 0 || source > built) {
  console.log(built === 0 ? 'ui/dist is missing: building' : 'ui/dist is older than its sources: building');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ui, stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else {
  console.log('ui/dist is up to date');
}
