// @vitest-environment jsdom
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import * as api from './api';
import type { ProgressEvent } from './bindings/ProgressEvent';

afterEach(() => clearMocks());

describe('toErrorInfo', () => {
  it('keeps a core error, wraps anything else as `other`', () => {
    expect(api.toErrorInfo({ code: 'timeout', message: 'late' })).toEqual({ code: 'timeout', message: 'late' });
    expect(api.toErrorInfo('boom')).toEqual({ code: 'other', message: 'boom' });
    expect(api.toErrorInfo(new Error('bad'))).toEqual({ code: 'other', message: 'bad' });
    expect(api.toErrorInfo({ nope: 1 })).toEqual({ code: 'other', message: '[object Object]' });
  });
});

describe('commands', () => {
  it('send camelCase arguments and reject with the core error', async () => {
    const seen: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === 'exec') throw { code: 'host-key-changed', message: 'REFUSED: …' };
      return cmd === 'cancel_action' ? true : [];
    });
    await api.journal(null, 200);
    await api.cancelAction(45);
    await expect(api.exec('web-1', 'true', { kind: 'yes' })).rejects.toEqual({
      code: 'host-key-changed',
      message: 'REFUSED: …',
    });
    expect(seen).toEqual([
      ['journal', { target: null, limit: 200 }],
      ['cancel_action', { actionId: 45 }],
      ['exec', { name: 'web-1', command: 'true', confirmation: { kind: 'yes' } }],
    ]);
  });

  it('reboot passes a Channel as onEvent and hands every event to the callback in order', async () => {
    mockIPC((cmd, args) => {
      if (cmd !== 'reboot') return null;
      const a = args as { onEvent: { id: number }; name: string; confirmation: unknown };
      expect(a.name).toBe('web-1');
      expect(a.confirmation).toEqual({ kind: 'yes' });
      const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
        .__TAURI_INTERNALS__;
      const run = internals.runCallback;
      // delivered out of order on purpose: the Channel puts them back in order
      run(a.onEvent.id, { index: 1, message: { action_id: 9, elapsed_ms: 20, step: 'done' } });
      run(a.onEvent.id, { index: 0, message: { action_id: 9, elapsed_ms: 10, step: 'connecting', host: 'web-1' } });
      run(a.onEvent.id, { index: 2, end: true });
      return { host: 'web-1', elapsed_ms: 20 };
    });
    const events: ProgressEvent[] = [];
    const report = await api.reboot('web-1', { kind: 'yes' }, (e) => events.push(e));
    expect(report).toMatchObject({ host: 'web-1' });
    expect(events.map((e) => e.step)).toEqual(['connecting', 'done']);
  });
});
