// Cloud servers (Fix): filtering the inventory, which power actions a server offers, the
// confirmation of one, and its progress folded into the states the polls saw. Pure, so tested.
import type { ConfirmRequest } from './confirm.svelte';
import type { Evidence } from './bindings/Evidence';
import type { Inventory } from './bindings/Inventory';
import type { InventoryError } from './bindings/InventoryError';
import type { PowerAction } from './bindings/PowerAction';
import type { PowerOutcome } from './bindings/PowerOutcome';
import type { Server } from './bindings/Server';
import type { ServerProgress } from './bindings/ServerProgress';
import type { ServerStatus } from './bindings/ServerStatus';
import { formatDuration } from './format';

/** Every value a search term can match: name, id, provider, account, region, status, raw state, IPs, tags. */
function searchable(s: Server): string[] {
  const tags = Object.entries(s.tags).flatMap(([k, v]) => [k, v, `${k}=${v}`]);
  return [
    s.name ?? '',
    s.id,
    s.provider,
    s.account,
    s.region,
    s.status,
    s.raw_state,
    ...s.public_ips,
    ...s.private_ips,
    ...tags,
  ].map((x) => x.toLowerCase());
}

/** Search terms: words, each of which must match some field (`env=prod` matches a tag exactly). */
function terms(query: string): string[] {
  return query.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

/** The servers every term of `query` matches (a substring of any field; `key=value` a whole tag). */
export function filterServers(servers: Server[], query: string): Server[] {
  const words = terms(query);
  if (words.length === 0) return servers;
  return servers.filter((s) => {
    const fields = searchable(s);
    return words.every((w) => (w.includes('=') ? fields.includes(w) : fields.some((f) => f.includes(w))));
  });
}

/** The error rows that concern what `query` looks for: those of a matching provider, account or region (all when empty). */
export function filterErrors(errors: InventoryError[], query: string): InventoryError[] {
  const words = terms(query);
  if (words.length === 0) return errors;
  return errors.filter((e) => {
    const fields = [e.provider, e.account, e.region ?? ''].map((x) => x.toLowerCase());
    return words.some((w) => fields.some((f) => f.includes(w)));
  });
}

/** "3 servers in 2 accounts, 1 error" */
export function inventorySummary(inv: Inventory): string {
  const accounts = new Set([...inv.servers.map((s) => s.account), ...inv.errors.map((e) => e.account)]).size;
  const n = inv.servers.length;
  const parts = [`${n} ${n === 1 ? 'server' : 'servers'} in ${accounts} ${accounts === 1 ? 'account' : 'accounts'}`];
  if (inv.errors.length) parts.push(`${inv.errors.length} ${inv.errors.length === 1 ? 'error' : 'errors'}`);
  return parts.join(', ');
}

/** Where an error row applies: its region, or the whole account. */
export const errorScope = (e: InventoryError) => e.region ?? 'whole account';

/** What a server is called: its name, else its id. */
export const serverLabel = (s: Server) => s.name ?? s.id;

/** A server's identity across accounts (ids are unique per provider account, not globally). */
export const serverKey = (s: Pick<Server, 'provider' | 'account' | 'id'>) => `${s.provider}/${s.account}/${s.id}`;

export const ACTION_LABELS: Record<PowerAction, string> = {
  reboot: 'Reboot',
  'hard-reboot': 'Hard reboot',
  stop: 'Stop',
  start: 'Start',
};

/**
 * The actions that make sense in the server's state: a running server reboots or stops, a
 * stopped one starts, one in transition or terminated offers none. An unknown state offers all:
 * the provider decides. Whether the provider has a hard reboot is for the core to say.
 */
export function actionsFor(status: ServerStatus): PowerAction[] {
  switch (status) {
    case 'running':
      return ['reboot', 'hard-reboot', 'stop'];
    case 'stopped':
      return ['start'];
    case 'unknown':
      return ['reboot', 'hard-reboot', 'stop', 'start'];
    case 'pending':
    case 'stopping':
    case 'terminated':
      return [];
  }
}

const CONSEQUENCES: Record<PowerAction, string> = {
  reboot: 'It restarts through its OS; what runs on it is interrupted.',
  'hard-reboot': 'It is reset without a clean shutdown: unsaved data on it may be lost.',
  stop: 'It shuts down and stays off until started.',
  start: 'It boots.',
};

/** The confirmation of a power action: names the server, its id, account and region. */
export function powerConfirmRequest(s: Server, action: PowerAction): ConfirmRequest {
  const label = ACTION_LABELS[action];
  return {
    title: `${label} ${serverLabel(s)}?`,
    body: [
      `${label} `,
      { strong: serverLabel(s) },
      ` (${s.id}, ${s.provider}) in account `,
      { strong: s.account },
      `, region `,
      { strong: s.region },
      `. ${CONSEQUENCES[action]} paaf follows it until the provider reports it ${targetOf(action)}${
        action === 'reboot' || action === 'hard-reboot' ? ', and looks for proof that it rebooted' : ''
      }.`,
    ],
    confirmLabel: label,
    danger: action !== 'start',
  };
}

/** The state the server is in once the action is done (as the core's PowerAction::target). */
export const targetOf = (action: PowerAction): ServerStatus => (action === 'stop' ? 'stopped' : 'running');

/** One state the polls saw: repeated reads of the same state are one row. */
export interface PowerStateRow {
  status: ServerStatus;
  rawState: string;
  /** Since the action was sent, when this state was first seen. */
  firstMs: number;
  /** The last read of this state. */
  lastMs: number;
  reads: number;
}

export interface PowerProgress {
  /** The journal action id, from the first read; what `cancel_action` needs. */
  actionId: number | null;
  rows: PowerStateRow[];
}

export const initialPowerProgress = (): PowerProgress => ({ actionId: null, rows: [] });

/** Adds one read (pure: returns a new state). */
export function applyServerProgress(state: PowerProgress, p: ServerProgress): PowerProgress {
  const last = state.rows[state.rows.length - 1];
  const { status, raw_state } = p.server;
  const rows =
    last && last.status === status && last.rawState === raw_state
      ? [...state.rows.slice(0, -1), { ...last, lastMs: p.elapsed_ms, reads: last.reads + 1 }]
      : [...state.rows, { status, rawState: raw_state, firstMs: p.elapsed_ms, lastMs: p.elapsed_ms, reads: 1 }];
  return { actionId: state.actionId ?? p.action_id, rows };
}

/** What proves a power action, in words (as the journal says it). */
export function describeEvidence(e: Evidence): string {
  switch (e.kind) {
    case 'state-read-back':
      return `${e.raw_state} read back`;
    case 'operation-completed':
      return `its operation ${e.operation} completed`;
    case 'left-running':
      return `seen ${e.raw_state}`;
    case 'relaunched':
      return `launched again ${Math.round((e.after_ms - e.before_ms) / 1000)}s later`;
    case 'new-boot-id':
      return `boot id ${e.before.slice(0, 8)} -> ${e.after.slice(0, 8)}`;
  }
}

/**
 * How a finished power action reads: done with what proves it, or unverified (the server reads
 * its target state, but nothing proved the action took effect) with what to do about it.
 */
export function powerResult(o: PowerOutcome): { verified: boolean; text: string } {
  const s = o.server;
  const ran = `${s.raw_state} after ${formatDuration(o.elapsed_ms)} (${o.polls} ${o.polls === 1 ? 'read' : 'reads'})`;
  if (o.evidence) return { verified: true, text: `Done: ${ran} · ${describeEvidence(o.evidence)}` };
  return {
    verified: false,
    text:
      `Unverified: ${ran}. paaf saw no sign that the ${o.accepted.action} happened: no operation of ${s.provider} ` +
      `proves it, the server read ${s.raw_state} throughout. Check the server; link it to a [[hosts]] entry ` +
      `(server = "${s.account}/${s.id}") to have its reboots verified over SSH.`,
  };
}
