// Test data shared by the unit tests: a journal action with the fields a test cares about.
import type { ActionRecord } from '../bindings/ActionRecord';

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
