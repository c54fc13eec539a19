// Pure helpers over incidents: the phases in order, the timeline of events and actions, a
// plan step's status in words, and a run's steps as its events arrive. The core decides what
// runs and how it ended; these only arrange its answers for the Incident screen.
import type { ActionRecord } from './bindings/ActionRecord';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentPhase } from './bindings/IncidentPhase';
import type { PlanStatus } from './bindings/PlanStatus';
import type { PlannedStep } from './bindings/PlannedStep';
import type { RunPlan } from './bindings/RunPlan';
import type { StepEvent } from './bindings/StepEvent';
import type { StepOutcome } from './bindings/StepOutcome';

/** The phases in the order PAAF goes through them. */
export const PHASES: IncidentPhase[] = ['opened', 'protecting', 'protected', 'analyzing', 'fixing', 'standing-down', 'resolved'];

/** The phases a person moves an incident to by hand (Protect and Stand down move it themselves). */
export const MANUAL_PHASES: IncidentPhase[] = ['analyzing', 'fixing'];

/** One line of the Incident screen's timeline. */
export interface TimelineLine {
  at: string;
  /** `phase`, `note`, `protect`, `stand-down` (the incident's own events) or `action`. */
  kind: string;
  /** For a phase marker: the new phase. */
  phase: IncidentPhase | null;
  text: string;
  who: string;
  action: ActionRecord | null;
}

function actionText(a: ActionRecord): string {
  return `${a.kind} ${a.target}: ${a.state}${a.result ? ` — ${a.result}` : ''}`;
}

/** The incident's events and actions, oldest first (an event before an action at the same time). */
export function timeline(detail: IncidentDetail): TimelineLine[] {
  const lines: (TimelineLine & { order: number })[] = [
    ...detail.events.map((e) => ({
      at: e.at,
      kind: e.kind,
      phase: e.phase,
      text: e.text,
      who: `${e.operator} via ${e.frontend}`,
      action: null,
      order: 0,
    })),
    ...detail.actions.map((a) => ({
      at: a.created_at,
      kind: 'action',
      phase: null,
      text: actionText(a),
      who: `${a.operator} via ${a.frontend}`,
      action: a,
      order: 1,
    })),
  ];
  lines.sort((x, y) => Date.parse(x.at) - Date.parse(y.at) || x.order - y.order);
  return lines.map(({ order: _, ...line }) => line);
}

/** Whether a planned step will run, in words for the confirmation. */
export function planStatusText(status: PlanStatus): string {
  switch (status.status) {
    case 'to-run':
      return 'will run';
    case 'done':
      return `done already (action ${status.action_id}): not run again`;
    case 'already-as-wanted':
      return 'already as wanted: not run';
    case 'outcome-unknown':
      return `an earlier run's outcome is unknown (action ${status.action_id}): check it, not run again`;
    case 'impossible':
      return `cannot be done: ${status.reason}`;
  }
}

/** The steps of `plan` that will run. */
export function stepsToRun(plan: RunPlan): PlannedStep[] {
  return plan.steps.filter((s) => s.status.status === 'to-run');
}

/** A step while its run goes on. */
export interface LiveStep {
  index: number;
  description: string;
  /** `waiting` until its first event, `running`, then `finished` (see `outcome`). */
  state: 'waiting' | 'running' | 'finished';
  /** The newest progress line. */
  detail: string;
  elapsedMs: number;
  outcome: StepOutcome | null;
}

/** The plan's steps before anything ran. */
export function liveSteps(plan: RunPlan): LiveStep[] {
  return plan.steps.map((s) => ({ index: s.index, description: s.description, state: 'waiting', detail: '', elapsedMs: 0, outcome: null }));
}

/** `steps` with event `e` applied (a new array; the step it names replaced). */
export function applyStepEvent(steps: readonly LiveStep[], e: StepEvent): LiveStep[] {
  return steps.map((s) => {
    if (s.index !== e.index) return s;
    const u = e.update;
    switch (u.update) {
      case 'started':
        return { ...s, state: 'running', description: u.description, elapsedMs: e.elapsed_ms };
      case 'progress':
        return { ...s, state: 'running', detail: u.detail, elapsedMs: e.elapsed_ms };
      case 'finished':
        return { ...s, state: 'finished', detail: u.outcome.message, elapsedMs: e.elapsed_ms, outcome: u.outcome };
    }
  });
}

/** An incident's age for a banner: "12 min", "3 h 05 min". */
export function openFor(openedAt: string, now: number = Date.now()): string {
  const mins = Math.max(0, Math.floor((now - Date.parse(openedAt)) / 60_000));
  if (mins < 60) return `${mins} min`;
  return `${Math.floor(mins / 60)} h ${String(mins % 60).padStart(2, '0')} min`;
}
