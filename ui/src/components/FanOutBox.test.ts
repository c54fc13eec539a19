// @vitest-environment jsdom
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FanOutProgress } from '../lib/bindings/FanOutProgress';
import type { FanOutReport } from '../lib/bindings/FanOutReport';
import type { OutputGroup } from '../lib/bindings/OutputGroup';
import { confirmState } from '../lib/confirm.svelte';
import FanOutBox from './FanOutBox.svelte';

afterEach(() => clearMocks());

const ran = (hosts: string[], stdout: string, exit_code = 0): OutputGroup => ({
  label: `exit ${exit_code}`,
  ok: exit_code === 0,
  hosts,
  outcome: 'ran',
  exit_code,
  signal: null,
  stdout,
  stderr: '',
  stdout_truncated: false,
  stderr_truncated: false,
  duration_ms: 5,
});

const unreachable: OutputGroup = {
  label: 'unreachable',
  ok: false,
  hosts: ['web-3'],
  outcome: 'failed',
  error: { code: 'unreachable', message: 'web-3 (10.0.0.7:22) is unreachable: connection refused' },
};

type Internals = { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } };

/** A fan-out under way in the mock: progress to send, and its end with the report. */
type Running = { send: (p: FanOutProgress) => void; end: () => void };

/** Answers `fan_out` as the app does: progress on its channel until `end`, then `report`. */
function answerFanOut(args: unknown, report: FanOutReport, started: (r: Running) => void): Promise<FanOutReport> {
  const channel = (args as { onProgress: { id: number } }).onProgress.id;
  const run = (window as unknown as Internals).__TAURI_INTERNALS__.runCallback;
  let index = 0;
  return new Promise((resolve) =>
    started({
      send: (p) => run(channel, { index: index++, message: p }),
      end: () => {
        run(channel, { index: index++, end: true });
        resolve(report);
      },
    }),
  );
}

const notRunning: Running = { send: () => {}, end: () => {} };

describe('FanOutBox', () => {
  it('chooses hosts by tag, confirms once, and shows the groups as they come in', async () => {
    const calls: [string, unknown][] = [];
    let running = notRunning;
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'selectable') return { tags: [['role', 'web']], groups: ['checkout'] };
      if (cmd === 'select_hosts') return ['web-1', 'web-2', 'web-3'];
      if (cmd === 'fan_out') {
        const report: FanOutReport = {
          action_id: 7,
          job: { kind: 'command', name: 'uptime' },
          selector: '--tag role=web',
          tally: { total: 3, done: 3, failed: 1, not_started: 0 },
          groups: [ran(['web-1', 'web-2'], 'fine\n'), unreachable],
          hosts: [],
          elapsed_ms: 900,
          cancelled: false,
        };
        return answerFanOut(args, report, (r) => (running = r));
      }
    });
    const chosen: (string[] | null)[] = [];
    render(FanOutBox, { onchosen: (names: string[] | null) => chosen.push(names) });

    await fireEvent.click(await screen.findByText('role=web'));
    await vi.waitFor(() => expect(screen.getByTestId('fanout-chosen').textContent).toContain('3 hosts: web-1, web-2, web-3'));
    expect(chosen).toEqual([['web-1', 'web-2', 'web-3']]);

    await fireEvent.input(screen.getByTestId('fanout-input'), { target: { value: 'uptime' } });
    await fireEvent.submit(screen.getByTestId('fanout-input').closest('form')!);
    expect(confirmState.current?.title).toBe('Run a command on 3 hosts?');
    confirmState.answer({ kind: 'yes' });

    await vi.waitFor(() => expect(calls.some(([c]) => c === 'fan_out')).toBe(true));
    const [, args] = calls.find(([c]) => c === 'fan_out')!;
    expect(args).toMatchObject({
      selector: { names: [], tags: [['role', 'web']], groups: [] },
      command: 'uptime',
      confirmation: { kind: 'yes' },
    });

    running.send({ tally: { total: 3, done: 1, failed: 0, not_started: 0 }, groups: [ran(['web-2'], 'fine\n')] });
    await vi.waitFor(() => expect(screen.getByTestId('fanout-tally').textContent).toContain('1 of 3 done, 0 failed'));
    expect(screen.getAllByTestId('fanout-group')).toHaveLength(1);

    running.end();
    await vi.waitFor(() => expect(screen.getAllByTestId('fanout-group')).toHaveLength(2));
    const [ok, bad] = screen.getAllByTestId('fanout-group');
    expect(ok.textContent).toContain('2 hosts: exit 0');
    expect(ok.textContent).toContain('fine');
    expect(bad.dataset.ok).toBe('false');
    expect(bad.textContent).toContain('connection refused');
    expect(screen.getByTestId('fanout-tally').textContent).toContain('3 of 3 done, 1 failed');
  });

  it('Cancel starts no more hosts through cancel_fan_out and shows what ran and what did not start', async () => {
    const calls: [string, unknown][] = [];
    let running = notRunning;
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'selectable') return { tags: [], groups: [] };
      if (cmd === 'cancel_fan_out') {
        running.end();
        return true;
      }
      if (cmd === 'fan_out') {
        const report: FanOutReport = {
          action_id: 8,
          job: { kind: 'command', name: 'sleep 60' },
          selector: 'every host',
          tally: { total: 3, done: 1, failed: 0, not_started: 2 },
          groups: [
            { label: 'not started', ok: false, hosts: ['web-2', 'web-3'], outcome: 'not-started' },
            ran(['web-1'], 'slept\n'),
          ],
          hosts: [],
          elapsed_ms: 900,
          cancelled: true,
        };
        return answerFanOut(args, report, (r) => (running = r));
      }
    });
    render(FanOutBox);
    expect(screen.queryByTestId('fanout-cancel')).toBeNull();
    await fireEvent.input(screen.getByTestId('fanout-input'), { target: { value: 'sleep 60' } });
    await fireEvent.submit(screen.getByTestId('fanout-input').closest('form')!);
    confirmState.answer({ kind: 'yes' });
    await vi.waitFor(() => expect(calls.some(([c]) => c === 'fan_out')).toBe(true));
    running.send({ tally: { total: 3, done: 1, failed: 0, not_started: 0 }, groups: [ran(['web-1'], 'slept\n')] });

    await fireEvent.click(await screen.findByTestId('fanout-cancel'));
    const runId = (calls.find(([c]) => c === 'fan_out')![1] as { runId: string }).runId;
    expect(runId).toMatch(/./);
    expect(calls.filter(([c]) => c === 'cancel_fan_out').map(([, a]) => a)).toEqual([{ runId }]);

    await vi.waitFor(() => expect(screen.getByTestId('fanout-cancelled').textContent).toContain('Cancelled: 1 host ran, 2 not started'));
    expect(screen.queryByTestId('fanout-cancel')).toBeNull();
    const [unstarted, ok] = screen.getAllByTestId('fanout-group');
    expect(unstarted.textContent).toContain('2 hosts: not started');
    expect(unstarted.textContent).toContain('web-2, web-3');
    expect(ok.textContent).toContain('1 host: exit 0');
    expect(screen.getByTestId('fanout-tally').textContent).toContain('1 of 3 done, 0 failed, 2 not started');
  });

  it('a declined confirmation runs nothing', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'selectable') return { tags: [], groups: [] };
    });
    render(FanOutBox);
    await fireEvent.input(screen.getByTestId('fanout-input'), { target: { value: 'reboot' } });
    await fireEvent.submit(screen.getByTestId('fanout-input').closest('form')!);
    expect(confirmState.current?.title).toBe('Run a command on every host?');
    confirmState.answer(null);
    await Promise.resolve();
    expect(calls).toEqual(['selectable']);
  });
});
