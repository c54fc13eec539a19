import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from './bindings/ProgressEvent';
import { applyProgressEvent, describeStep, initialProgress } from './progress';

const ev = (e: Record<string, unknown>): ProgressEvent => ({ action_id: 7, elapsed_ms: 0, ...e }) as ProgressEvent;

describe('applyProgressEvent', () => {
  it('adds a row per step, in arrival order, and takes the action id from the first event', () => {
    let p = initialProgress();
    p = applyProgressEvent(p, ev({ step: 'connecting', host: 'web-1', elapsed_ms: 3 }));
    p = applyProgressEvent(p, ev({ step: 'boot-id-read', boot_id: '3f1c2a9e-5b7d', elapsed_ms: 150 }));
    p = applyProgressEvent(p, ev({ step: 'command-sent', command: 'shutdown -r now', elapsed_ms: 300 }));
    expect(p.actionId).toBe(7);
    expect(p.rows.map((r) => r.step)).toEqual(['connecting', 'boot-id-read', 'command-sent']);
    expect(p.rows.map((r) => r.elapsedMs)).toEqual([3, 150, 300]);
    expect(p.lastElapsedMs).toBe(300);
  });

  it('folds retries of the same wait into one row showing the latest attempt', () => {
    let p = initialProgress();
    p = applyProgressEvent(p, ev({ step: 'connection-dropped', elapsed_ms: 1000 }));
    for (const attempt of [1, 2, 3]) {
      p = applyProgressEvent(
        p,
        ev({ step: 'waiting-for-host', attempt, retry_in_ms: 2000 * attempt, reason: 'refused', elapsed_ms: 1000 * attempt }),
      );
    }
    p = applyProgressEvent(p, ev({ step: 'back-up', elapsed_ms: 9000 }));
    expect(p.rows.map((r) => r.step)).toEqual(['connection-dropped', 'waiting-for-host', 'back-up']);
    expect(p.rows[1]).toMatchObject({ count: 3, elapsedMs: 3000, detail: 'attempt 3: refused; next try in 6.0 s' });
  });

  it('does not change the state it was given', () => {
    const p = initialProgress();
    applyProgressEvent(p, ev({ step: 'done' }));
    expect(p).toEqual(initialProgress());
  });
});

describe('describeStep', () => {
  it('names every step the core sends', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ step: 'connecting', host: 'web-1' }, 'Connecting', 'to web-1'],
      [{ step: 'boot-id-read', boot_id: '3f1c2a9e-5b7d' }, 'Boot id read', 'before: 3f1c2a9e'],
      [{ step: 'privilege-checked' }, 'Privilege checked', 'sudo -n works'],
      [{ step: 'command-sent', command: 'shutdown -r now' }, 'Command sent', 'shutdown -r now'],
      [{ step: 'connection-dropped' }, 'Connection dropped', 'the host is shutting down'],
      [{ step: 'back-up' }, 'Back up', 'the host answers SSH again'],
      [{ step: 'boot-id-changed', old: '3f1c2a9e-5b7d', new: 'a84e0d13-27c6' }, 'Boot id changed', '3f1c2a9e → a84e0d13'],
      [{ step: 'waiting-for-test-command', attempt: 2, reason: 'exit 1' }, 'Waiting for test command', 'attempt 2: exit 1'],
      [{ step: 'test-command-ok', command: 'whoami' }, 'Test command ok', 'whoami'],
      [{ step: 'done' }, 'Done', 'reboot verified'],
    ];
    for (const [e, label, detail] of cases) expect(describeStep(ev(e))).toEqual({ label, detail });
  });
});
