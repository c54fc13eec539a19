// Reboot progress: folds the core's ProgressEvents into the rows the UI shows.
import type { ProgressEvent } from './bindings/ProgressEvent';
import { formatElapsed, shortId } from './format';

export type StepName = ProgressEvent['step'];

export interface ProgressRow {
  step: StepName;
  label: string;
  detail: string;
  /** Time since the action started when this row was last updated. */
  elapsedMs: number;
  /** How many events this row stands for (retries of the same wait are folded into one row). */
  count: number;
}

export interface RebootProgress {
  /** The journal action id, from the first event; what `cancel_action` needs. */
  actionId: number | null;
  rows: ProgressRow[];
  lastElapsedMs: number;
}

export function initialProgress(): RebootProgress {
  return { actionId: null, rows: [], lastElapsedMs: 0 };
}

/** Steps whose repeated events update one row instead of adding rows. */
const FOLDED: ReadonlySet<StepName> = new Set<StepName>(['waiting-for-host', 'waiting-for-test-command']);

/** Adds one event (pure: returns a new state). */
export function applyProgressEvent(state: RebootProgress, event: ProgressEvent): RebootProgress {
  const { label, detail } = describeStep(event);
  const row: ProgressRow = { step: event.step, label, detail, elapsedMs: event.elapsed_ms, count: 1 };
  const last = state.rows[state.rows.length - 1];
  const rows =
    last && last.step === event.step && FOLDED.has(event.step)
      ? [...state.rows.slice(0, -1), { ...row, count: last.count + 1 }]
      : [...state.rows, row];
  return {
    actionId: state.actionId ?? event.action_id,
    rows,
    lastElapsedMs: Math.max(state.lastElapsedMs, event.elapsed_ms),
  };
}

/** What a step means, in a label and a detail line. */
export function describeStep(e: ProgressEvent): { label: string; detail: string } {
  switch (e.step) {
    case 'connecting':
      return { label: 'Connecting', detail: `to ${e.host}` };
    case 'boot-id-read':
      return { label: 'Boot id read', detail: `before: ${shortId(e.boot_id)}` };
    case 'privilege-checked':
      return { label: 'Privilege checked', detail: 'sudo -n works' };
    case 'command-sent':
      return { label: 'Command sent', detail: e.command };
    case 'connection-dropped':
      return { label: 'Connection dropped', detail: 'the host is shutting down' };
    case 'waiting-for-host':
      return {
        label: 'Waiting for host',
        detail: `attempt ${e.attempt}: ${e.reason}; next try in ${formatElapsed(e.retry_in_ms)}`,
      };
    case 'back-up':
      return { label: 'Back up', detail: 'the host answers SSH again' };
    case 'boot-id-changed':
      return { label: 'Boot id changed', detail: `${shortId(e.old)} → ${shortId(e.new)}` };
    case 'waiting-for-test-command':
      return { label: 'Waiting for test command', detail: `attempt ${e.attempt}: ${e.reason}` };
    case 'test-command-ok':
      return { label: 'Test command ok', detail: e.command };
    case 'done':
      return { label: 'Done', detail: 'reboot verified' };
    default: {
      const unknown: never = e;
      return { label: String((unknown as { step: string }).step), detail: '' };
    }
  }
}
