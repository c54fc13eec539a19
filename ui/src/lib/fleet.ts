// Pure helpers for the Servers view's fleet parts: metric cells and the tag/group selection.
// Levels come from the core (thresholds.rs); nothing here compares a value with a limit.
import type { HostSelector } from './bindings/HostSelector';
import type { Level } from './bindings/Level';
import type { Reading } from './bindings/Reading';

/** How a metric's value is written: a percentage, or a load average. */
export type MetricKind = 'percent' | 'load';

/** A reading as its cell shows it: `12%`, `0.42`, `—` when unknown. */
export function formatReading(r: Reading | null | undefined, kind: MetricKind): string {
  if (!r || r.value === null) return '—';
  return kind === 'percent' ? `${Math.round(r.value)}%` : r.value.toFixed(2);
}

/** The level a cell is coloured by; `unknown` when nothing was read. */
export function readingLevel(r: Reading | null | undefined): Level {
  return r?.level ?? 'unknown';
}

/** `role=web`, as the CLI's `--tag` takes it. */
export function tagLabel([key, value]: readonly [string, string]): string {
  return `${key}=${value}`;
}

/** The selector of the chosen tags and groups (every host when none is chosen). */
export function selectorOf(tags: readonly [string, string][], groups: readonly string[]): HostSelector {
  return { names: [], tags: tags.map(([k, v]) => [k, v]), groups: [...groups] };
}

/** `items` with `item` added, or taken out when it was there (compared by `key`). */
export function toggled<T>(items: readonly T[], item: T, key: (t: T) => string): T[] {
  const k = key(item);
  return items.some((i) => key(i) === k) ? items.filter((i) => key(i) !== k) : [...items, item];
}
