import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Served to the Tauri webview from disk (no remote content); `base: './'` keeps asset paths relative.
export default defineConfig({
  plugins: [svelte()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2021' },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  test: { environment: 'node' },
});
