// Test-only: installed in the page before the app loads (Playwright addInitScript), it answers
// the app's Tauri commands from the scenario in window.__PAAF_SCENARIO__ through
// @tauri-apps/api/mocks, streams reboot progress over the real Channel callback path, records
// every call in window.__paafMock and stubs notifications. Never part of the production bundle.
import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import type { ErrorInfo } from '../../src/lib/bindings/ErrorInfo';
import type { Evidence } from '../../src/lib/bindings/Evidence';
import type { FlagChange } from '../../src/lib/bindings/FlagChange';
import type { FlagState } from '../../src/lib/bindings/FlagState';
import type { FlagTarget } from '../../src/lib/bindings/FlagTarget';
import type { HostAdded } from '../../src/lib/bindings/HostAdded';
import type { HostCheck } from '../../src/lib/bindings/HostCheck';
import type { HostInput } from '../../src/lib/bindings/HostInput';
import type { ProgressEvent } from '../../src/lib/bindings/ProgressEvent';
import type { FanOutProgress } from '../../src/lib/bindings/FanOutProgress';
import type { FanOutReport } from '../../src/lib/bindings/FanOutReport';
import type { HostSelector } from '../../src/lib/bindings/HostSelector';
import type { OutputGroup } from '../../src/lib/bindings/OutputGroup';
import type { PowerAction } from '../../src/lib/bindings/PowerAction';
import type { PowerOutcome } from '../../src/lib/bindings/PowerOutcome';
import type { ServerProgress } from '../../src/lib/bindings/ServerProgress';
import type { Incident } from '../../src/lib/bindings/Incident';
import type { IncidentDetail } from '../../src/lib/bindings/IncidentDetail';
import type { IncidentEvent } from '../../src/lib/bindings/IncidentEvent';
import type { IncidentInput } from '../../src/lib/bindings/IncidentInput';
import type { IncidentPhase } from '../../src/lib/bindings/IncidentPhase';
import type { Postmortem } from '../../src/lib/bindings/Postmortem';
import type { RunPlan } from '../../src/lib/bindings/RunPlan';
import type { RunReport } from '../../src/lib/bindings/RunReport';
import type { StepEvent } from '../../src/lib/bindings/StepEvent';
import type { StepOutcome } from '../../src/lib/bindings/StepOutcome';
import { defaultScenario, type MockState, type Scenario } from './scenario';

interface TauriInternals {
  runCallback: (id: number, data: unknown) => void;
}

const scenario: Scenario = { ...defaultScenario(), ...(window.__PAAF_SCENARIO__ ?? {}) };
const state: MockState = { calls: [], notifications: [] };
window.__paafMock = state;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cancelled: (() => void) | null = null;

/** Sends on a channel the way Tauri's IPC does: `{index, message}`, then `{index, end}`. */
function channelSender<T = ProgressEvent>(channel: Channel<T>) {
  const internals = (window as unknown as { __TAURI_INTERNALS__: TauriInternals }).__TAURI_INTERNALS__;
  let index = 0;
  return {
    send: (message: T) => internals.runCallback(channel.id, { index: index++, message }),
    end: () => internals.runCallback(channel.id, { index, end: true }),
  };
}

async function reboot(args: Record<string, unknown>) {
  const { actionId, intervalMs, events, waitForCancel, outcome } = scenario.reboot;
  const channel = channelSender(args.onEvent as Channel<ProgressEvent>);
  let wasCancelled = false;
  cancelled = () => (wasCancelled = true);
  const cancelledError: ErrorInfo = {
    code: 'cancelled',
    message: `cancelled: reboot of ${String(args.name)} (it may still be under way: check the host)`,
  };
  try {
    for (const e of events) {
      await sleep(intervalMs);
      if (wasCancelled) throw cancelledError;
      channel.send({ action_id: actionId, ...e } as ProgressEvent);
    }
    if (waitForCancel) {
      while (!wasCancelled) await sleep(20);
      throw cancelledError;
    }
    await sleep(intervalMs);
    if ('err' in outcome) throw outcome.err;
    return outcome.ok;
  } finally {
    channel.end();
    cancelled = null;
  }
}

/** A power action as a cloud provider runs it: one read per scenario state, then the target. */
async function serverPower(args: Record<string, unknown>): Promise<PowerOutcome> {
  const { inventory, actionId, intervalMs, states, waitForCancel, err } = scenario.cloud;
  const server = inventory.servers.find((s) => s.account === args.account && s.id === args.server);
  if (!server) throw { code: 'not-found', message: `no server ${String(args.server)}` } satisfies ErrorInfo;
  const action = args.action as PowerAction;
  const channel = channelSender(args.onProgress as Channel<ServerProgress>);
  let wasCancelled = false;
  cancelled = () => (wasCancelled = true);
  const target = action === 'stop' ? 'stopped' : 'running';
  try {
    for (const [i, [status, raw_state]] of states.entries()) {
      await sleep(intervalMs);
      if (wasCancelled) break;
      channel.send({ action_id: actionId, elapsed_ms: i * 5000, server: { ...server, status, raw_state } });
    }
    while (waitForCancel && !wasCancelled) await sleep(20);
    if (wasCancelled) {
      throw { code: 'cancelled', message: `cancelled: waiting for ${server.id} (aws "prod", ${server.region}) to be ${target}` } satisfies ErrorInfo;
    }
    if (err) throw err;
    Object.assign(server, { status: target, raw_state: target });
    // As the core decides: a stop or start is proven by its state read back, a reboot by a
    // state out of running seen on the way; a reboot that read running throughout is not.
    const left = states.find(([s]) => s === 'pending' || s === 'stopping' || s === 'stopped');
    const evidence: Evidence | null =
      action === 'stop' || action === 'start'
        ? { kind: 'state-read-back', raw_state: target }
        : left
          ? { kind: 'left-running', raw_state: left[1] }
          : null;
    return {
      accepted: { action, id: server.id, status: states[0]?.[0] ?? null, raw_state: states[0]?.[1] ?? null },
      server: { ...server },
      seen: [...new Set(states.map(([s]) => s))],
      polls: states.length,
      elapsed_ms: (states.length - 1) * 5000,
      verified: null,
      evidence,
    };
  } finally {
    channel.end();
    cancelled = null;
  }
}

/** The flag's environment entry in the scenario, as a flag service holds it. */
function flagEnv(t: FlagTarget) {
  const backend = scenario.flags.find((b) => b.backend === (t.backend ?? scenario.flags[0]?.backend));
  const flag = backend?.flags.find((f) => f.key === t.key && (!t.project || f.project === t.project));
  const env = flag?.environments.find((e) => e.name === t.environment);
  if (!backend || !flag || !env) throw { code: 'not-found', message: `no flag ${t.key} in ${t.environment}` } satisfies ErrorInfo;
  return { backend, flag, env };
}

const flagChanges = new Map<number, FlagChange>();

/** Writes like a service with a conditional write: refused with `conflict` if it changed. */
function setFlag(t: FlagTarget, enabled: boolean, expected: FlagState): FlagChange {
  const { backend, flag, env } = flagEnv(t);
  if (env.enabled !== expected.enabled) {
    throw { code: 'conflict', message: `${t.key} changed in ${t.environment} since it was read` } satisfies ErrorInfo;
  }
  env.enabled = enabled;
  const change: FlagChange = {
    action_id: scenario.flagActionId++,
    backend: backend.backend,
    project: flag.project,
    key: flag.key,
    environment: env.name,
    was_enabled: expected.enabled,
    enabled,
  };
  flagChanges.set(change.action_id, change);
  return change;
}

// The incident loop, as the core keeps it: one open incident at a time, its timeline, its
// actions; protect and stand down stream each step's start, progress and end.
const isoNow = () => new Date().toISOString();
let eventId = 100;
let journalId = 500;

function addEvent(d: IncidentDetail, kind: IncidentEvent['kind'], text: string, phase: IncidentPhase | null = null) {
  d.events.push({ id: eventId++, incident_id: d.incident.id, at: isoNow(), kind, phase, text, operator: 'alice', frontend: 'desktop', device: 'laptop' });
}

function setPhase(d: IncidentDetail, phase: IncidentPhase, text = '') {
  d.incident.phase = phase;
  if (phase === 'resolved') d.incident.resolved_at = isoNow();
  addEvent(d, 'phase', text, phase);
}

function incidentDetail(id: unknown): IncidentDetail {
  const found =
    typeof id === 'number'
      ? scenario.incidents.find((d) => d.incident.id === id)
      : (scenario.incidents.find((d) => d.incident.resolved_at === null) ?? scenario.incidents[0]);
  if (!found) throw { code: 'not-found', message: 'no incident: there is none yet: open one with `paaf incident open`' } satisfies ErrorInfo;
  return found;
}

function openIncidentOf(id: unknown): IncidentDetail {
  const d = incidentDetail(id);
  if (d.incident.resolved_at !== null) throw { code: 'conflict', message: `incident #${d.incident.id} is resolved` } satisfies ErrorInfo;
  return d;
}

function openIncident(input: IncidentInput): Incident {
  if (!input.alongside && scenario.incidents.some((d) => d.incident.resolved_at === null)) {
    throw { code: 'conflict', message: 'an incident is open already' } satisfies ErrorInfo;
  }
  const alert = input.alert ? scenario.alerts.flatMap((s) => s.alerts).find((a) => a.name === input.alert?.name) : undefined;
  if (input.alert && !alert) throw { code: 'not-found', message: `no alert ${input.alert.name}` } satisfies ErrorInfo;
  const title = input.title.trim() || alert?.summary || alert?.name || '';
  if (!title) throw { code: 'invalid-input', message: 'an incident needs a title, or the alert it is opened from' } satisfies ErrorInfo;
  const incident: Incident = {
    id: 7 + scenario.incidents.length,
    title,
    severity: input.severity ?? (alert?.severity === 'critical' ? 'sev1' : 'sev3'),
    phase: 'opened',
    playbook: alert ? 'checkout' : input.playbook,
    alert: alert ? { source: alert.source, name: alert.name, labels: alert.labels, summary: alert.summary, since_ms: alert.since_ms, link: alert.link } : null,
    opened_at: isoNow(),
    resolved_at: null,
    operator: 'alice',
    frontend: 'desktop',
    device: 'laptop',
  };
  const d: IncidentDetail = { incident, actions: [], events: [], deliveries: [] };
  addEvent(d, 'phase', '', 'opened');
  scenario.incidents.unshift(d);
  return incident;
}

/** Stand down reverses the flag the incident turned off; its reboot cannot be undone. */
function standDownPlan(d: IncidentDetail): RunPlan {
  const steps = d.actions
    .filter((a) => a.state === 'succeeded' && (a.kind === 'flag-off' || a.kind === 'reboot'))
    .reverse()
    .map((a, index) => ({
      index,
      key: `stand-down/${a.id}`,
      kind: a.kind === 'flag-off' ? ('flag-on' as const) : a.kind,
      description: a.kind === 'flag-off' ? `flag ${a.target} back ON` : `${a.kind} ${a.target}`,
      state_now: a.kind === 'flag-off' ? 'OFF in production' : '',
      observed: { type: 'nothing' as const },
      status: a.kind === 'flag-off' ? { status: 'to-run' as const } : { status: 'impossible' as const, reason: 'a reboot cannot be undone' },
      error: null,
      parallel: false,
      continue_on_failure: true,
      typed_confirmation: null,
    }));
  return { incident_id: d.incident.id, run: 'stand-down', playbook: d.incident.playbook, steps, typed_confirmation: null };
}

/** Set while a run goes on: cancel_run calls it. */
let cancelRun: (() => void) | null = null;

async function runPlan(args: Record<string, unknown>): Promise<RunReport> {
  const plan = args.plan as RunPlan;
  const d = openIncidentOf(plan.incident_id);
  const confirmation = args.confirmation as { kind: string; value?: string };
  const ok = plan.typed_confirmation ? confirmation.kind === 'typed' && confirmation.value === plan.typed_confirmation : confirmation.kind !== 'none';
  if (!ok) throw { code: 'confirmation-required', message: `${plan.run} of incident #${d.incident.id} needs confirming` } satisfies ErrorInfo;
  const channel = channelSender(args.onEvent as Channel<StepEvent>);
  setPhase(d, plan.run === 'protect' ? 'protecting' : 'standing-down', plan.run);
  const outcomes: StepOutcome[] = [];
  let stopped = false;
  cancelRun = () => (stopped = true);
  const send = (index: number, update: StepEvent['update']) =>
    channel.send({ incident_id: d.incident.id, run: plan.run, index, elapsed_ms: index * 1000, update });
  try {
    for (const step of plan.steps) {
      const base = { index: step.index, key: step.key, description: step.description, action_id: null, evidence: null, error: null, duration_ms: 0 };
      if (stopped || step.status.status !== 'to-run') {
        const outcome: StepOutcome = { ...base, status: stopped ? 'not-run' : 'skipped', message: stopped ? 'not run' : 'cannot be undone' };
        outcomes.push(outcome);
        send(step.index, { update: 'finished', outcome });
        continue;
      }
      await sleep(scenario.stepIntervalMs);
      send(step.index, { update: 'started', description: step.description });
      await sleep(scenario.stepIntervalMs);
      send(step.index, { update: 'progress', detail: 'sent', progress: null });
      await sleep(scenario.stepIntervalMs);
      const failure = plan.run === 'protect' ? scenario.failingSteps[step.index] : undefined;
      const id = journalId++;
      const target = step.description.split(' ')[1] ?? step.description;
      d.actions.push({
        id, kind: step.kind, target, detail: step.description, data: null, operator: 'alice', frontend: 'desktop', device: 'laptop',
        state: failure ? 'failed' : 'succeeded', result: failure ?? 'done', error_code: failure ? 'unreachable' : null,
        created_at: isoNow(), finished_at: isoNow(), duration_ms: 900, incident_id: d.incident.id, step: step.key,
      });
      const outcome: StepOutcome = failure
        ? { ...base, action_id: id, status: 'failed', message: failure, error: { code: 'unreachable', message: failure }, duration_ms: 900 }
        : { ...base, action_id: id, status: 'succeeded', message: 'done', evidence: 'read back', duration_ms: 900 };
      outcomes.push(outcome);
      send(step.index, { update: 'finished', outcome });
      if (failure && !step.continue_on_failure) stopped = true;
    }
  } finally {
    channel.end();
    cancelRun = null;
  }
  const failed = outcomes.filter((o) => o.status === 'failed').length;
  addEvent(d, plan.run, `${plan.run}: ${outcomes.length - failed} of ${outcomes.length} steps ok`);
  if (plan.run === 'protect' && !stopped && failed === 0) setPhase(d, 'protected', 'protect done');
  return { incident_id: d.incident.id, run: plan.run, steps: outcomes, stopped, elapsed_ms: outcomes.length * 900 };
}

function postmortem(id: unknown): Postmortem {
  const d = incidentDetail(id);
  const flagOff = d.actions.find((a) => a.kind === 'flag-off' && a.state === 'succeeded');
  const flagOn = d.actions.find((a) => a.kind === 'flag-on' && a.state === 'succeeded');
  return {
    incident: d.incident,
    summary: `${d.incident.title}.`,
    impact_start: d.incident.opened_at,
    impact_end: d.incident.resolved_at,
    time_to_protect_ms: null,
    time_to_stand_down_ms: null,
    time_to_resolve_ms: null,
    alert: d.incident.alert,
    timeline: [],
    flags_off: flagOff
      ? [{ backend: 'prod', flag: flagOff.target, environment: 'production', off_at: flagOff.created_at, back_on_at: flagOn?.created_at ?? null, off_ms: 60_000 }]
      : [],
    reboots: [],
    dashboards: [],
    team: null,
    markdown: [
      `# Incident #${d.incident.id}: ${d.incident.title}`,
      '',
      `Severity: ${d.incident.severity}`,
      '',
      '## Timeline',
      ...d.actions.map((a) => `- ${a.kind} ${a.target}: ${a.state}`),
      '',
      '## Root cause',
      '',
      '<script>alert(1)</script>',
    ].join('\n'),
  };
}

/** The hosts with every tag of `selector` (its groups and names are not used here). */
function chosenHosts(selector: HostSelector): string[] {
  const names = scenario.hosts
    .filter((h) => selector.tags.every(([k, v]) => scenario.hostTags[h.name]?.[k] === v))
    .map((h) => h.name);
  if (names.length === 0) throw { code: 'not-found', message: 'no hosts matching the selector' } satisfies ErrorInfo;
  return names;
}

/** A fan-out: every chosen host answers `ok` (one at a time, so the groups fill in live). */
/** The fan-out going on: its runId, and what cancel_fan_out calls. */
let fanOutRun: { runId: string; cancel: () => void } | null = null;

async function fanOut(args: Record<string, unknown>): Promise<FanOutReport> {
  const channel = channelSender(args.onProgress as Channel<FanOutProgress>);
  const names = chosenHosts(args.selector as HostSelector);
  const group = (hosts: string[]): OutputGroup => ({
    label: 'exit 0', ok: true, hosts, outcome: 'ran', exit_code: 0, signal: null, stdout: 'ok\n', stderr: '',
    stdout_truncated: false, stderr_truncated: false, duration_ms: 5,
  });
  const report = (done: number, cancelled: boolean): FanOutReport => {
    const unstarted = names.slice(done);
    const groups: OutputGroup[] = [group(names.slice(0, done))];
    if (unstarted.length > 0) groups.push({ label: 'not started', ok: false, hosts: unstarted, outcome: 'not-started' });
    return {
      action_id: 99, job: { kind: 'command', name: String(args.command) }, selector: 'every host',
      tally: { total: names.length, done, failed: 0, not_started: unstarted.length },
      groups, hosts: [], elapsed_ms: 10, cancelled,
    };
  };
  // As the core does: hosts start in config order, and a cancel starts no more of them.
  let wasCancelled = false;
  fanOutRun = { runId: String(args.runId), cancel: () => (wasCancelled = true) };
  try {
    for (let i = 1; i <= names.length; i++) {
      await sleep(scenario.stepIntervalMs);
      channel.send({ tally: { total: names.length, done: i, failed: 0, not_started: 0 }, groups: [group(names.slice(0, i))] });
      if (scenario.fanOutWaitForCancel) {
        while (!wasCancelled) await sleep(20);
        return report(i, true);
      }
    }
    return report(names.length, false);
  } finally {
    channel.end();
    fanOutRun = null;
  }
}

mockWindows('main');
mockIPC(async (cmd, payload) => {
  const args = (payload ?? {}) as Record<string, unknown>;
  state.calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) });
  const failing = scenario.failing[cmd];
  if (failing) throw failing;
  switch (cmd) {
    case 'first_paint':
      return 123;
    case 'about':
      return scenario.about;
    case 'list_hosts':
      return scenario.hosts.map(({ name, address, port, user }) => ({ name, address, port, user, auth: 'key' }));
    case 'host_status': {
      const names = args.names as string[];
      if (names.length === 0) return scenario.hosts;
      return names.map((n) => {
        const h = scenario.hosts.find((x) => x.name === n);
        if (!h) throw { code: 'not-found', message: `no host named \`${n}\`` } satisfies ErrorInfo;
        return h;
      });
    }
    case 'selectable':
      return scenario.selectable;
    case 'select_hosts':
      return chosenHosts(args.selector as HostSelector);
    case 'fan_out':
      return fanOut(args);
    case 'cancel_fan_out':
      if (fanOutRun && fanOutRun.runId === args.runId) {
        fanOutRun.cancel();
        return true;
      }
      return false;
    case 'add_host': {
      // As the core does: an unknown key comes back to be confirmed, nothing saved; the host
      // is saved once its key is trusted (the same fingerprint) or known.
      const input = args.input as HostInput;
      const check = args.check as HostCheck;
      if (check.kind === 'login' && scenario.probe.status === 'unknown') {
        if (check.trust === null) return { outcome: 'key-to-confirm', key: scenario.probe } satisfies HostAdded;
        if (check.trust !== scenario.probe.fingerprint) {
          throw { code: 'ssh', message: `${input.name} now offers another key` } satisfies ErrorInfo;
        }
      }
      scenario.hosts.push({
        name: input.name,
        address: input.address,
        port: input.port,
        user: input.user,
        reachable: true,
        error: null,
        uptime_secs: 600,
        boot_id: '0b9d6c3e-2f17-4f9b-8e55-a84e0d1327c6',
        os: 'Debian GNU/Linux 12 (bookworm)',
        metrics: null,
        last_action: null,
      });
      const host = { name: input.name, address: input.address, port: input.port, user: input.user, auth: input.auth.type };
      return { outcome: 'added', host } satisfies HostAdded;
    }
    case 'remove_host':
      scenario.hosts = scenario.hosts.filter((h) => h.name !== args.name);
      return null;
    case 'probe_host_key':
      return scenario.probe;
    case 'trust_host_key':
    case 'forget_host_key':
      return cmd === 'forget_host_key' ? 1 : null;
    case 'reboot':
      return reboot(args);
    case 'cancel_action':
      if (cancelled && (args.actionId === scenario.reboot.actionId || args.actionId === scenario.cloud.actionId)) {
        cancelled();
        return true;
      }
      return false;
    case 'exec':
      return scenario.execOutput;
    case 'runbooks':
      return scenario.runbooks[args.name as string] ?? [];
    case 'run_runbook':
      return scenario.runbookOutput;
    case 'journal': {
      const target = args.target as string | null;
      const rows = target ? scenario.journal.filter((r) => r.target === target) : scenario.journal;
      return rows.slice(0, args.limit as number);
    }
    case 'flags':
      return scenario.flags;
    case 'flag_state':
      return {
        enabled: flagEnv(args.target as FlagTarget).env.enabled,
        version: null,
        guard: 'best-effort',
      } satisfies FlagState;
    case 'set_flag':
      return setFlag(args.target as FlagTarget, args.enabled as boolean, args.expected as FlagState);
    case 'undo_flag': {
      const before = flagChanges.get(args.actionId as number);
      if (!before) throw { code: 'not-found', message: `no journal action ${String(args.actionId)}` } satisfies ErrorInfo;
      const target = { backend: before.backend, project: before.project, key: before.key, environment: before.environment };
      return setFlag(target, before.was_enabled, { enabled: before.enabled, version: null, guard: 'best-effort' });
    }
    case 'alerts':
      return scenario.alerts;
    case 'query':
      return scenario.query;
    case 'targets':
      return scenario.targets;
    case 'silence':
      scenario.silences.unshift({
        id: scenario.silenceId,
        state: 'active',
        matchers: (args.matchers as string[]).map((m) => {
          const [name, value] = m.split('=');
          return { name, value: JSON.parse(value), isRegex: false, isEqual: true };
        }),
        starts_at_ms: Date.now(),
        ends_at_ms: Date.now() + (args.durationSecs as number) * 1000,
        updated_at_ms: Date.now(),
        created_by: 'alice',
        comment: args.comment as string,
      });
      return scenario.silenceId;
    case 'silences':
      return scenario.silences;
    case 'expire_silence': {
      const found = scenario.silences.find((x) => x.id === args.id);
      if (!found) throw { code: 'not-found', message: `no silence ${String(args.id)}` } satisfies ErrorInfo;
      found.state = 'expired';
      return null;
    }
    case 'cached_servers':
      return scenario.cloud.cached ?? null;
    case 'servers':
      return scenario.cloud.inventory;
    case 'server_power':
      return serverPower(args);
    case 'dashboards': {
      const q = (args.query ?? {}) as { query?: string | null; tags?: string[]; starred?: boolean };
      return scenario.dashboardHits.filter(
        (h) =>
          (!q.query || h.title.toLowerCase().includes(q.query.toLowerCase())) &&
          (q.tags ?? []).every((t) => h.tags.includes(t)) &&
          (!q.starred || h.starred),
      );
    }
    case 'dashboard': {
      const found = scenario.dashboards[args.uid as string];
      if (!found) throw { code: 'not-found', message: `no dashboard ${String(args.uid)}` } satisfies ErrorInfo;
      return found;
    }
    case 'panel_data': {
      const found = scenario.panelData[args.panelId as number];
      if (!found) throw { code: 'not-found', message: `no panel ${String(args.panelId)}` } satisfies ErrorInfo;
      return found;
    }
    case 'annotate':
      return scenario.annotationId++;
    case 'open_link':
      if (!/^https?:/.test(args.url as string)) throw { code: 'invalid-input', message: 'paaf opens only http and https links' } satisfies ErrorInfo;
      return null;
    case 'overview': {
      const firing = scenario.alerts.flatMap((x) => x.alerts).filter((a) => a.state === 'firing');
      firing.sort((a, b) => Number(b.severity === 'critical') - Number(a.severity === 'critical'));
      return { ...scenario.overview, top_alerts: scenario.overview.top_alerts.length ? scenario.overview.top_alerts : firing };
    }
    case 'playbooks':
      return ['checkout'];
    case 'open_incident':
      return openIncident(args.input as IncidentInput);
    case 'incidents': {
      const all = scenario.incidents.map((d) => d.incident).filter((i) => !args.openOnly || i.resolved_at === null);
      return all.slice(0, args.limit as number);
    }
    case 'incident_detail':
      return incidentDetail(args.id);
    case 'protect_plan': {
      const d = openIncidentOf(args.id);
      const typed = scenario.protectSteps.map((x) => x.typed_confirmation).filter(Boolean);
      return {
        incident_id: d.incident.id,
        run: 'protect',
        playbook: d.incident.playbook ?? 'checkout',
        steps: scenario.protectSteps.map((x) => (d.actions.some((a) => a.step === x.key && a.state === 'succeeded') ? { ...x, status: { status: 'done', action_id: d.actions.find((a) => a.step === x.key)!.id } } : x)),
        typed_confirmation: typed.length ? typed.join(',') : null,
      } satisfies RunPlan;
    }
    case 'stand_down_plan':
      return standDownPlan(openIncidentOf(args.id));
    case 'protect':
    case 'stand_down':
      return runPlan(args);
    case 'cancel_run':
      if (!cancelRun) return false;
      cancelRun();
      return true;
    case 'note_incident': {
      const d = openIncidentOf(args.id);
      addEvent(d, 'note', args.text as string);
      return d.events.at(-1);
    }
    case 'set_incident_phase': {
      const d = openIncidentOf(args.id);
      setPhase(d, args.phase as IncidentPhase, (args.text as string) ?? '');
      return d.incident;
    }
    case 'postmortem':
      return postmortem(args.id);
    case 'save_postmortem':
      return `/home/alice/incident-${incidentDetail(args.id).incident.id}-postmortem.md`;
    case 'plugin:notification|is_permission_granted':
      return true;
    default:
      throw { code: 'other', message: `the test mock does not know the command ${cmd}` } satisfies ErrorInfo;
  }
}, { shouldMockEvents: true });
// What the tray does (src-tauri/src/tray.rs): an event the page listens to.
window.__paafEmit = emit;

// Notifications: record instead of showing; the window's focus is what the scenario says.
class RecordingNotification {
  static permission = 'granted';
  static requestPermission = async () => 'granted';
  constructor(title: string, options?: { body?: string }) {
    state.notifications.push({ title, body: options?.body });
  }
}
Object.defineProperty(window, 'Notification', { value: RecordingNotification, configurable: true, writable: true });
document.hasFocus = () => scenario.hasFocus;

// As Tauri does with `freezePrototype: true` (tauri.conf.json): the app must run with it.
Object.freeze(Object.prototype);
