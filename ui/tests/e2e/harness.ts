// Browser-test plumbing: a static server for ui/dist (with the app's real CSP), Debian's
// Chromium through playwright-core, and a page with the mocked Tauri IPC installed first.
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DIST_DIR, MOCK_BUNDLE, SCREENSHOT_DIR, TAURI_CONF } from './paths';
import type { MockState, RecordedCall, Scenario } from './scenario';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** The Content-Security-Policy the desktop app enforces (tauri.conf.json app.security.csp). */
export function appCsp(): string {
  const conf = JSON.parse(readFileSync(TAURI_CONF, 'utf8'));
  const csp: Record<string, string> = conf.app.security.csp;
  return Object.entries(csp)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
}

export interface Served {
  url: string;
  close: () => Promise<void>;
}

/** Serves ui/dist on 127.0.0.1 (a free port), every response with the app's CSP. */
export async function serveDist(): Promise<Served> {
  const csp = appCsp();
  const server = http.createServer(async (req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (urlPath === '/favicon.ico') {
      res.writeHead(204).end(); // a browser asks; the desktop webview does not
      return;
    }
    const rel = urlPath === '/' ? 'index.html' : urlPath.replace(/^\/+/, '');
    const file = path.resolve(DIST_DIR, rel);
    if (!file.startsWith(DIST_DIR + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-security-policy': csp,
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.PAAF_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface AppPage {
  page: Page;
  /** Uncaught exceptions, console errors (CSP violations among them) and failed requests. */
  problems: string[];
  calls: (cmd?: string) => Promise<RecordedCall[]>;
  notifications: () => Promise<MockState['notifications']>;
  close: () => Promise<void>;
}

/** Opens the built app at `hash` with the scenario's mocked core. */
export async function openApp(
  browser: Browser,
  baseUrl: string,
  options: { scenario?: Partial<Scenario>; hash?: string; width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<AppPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    deviceScaleFactor: 1,
    colorScheme: options.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.addInitScript((s) => {
    (window as unknown as { __PAAF_SCENARIO__: unknown }).__PAAF_SCENARIO__ = s;
  }, options.scenario ?? {});
  await page.addInitScript({ path: MOCK_BUNDLE });
  await page.goto(`${baseUrl}/${options.hash ?? ''}`);
  return {
    page,
    problems,
    calls: async (cmd) => {
      const all = await page.evaluate(() => window.__paafMock.calls);
      return cmd ? all.filter((c) => c.cmd === cmd) : all;
    },
    notifications: () => page.evaluate(() => window.__paafMock.notifications),
    close: () => context.close(),
  };
}

/** Saves a full-window screenshot as tests/artifacts/ui/NAME.png (for people to look at). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}
