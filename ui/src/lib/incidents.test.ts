import { describe, expect, it } from 'vitest';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { RunPlan } from './bindings/RunPlan';
import { actionRecord } from './testing/records';
import { applyStepEvent, liveSteps, openFor, planStatusText, stepsToRun, timeline } from './incidents';

const incident = {
  id: 3,
  title: 'Checkout errors',
  severity: 'sev2',
  phase: 'protected',
  playbook: 'checkout',
  alert: null,
  opened_at: '2026-12-07T10:00:00Z',
  resolved_at: null,
  operator: 'alice',
  frontend: 'desktop',
  device: 'laptop',
} as const;

const action = (id: number, at: string) =>
  actionRecord({ id, kind: 'flag-off', target: 'new-checkout@production', result: 'OFF', created_at: at, finished_at: at, duration_ms: 120, incident_id: 3 });


const event = (id: number, at: string, kind: 'phase' | 'note', text: string, phase: 'opened' | 'protected' | null = null) => ({
  id,
  incident_id: 3,
  at,
  kind,
  phase,
  text,
  operator: 'alice',
  frontend: 'cli',
  device: 'laptop',
});

describe('timeline', () => {
  it('merges events and actions oldest first, a phase marker before an action at the same time', () => {
    const detail: IncidentDetail = {
      incident: { ...incident },
      actions: [action(12, '2026-12-07T10:01:00Z')],
      events: [
        event(2, '2026-12-07T10:02:00Z', 'note', 'flag is off'),
        event(1, '2026-12-07T10:00:00Z', 'phase', '', 'opened'),
        event(3, '2026-12-07T10:01:00Z', 'phase', 'protect', 'protected'),
      ],
      deliveries: [],
    };
    const lines = timeline(detail);
    expect(lines.map((l) => l.kind)).toEqual(['phase', 'phase', 'action', 'note']);
    expect(lines[1].phase).toBe('protected');
    expect(lines[2].text).toBe('flag-off new-checkout@production: succeeded — OFF');
    expect(lines[2].action?.id).toBe(12);
    expect(lines[3].who).toBe('alice via cli');
  });
});

const plan: RunPlan = {
  incident_id: 3,
  run: 'protect',
  playbook: 'checkout',
  typed_confirmation: null,
  steps: [
    {
      index: 0,
      key: 'protect/checkout/0/flag',
      kind: 'flag-off',
      description: 'flag new-checkout OFF in production',
      state_now: 'ON in production',
      observed: { type: 'flag', enabled: true },
      status: { status: 'to-run' },
      error: null,
      parallel: false,
      continue_on_failure: false,
      typed_confirmation: null,
    },
    {
      index: 1,
      key: 'protect/checkout/1/reboot',
      kind: 'reboot',
      description: 'reboot web-1 (verified)',
      state_now: 'up 41d',
      observed: { type: 'nothing' },
      status: { status: 'done', action_id: 7 },
      error: null,
      parallel: false,
      continue_on_failure: false,
      typed_confirmation: null,
    },
  ],
};

describe('plans and runs', () => {
  it('says in words whether each step runs', () => {
    expect(planStatusText({ status: 'to-run' })).toBe('will run');
    expect(planStatusText({ status: 'done', action_id: 7 })).toContain('action 7');
    expect(planStatusText({ status: 'impossible', reason: 'a reboot cannot be undone' })).toBe('cannot be done: a reboot cannot be undone');
    expect(stepsToRun(plan).map((s) => s.index)).toEqual([0]);
  });

  it('follows each step from waiting to running to its outcome', () => {
    let steps = liveSteps(plan);
    expect(steps.map((s) => s.state)).toEqual(['waiting', 'waiting']);
    const at = { incident_id: 3, run: 'protect' as const, index: 0 };
    steps = applyStepEvent(steps, { ...at, elapsed_ms: 0, update: { update: 'started', description: 'flag new-checkout OFF in production' } });
    steps = applyStepEvent(steps, { ...at, elapsed_ms: 40, update: { update: 'progress', detail: 'writing', progress: null } });
    expect(steps[0]).toMatchObject({ state: 'running', detail: 'writing', elapsedMs: 40 });
    const outcome = {
      index: 0,
      key: 'protect/checkout/0/flag',
      description: 'flag new-checkout OFF in production',
      status: 'succeeded' as const,
      action_id: 12,
      message: 'OFF in production',
      evidence: 'read back: OFF in production',
      error: null,
      duration_ms: 90,
    };
    steps = applyStepEvent(steps, { ...at, elapsed_ms: 90, update: { update: 'finished', outcome } });
    expect(steps[0]).toMatchObject({ state: 'finished', outcome });
    expect(steps[1].state).toBe('waiting');
  });

  it('tells how long an incident has been open', () => {
    const now = Date.parse('2026-12-07T11:05:00Z');
    expect(openFor('2026-12-07T10:00:00Z', now)).toBe('1 h 05 min');
    expect(openFor('2026-12-07T11:00:00Z', now)).toBe('5 min');
  });
});
