// @vitest-environment jsdom
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HostStatus } from '../lib/bindings/HostStatus';
import { hostMetrics } from '../lib/testing/records';
import Servers from './Servers.svelte';

const host = (name: string, address: string, reachable: boolean): HostStatus => ({
  name,
  address,
  port: 22,
  user: 'deploy',
  reachable,
  error: reachable ? null : { code: 'auth-failed', message: `authentication as deploy on ${name} failed` },
  uptime_secs: reachable ? 7200 : null,
  boot_id: reachable ? '3f1c2a9e-5b7d' : null,
  os: reachable ? 'Debian 12' : null,
  metrics: null,
  last_action: null,
});

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

describe('Servers', () => {
  it('lists hosts from host_status, filters them, and refreshes every 30 s', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'list_hosts') return [{ name: 'web-1' }, { name: 'db-1' }];
      if (cmd === 'selectable') return { tags: [], groups: [] };
      if (cmd === 'host_status') {
        calls.push(args);
        return [host('web-1', '10.0.0.5', true), host('db-1', 'db.internal', false)];
      }
    });
    render(Servers);
    await vi.waitFor(() => expect(screen.getAllByTestId('host-row')).toHaveLength(2));
    const [web, db] = screen.getAllByTestId('host-row');
    expect(web.dataset.host).toBe('web-1');
    expect(web.querySelector('[data-testid=host-status]')?.textContent).toBe('up');
    expect(web.textContent).toContain('2 h 0 min');
    expect(db.querySelector('[data-testid=host-status]')?.textContent).toBe('down');
    expect(db.textContent).toContain('auth-failed');
    expect(calls).toEqual([{ names: [] }]);

    await fireEvent.input(screen.getByTestId('host-search'), { target: { value: '10.0' } });
    expect(screen.getAllByTestId('host-row').map((r) => r.dataset.host)).toEqual(['web-1']);

    vi.advanceTimersByTime(30_000);
    await vi.waitFor(() => expect(calls).toHaveLength(2));
  });

  it('shows each metric with the level the core gave it', async () => {
    const sick = host('web-2', '10.0.0.6', true);
    sick.metrics = hostMetrics({ cpu_percent: { value: 12.4, level: 'ok' }, memory_percent: { value: 86, level: 'warning' } });
    mockIPC((cmd) => {
      if (cmd === 'list_hosts') return [{ name: 'web-2' }];
      if (cmd === 'host_status') return [sick];
      if (cmd === 'selectable') return { tags: [], groups: [] };
    });
    render(Servers);
    const row = await screen.findByTestId('host-row');
    const cell = (name: string) => row.querySelector<HTMLElement>(`[data-testid=metric-${name}]`)!;
    expect([cell('cpu').textContent, cell('cpu').dataset.level]).toEqual(['12%', 'ok']);
    expect([cell('load').textContent, cell('load').dataset.level]).toEqual(['0.42', 'ok']);
    expect([cell('mem').textContent, cell('mem').dataset.level]).toEqual(['86%', 'warning']);
    expect([cell('disk').textContent, cell('disk').dataset.level]).toEqual(['97%', 'danger']);
  });
});
