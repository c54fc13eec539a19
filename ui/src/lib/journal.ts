// Pure helpers over journal records.
import type { ActionRecord } from './bindings/ActionRecord';

export interface RebootDurations {
  /** When each reboot started, in Unix seconds (uPlot's x axis), ascending. */
  x: number[];
  /** How long it took to verify, in seconds. */
  y: number[];
}

/** The host's verified reboots (kind `reboot`, state `succeeded`) as time → seconds. */
export function rebootDurations(records: readonly ActionRecord[], host: string): RebootDurations {
  const points = records
    .filter((r) => r.kind === 'reboot' && r.state === 'succeeded' && r.target === host && r.duration_ms != null)
    .map((r) => ({ x: Date.parse(r.created_at) / 1000, y: (r.duration_ms as number) / 1000 }))
    .filter((p) => Number.isFinite(p.x))
    .sort((a, b) => a.x - b.x);
  return { x: points.map((p) => p.x), y: points.map((p) => p.y) };
}

/** Where the action ran from: "desktop@laptop". */
export function origin(r: Pick<ActionRecord, 'frontend' | 'device'>): string {
  return `${r.frontend}@${r.device}`;
}
