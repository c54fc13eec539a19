// Analyze/Alert: alert rows, silence durations and matchers, time ranges; pure so they can be tested.
import type { AlertView } from './bindings/AlertView';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { Matcher } from './bindings/Matcher';
import type { SourceAlerts } from './bindings/SourceAlerts';

/** One row of the alerts list: an alert, or a source whose alerts could not be read. */
export type AlertRow =
  | { kind: 'alert'; alert: AlertView; sourceKind: string }
  | { kind: 'error'; source: string; sourceKind: string; error: ErrorInfo };

/** Every source's alerts in one list; a failing source is a row with its error. */
export function alertRows(sources: SourceAlerts[]): AlertRow[] {
  const rows: AlertRow[] = [];
  for (const s of sources) {
    if (s.error) rows.push({ kind: 'error', source: s.source, sourceKind: s.kind, error: s.error });
    for (const alert of s.alerts) rows.push({ kind: 'alert', alert, sourceKind: s.kind });
  }
  return rows;
}

export const SILENCE_DURATIONS = [
  { label: '30m', secs: 30 * 60 },
  { label: '1h', secs: 3600 },
  { label: '2h', secs: 2 * 3600 },
  { label: '1d', secs: 86400 },
] as const;

/** A label value as a matcher writes it: in double quotes, JSON-escaped. */
const quoted = (v: string) => JSON.stringify(v);

/** Matchers that select exactly this alert: every one of its labels, `name="value"`. */
export function alertMatchers(alert: AlertView): string[] {
  const labels = { alertname: alert.name, ...alert.labels };
  const names = Object.keys(labels).sort((a, b) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)));
  return names.map((n) => `${n}=${quoted(labels[n as keyof typeof labels] as string)}`);
}

/** Where to silence an alert: its own source when that holds silences (Alertmanager, Grafana);
 * else null, and the core picks the configured Alertmanager (a Prometheus holds none). */
export function silenceSource(sourceKind: string, source: string): string | null {
  return sourceKind === 'alertmanager' || sourceKind === 'grafana' ? source : null;
}

/** The sources that hold silences, by name. */
export function silenceSources(sources: SourceAlerts[]): string[] {
  return sources.filter((s) => s.kind === 'alertmanager' || s.kind === 'grafana').map((s) => s.source);
}

/** A matcher as people write it: `alertname="X"`, `job=~"api.*"`. */
export function matcherText(m: Matcher): string {
  const op = m.isEqual ? (m.isRegex ? '=~' : '=') : m.isRegex ? '!~' : '!=';
  return `${m.name}${op}${quoted(m.value)}`;
}

export const RANGES = ['now-15m', 'now-1h', 'now-6h', 'now-24h', 'now-7d'] as const;
export const DEFAULT_RANGE = 'now-1h';

/** "now-1h" → "last 1h" */
export const rangeLabel = (from: string) => from.replace(/^now-/, 'last ');

/** Time since epoch ms, for "since": "12 min", "3 h 05 min", "2 d 4 h". */
export function since(ms: number | null, now: number = Date.now()): string {
  if (ms == null) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
