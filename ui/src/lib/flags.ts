// Protect: the flags list and the words of a flag change, pure so they can be tested.
import type { BackendFlags } from './bindings/BackendFlags';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { Flag } from './bindings/Flag';
import type { FlagChange } from './bindings/FlagChange';
import type { FlagState } from './bindings/FlagState';
import type { WriteGuard } from './bindings/WriteGuard';
import type { FlagTarget } from './bindings/FlagTarget';
import type { ConfirmRequest } from './confirm.svelte';

/** One row of the Protect list: a flag, or a service whose flags could not be read. */
export type FlagRow = { kind: 'flag'; flag: Flag } | { kind: 'error'; backend: string; error: ErrorInfo };

/** Every service's flags in one list (services in config order), filtered by `search`
 * (case-insensitive, on key, name, service, project, tags); a failing service stays as a row. */
export function flagRows(backends: BackendFlags[], search: string): FlagRow[] {
  const q = search.trim().toLowerCase();
  const rows: FlagRow[] = [];
  for (const b of backends) {
    if (b.error) {
      rows.push({ kind: 'error', backend: b.backend, error: b.error });
      continue;
    }
    for (const flag of b.flags) {
      const haystack = [flag.key, flag.name ?? '', flag.backend, flag.project, ...flag.tags].join(' ').toLowerCase();
      if (!q || haystack.includes(q)) rows.push({ kind: 'flag', flag });
    }
  }
  return rows;
}

/** How many flags the services returned (before the search). */
export const flagCount = (backends: BackendFlags[]) => backends.reduce((n, b) => n + b.flags.length, 0);

export const onOff = (enabled: boolean) => (enabled ? 'ON' : 'OFF');

/** The target of a flag in one environment, as the core names it. */
export function targetOf(flag: Flag, environment: string): FlagTarget {
  return { backend: flag.backend, project: flag.project, key: flag.key, environment };
}

/** What keeps the change from overwriting someone else's (the core's WriteGuard, in words). */
const guarded = (guard: WriteGuard) =>
  guard === 'conditional'
    ? 'only if nobody changes it before.'
    : 'best effort: this service cannot refuse a write over a change made meanwhile, so paaf reads it again just before writing.';

/** The confirmation of a flag change: the state read just now and the environment in bold. */
export function flagConfirmRequest(target: FlagTarget, now: FlagState, enabled: boolean): ConfirmRequest {
  const verb = enabled ? 'on' : 'off';
  return {
    title: `Turn ${target.key} ${verb}?`,
    body: [
      `${target.key} is ${onOff(now.enabled)} in `,
      { strong: target.environment },
      ` right now (service ${target.backend ?? 'default'}). It will be turned ${onOff(enabled)} there, ` +
        guarded(now.guard),
    ],
    confirmLabel: `Turn ${verb} in ${target.environment}`,
    danger: !enabled,
  };
}

/** The confirmation of an undo: back to the state before the change. */
export function undoConfirmRequest(change: FlagChange): ConfirmRequest {
  return {
    title: `Undo: turn ${change.key} ${change.was_enabled ? 'on' : 'off'} again?`,
    body: [
      `${change.key} goes back to ${onOff(change.was_enabled)} in `,
      { strong: change.environment },
      ` (service ${change.backend}), as before action ${change.action_id}.`,
    ],
    confirmLabel: 'Undo',
    danger: !change.was_enabled,
  };
}

/** "was ON → OFF" */
export const changeSummary = (change: FlagChange) => `was ${onOff(change.was_enabled)} → ${onOff(change.enabled)}`;
