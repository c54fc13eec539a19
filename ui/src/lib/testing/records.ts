// Test data shared by the unit tests: a journal action with the fields a test cares about.
import type { ActionRecord } from '../bindings/ActionRecord';
import type { HostMetrics } from '../bindings/HostMetrics';

/** A succeeded reboot of web-1 by alice from the desktop, with `over` on top. */
export const actionRecord = (over: Partial<ActionRecord> = {}): ActionRecord => ({
  id: 1,
  kind: 'reboot',
  target: 'web-1',
  detail: '',
  data: null,
  operator: 'alice',
  frontend: 'desktop',
  device: 'laptop',
  state: 'succeeded',
  result: null,
  error_code: null,
  created_at: '2026-11-20T10:00:00Z',
  finished_at: null,
  duration_ms: 30_000,
  incident_id: null,
  step: null,
  ...over,
});

/** Metrics read over SSH: CPU and load fine, memory at `memory`, the root disk at `disk`
 * (97 %, danger, unless given). */
export const hostMetrics = (over: Partial<HostMetrics> = {}): HostMetrics => ({
  source: { kind: 'ssh' },
  cpu_percent: { value: 12, level: 'ok' },
  load1: { value: 0.42, level: 'ok' },
  memory_percent: { value: 31, level: 'ok' },
  disk_percent: { value: 97, level: 'danger' },
  disk_mount: '/',
  uptime_secs: 259200,
  problems: [],
  ...over,
});
