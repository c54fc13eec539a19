// The one thin, typed wrapper over Tauri's `invoke`: one function per command in
// src-tauri/src/commands.rs. Every rejection reaches callers as an `ErrorInfo` ({code, message}).
import { Channel, invoke, type InvokeArgs } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { About } from './bindings/About';
import type { AnnotationInput } from './bindings/AnnotationInput';
import type { BackendFlags } from './bindings/BackendFlags';
import type { Dashboard } from './bindings/Dashboard';
import type { DashboardHit } from './bindings/DashboardHit';
import type { DashboardView } from './bindings/DashboardView';
import type { FlagChange } from './bindings/FlagChange';
import type { FlagFilter } from './bindings/FlagFilter';
import type { FlagState } from './bindings/FlagState';
import type { FlagTarget } from './bindings/FlagTarget';
import type { PanelData } from './bindings/PanelData';
import type { QueryResult } from './bindings/QueryResult';
import type { SearchQuery } from './bindings/SearchQuery';
import type { Silence } from './bindings/Silence';
import type { SourceAlerts } from './bindings/SourceAlerts';
import type { Target } from './bindings/Target';
import type { TimeWindow } from './bindings/TimeWindow';
import type { ActionRecord } from './bindings/ActionRecord';
import type { Confirmation } from './bindings/Confirmation';
import type { ErrorInfo } from './bindings/ErrorInfo';
import type { ExecOutput } from './bindings/ExecOutput';
import type { FanOutProgress } from './bindings/FanOutProgress';
import type { FanOutReport } from './bindings/FanOutReport';
import type { HostSelector } from './bindings/HostSelector';
import type { Selectable } from './bindings/Selectable';
import type { HostAdded } from './bindings/HostAdded';
import type { HostCheck } from './bindings/HostCheck';
import type { HostInput } from './bindings/HostInput';
import type { HostStatus } from './bindings/HostStatus';
import type { HostSummary } from './bindings/HostSummary';
import type { OfferedKey } from './bindings/OfferedKey';
import type { ProgressEvent } from './bindings/ProgressEvent';
import type { RebootReport } from './bindings/RebootReport';
import type { Runbook } from './bindings/Runbook';
import type { CachedInventory } from './bindings/CachedInventory';
import type { Inventory } from './bindings/Inventory';
import type { PowerAction } from './bindings/PowerAction';
import type { PowerOutcome } from './bindings/PowerOutcome';
import type { ServerProgress } from './bindings/ServerProgress';
import type { Incident } from './bindings/Incident';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentEvent } from './bindings/IncidentEvent';
import type { IncidentInput } from './bindings/IncidentInput';
import type { IncidentPhase } from './bindings/IncidentPhase';
import type { Overview } from './bindings/Overview';
import type { Postmortem } from './bindings/Postmortem';
import type { RunPlan } from './bindings/RunPlan';
import type { RunReport } from './bindings/RunReport';
import type { StepEvent } from './bindings/StepEvent';
import type { IntentConfirmation } from './bindings/IntentConfirmation';
import type { IntentOutcome } from './bindings/IntentOutcome';

/** Anything a command rejected with, as `{code, message}` (a bare string or Error becomes `other`). */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if (typeof o.code === 'string' && typeof o.message === 'string') {
      const info: ErrorInfo = { code: o.code as ErrorInfo['code'], message: o.message };
      if (typeof o.phase === 'string') info.phase = o.phase as ErrorInfo['phase'];
      return info;
    }
    if (e instanceof Error) return { code: 'other', message: e.message };
  }
  return { code: 'other', message: String(e) };
}

async function call<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toErrorInfo(e);
  }
}

export const about = () => call<About>('about');

/** The configured hosts, from the config alone (no SSH): instant. */
export const listHosts = () => call<HostSummary[]>('list_hosts');

/** Live status of the named hosts; every configured host when `names` is empty. */
export const hostStatus = (names: string[] = []) => call<HostStatus[]>('host_status', { names });

/** Adds a host, saved only once its login worked (or with `no-connect`); an unknown host key
 * comes back as `key-to-confirm`, nothing saved: add again with `trust` set to its fingerprint. */
export const addHost = (input: HostInput, check: HostCheck) => call<HostAdded>('add_host', { input, check });
export const removeHost = (name: string) => call<null>('remove_host', { name });
export const probeHostKey = (name: string) => call<OfferedKey>('probe_host_key', { name });
export const trustHostKey = (name: string, fingerprint: string) =>
  call<null>('trust_host_key', { name, fingerprint });
export const forgetHostKey = (name: string) => call<number>('forget_host_key', { name });

/** A verified reboot; every progress event goes to `onEvent` as it arrives. */
export function reboot(
  name: string,
  confirmation: Confirmation,
  onEvent: (event: ProgressEvent) => void,
): Promise<RebootReport> {
  const channel = new Channel<ProgressEvent>();
  channel.onmessage = onEvent;
  return call<RebootReport>('reboot', { name, confirmation, onEvent: channel });
}

/** Stops waiting for the long action `actionId` (from its progress events); false if none runs. */
export const cancelAction = (actionId: number) => call<boolean>('cancel_action', { actionId });

export const exec = (name: string, command: string, confirmation: Confirmation) =>
  call<ExecOutput>('exec', { name, command, confirmation });

/** The tags and groups hosts can be chosen by. */
export const selectable = () => call<Selectable>('selectable');
/** The names of the hosts `selector` chooses (a `not-found` error when none). */
export const selectHosts = (selector: HostSelector) => call<string[]>('select_hosts', { selector });
/**
 * `command` on every chosen host; the groups so far go to `onProgress` as each host ends.
 * `runId` names this run for `cancelFanOut`.
 */
export function fanOut(
  runId: string,
  selector: HostSelector,
  command: string,
  confirmation: Confirmation,
  onProgress: (progress: FanOutProgress) => void,
): Promise<FanOutReport> {
  const channel = new Channel<FanOutProgress>();
  channel.onmessage = onProgress;
  return call<FanOutReport>('fan_out', { runId, selector, command, confirmation, onProgress: channel });
}
/** Starts no more hosts of fan-out `runId`; those running finish. False if it is not going on. */
export const cancelFanOut = (runId: string) => call<boolean>('cancel_fan_out', { runId });
export const runbooks = (name: string) => call<Runbook[]>('runbooks', { name });

export const runRunbook = (name: string, runbook: string, confirmation: Confirmation) =>
  call<ExecOutput>('run_runbook', { name, runbook, confirmation });

/** The newest journal actions, all targets when `target` is null. */
export const journal = (target: string | null = null, limit = 200) =>
  call<ActionRecord[]>('journal', { target, limit });

/** Tells the app the first frame is on screen (a benchmark reads it); result ignored. */
export function firstPaint(): void {
  invoke('first_paint').catch(() => {});
}

// Protect: feature flags.

/** The flags of every flag service (a service that failed is listed with its error). */
export const flags = (backend: string | null = null, filter: FlagFilter | null = null) =>
  call<BackendFlags[]>('flags', { backend, filter });

/** The flag's state now, read from its service (what a confirmation shows). */
export const flagState = (target: FlagTarget) => call<FlagState>('flag_state', { target });

/** Turns the flag on or off if it is still `expected`; a `conflict` error when it changed. */
export const setFlag = (target: FlagTarget, enabled: boolean, expected: FlagState, confirmation: Confirmation) =>
  call<FlagChange>('set_flag', { target, enabled, expected, confirmation });

/** Sets the flag back as it was before the change journaled as `actionId`. */
export const undoFlag = (actionId: number, confirmation: Confirmation) =>
  call<FlagChange>('undo_flag', { actionId, confirmation });

// Analyze and Alert: monitoring.

export const alerts = (source: string | null = null) => call<SourceAlerts[]>('alerts', { source });

/** A PromQL query over `window` (at most `points` points per series), instant when null. */
export const query = (expr: string, window: TimeWindow | null, source: string | null = null, points = 300) =>
  call<QueryResult>('query', { source, expr, window, points });

export const targets = (source: string | null = null) => call<Target[]>('targets', { source });

/** Silences the alerts `matchers` match for `durationSecs`; resolves to the silence id. */
export const silence = (matchers: string[], durationSecs: number, comment: string, source: string | null = null) =>
  call<string>('silence', { source, matchers, durationSecs, comment });

export const silences = (source: string | null = null) => call<Silence[]>('silences', { source });

export const expireSilence = (id: string, source: string | null = null) =>
  call<null>('expire_silence', { source, id });

export const dashboards = (query: SearchQuery | null = null, source: string | null = null) =>
  call<DashboardHit[]>('dashboards', { source, query });

/** A Grafana dashboard: its panels and its variables resolved for `view`. */
export const dashboard = (uid: string, view: DashboardView | null = null, source: string | null = null) =>
  call<Dashboard>('dashboard', { source, uid, view });

/** A panel's series for `view`, downsampled to `width` points, with min/max/last/mean. */
export const panelData = (uid: string, panelId: number, view: DashboardView | null, width: number, source: string | null = null) =>
  call<PanelData>('panel_data', { source, uid, panelId, view, width });

/** Writes a Grafana annotation now; resolves to its id. */
export const annotate = (input: AnnotationInput, source: string | null = null) =>
  call<number>('annotate', { source, input });

// Fix: cloud servers.

/** The server list of the last full listing, with its time (null before the first). */
export const cachedServers = () => call<CachedInventory | null>('cached_servers');
/** Every server of every cloud account (an account or region that failed is an error row). */
export const servers = (account: string | null = null) => call<Inventory>('servers', { account });

/** A power action followed until the provider reports the target state; every read goes to `onProgress`. */
export function serverPower(
  account: string,
  server: string,
  action: PowerAction,
  confirmation: Confirmation,
  onProgress: (p: ServerProgress) => void,
): Promise<PowerOutcome> {
  const channel = new Channel<ServerProgress>();
  channel.onmessage = onProgress;
  return call<PowerOutcome>('server_power', { account, server, action, confirmation, onProgress: channel });
}

// The incident loop.

/** The state at a glance: alerts firing ranked (critical first), actions still running. */
export const overview = () => call<Overview>('overview');

/** The names of the config's playbooks. */
export const playbooks = () => call<string[]>('playbooks');

/** Opens an incident (from the firing alert `input.alert` names, its playbook found by its labels). */
export const openIncident = (input: IncidentInput) => call<Incident>('open_incident', { input });

/** Incidents, newest first; only the open ones with `openOnly`. */
export const incidents = (openOnly = false, limit = 50) => call<Incident[]>('incidents', { openOnly, limit });

/** Incident `id` (the current one when null) with its actions, timeline and deliveries. */
export const incidentDetail = (id: number | null = null) => call<IncidentDetail>('incident_detail', { id });

/** Protect's plan: the playbook's steps with each target's state now. */
export const protectPlan = (id: number | null = null, playbook: string | null = null) =>
  call<RunPlan>('protect_plan', { id, playbook });

/** Stand down's plan: what will be reversed (newest first) and what cannot be. */
export const standDownPlan = (id: number | null = null) => call<RunPlan>('stand_down_plan', { id });

/** Runs a confirmed protect or stand-down plan; every step's update goes to `onEvent`. */
export function runPlan(plan: RunPlan, confirmation: Confirmation, onEvent: (e: StepEvent) => void): Promise<RunReport> {
  const channel = new Channel<StepEvent>();
  channel.onmessage = onEvent;
  const args = { plan, confirmation, onEvent: channel };
  return plan.run === 'protect' ? call<RunReport>('protect', args) : call<RunReport>('stand_down', args);
}

/** Stops the protect or stand-down run of incident `incidentId`; false when none runs. */
export const cancelRun = (incidentId: number) => call<boolean>('cancel_run', { incidentId });

export const noteIncident = (text: string, id: number | null = null) =>
  call<IncidentEvent>('note_incident', { id, text });

/** Moves the incident to `phase`; `resolved` resolves it. */
export const setIncidentPhase = (phase: IncidentPhase, text = '', id: number | null = null) =>
  call<Incident>('set_incident_phase', { id, phase, text });

/** The post-mortem draft (Markdown and its facts) of incident `id`, else the current or newest. */
export const postmortem = (id: number | null = null) => call<Postmortem>('postmortem', { id });

/** Saves the post-mortem where the person chooses (a native dialog); the path, or null if cancelled. */
export const savePostmortem = (id: number | null = null) => call<string | null>('save_postmortem', { id });

/** Opens an http(s) link in the system browser; the app refuses any other scheme. */
export const openLink = (url: string) => call<null>('open_link', { url });

/**
 * Calls `show` with a screen's hash (`#/alerts`, `#/journal`) whenever the tray asks for one
 * (src-tauri/src/tray.rs, event `navigate`). Outside the app (no event plugin) it does nothing.
 */
/** The `paaf://intent/…` link the app was started with, once; null when there was none. */
export const pendingIntent = () => call<string | null>('pending_intent');
/** Verifies an intent link and says what it would do (nothing runs); a refusal is an error. */
export const openIntent = (link: string) => call<IntentConfirmation>('open_intent', { link });
/** Runs the confirmed intent once; `already-acted` when another device or tap was first. */
export const executeIntent = (link: string, confirmation: Confirmation) =>
  call<IntentOutcome>('execute_intent', { link, confirmation });

/** Calls `show` with each intent link the relay's stream brings while the app runs. */
export async function onIntent(show: (link: string) => void): Promise<void> {
  try {
    await listen<string>('intent', (event) => show(event.payload));
  } catch {
    // Not in Tauri: no stream.
  }
}

export async function onNavigate(show: (hash: string) => void): Promise<void> {
  try {
    await listen<string>('navigate', (event) => show(event.payload));
  } catch {
    // Not in Tauri: nothing will ask.
  }
}
