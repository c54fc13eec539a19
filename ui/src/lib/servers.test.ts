import { describe, expect, it } from 'vitest';
import type { InventoryError } from './bindings/InventoryError';
import type { PowerOutcome } from './bindings/PowerOutcome';
import type { Server } from './bindings/Server';
import type { ServerStatus } from './bindings/ServerStatus';
import {
  actionsFor,
  applyServerProgress,
  filterErrors,
  filterServers,
  initialPowerProgress,
  inventorySummary,
  powerConfirmRequest,
  powerResult,
  serverKey,
} from './servers';

const server = (over: Partial<Server>): Server => ({
  provider: 'aws',
  account: 'prod',
  region: 'eu-west-1',
  id: 'i-0aaa',
  name: null,
  status: 'running',
  raw_state: 'running',
  public_ips: [],
  private_ips: [],
  tags: {},
  launched_at_ms: null,
  metrics: [],
  ...over,
});

const web = server({ id: 'i-0web', name: 'web-2', public_ips: ['54.1.2.3'], private_ips: ['10.0.0.7'], tags: { Name: 'web-2', env: 'production', team: 'shop' } });
const batch = server({ id: 'i-0batch', name: 'batch-1', region: 'us-east-1', status: 'stopped', raw_state: 'stopped', tags: { env: 'staging' } });
const db = server({ provider: 'hetzner', account: 'eu', region: 'fsn1', id: '4711', name: 'db-1', status: 'unknown', raw_state: 'migrating' });
const all = [web, batch, db];
const names = (xs: Server[]) => xs.map((s) => s.name);

describe('filterServers', () => {
  it('matches any field: name, id, provider, account, region, status, raw state, IPs, tags', () => {
    expect(names(filterServers(all, ''))).toEqual(['web-2', 'batch-1', 'db-1']);
    expect(names(filterServers(all, 'WEB'))).toEqual(['web-2']);
    expect(names(filterServers(all, 'i-0batch'))).toEqual(['batch-1']);
    expect(names(filterServers(all, 'hetzner'))).toEqual(['db-1']);
    expect(names(filterServers(all, 'prod'))).toEqual(['web-2', 'batch-1']); // account prod; tag production
    expect(names(filterServers(all, 'us-east'))).toEqual(['batch-1']);
    expect(names(filterServers(all, 'stopped'))).toEqual(['batch-1']);
    expect(names(filterServers(all, 'migrating'))).toEqual(['db-1']);
    expect(names(filterServers(all, '10.0.0.7'))).toEqual(['web-2']);
    expect(names(filterServers(all, '54.1'))).toEqual(['web-2']);
    expect(names(filterServers(all, 'shop'))).toEqual(['web-2']);
  });

  it('needs every word to match; key=value matches a whole tag', () => {
    expect(names(filterServers(all, 'aws running'))).toEqual(['web-2']);
    expect(names(filterServers(all, 'env=staging'))).toEqual(['batch-1']);
    expect(names(filterServers(all, 'env=stag'))).toEqual([]);
    expect(names(filterServers(all, 'aws fsn1'))).toEqual([]);
  });
});

describe('filterErrors', () => {
  const errors: InventoryError[] = [
    { provider: 'aws', account: 'prod', region: 'ap-south-1', error: { code: 'auth-failed', message: 'AuthFailure' } },
    { provider: 'hetzner', account: 'eu', region: null, error: { code: 'secret', message: 'no token' } },
  ];
  it('keeps every error without a search, and those of a matching account, provider or region', () => {
    expect(filterErrors(errors, '')).toHaveLength(2);
    expect(filterErrors(errors, 'eu').map((e) => e.account)).toEqual(['eu']);
    expect(filterErrors(errors, 'ap-south').map((e) => e.account)).toEqual(['prod']);
    expect(filterErrors(errors, 'web-2')).toEqual([]);
  });
  it('counts them in the summary', () => {
    expect(inventorySummary({ servers: all, errors })).toBe('3 servers in 2 accounts, 2 errors');
    expect(inventorySummary({ servers: [web], errors: [] })).toBe('1 server in 1 account');
  });
});

describe('actionsFor', () => {
  it('offers what the state allows, nothing while in transition', () => {
    const cases: [ServerStatus, string[]][] = [
      ['running', ['reboot', 'hard-reboot', 'stop']],
      ['stopped', ['start']],
      ['pending', []],
      ['stopping', []],
      ['terminated', []],
      ['unknown', ['reboot', 'hard-reboot', 'stop', 'start']],
    ];
    for (const [status, actions] of cases) expect(actionsFor(status)).toEqual(actions);
  });
});

describe('powerConfirmRequest', () => {
  it('names the server, its id, account and region; only a start is not dangerous', () => {
    const r = powerConfirmRequest(web, 'stop');
    expect(r.title).toBe('Stop web-2?');
    const text = (r.body as (string | { strong: string })[]).map((p) => (typeof p === 'string' ? p : p.strong)).join('');
    expect(text).toContain('web-2');
    expect(text).toContain('i-0web');
    expect(text).toContain('prod');
    expect(text).toContain('eu-west-1');
    expect(text).toContain('stopped');
    expect(r.danger).toBe(true);
    expect(powerConfirmRequest(batch, 'start').danger).toBe(false);
    expect(powerConfirmRequest(server({}), 'reboot').title).toBe('Reboot i-0aaa?');
  });
});

describe('applyServerProgress', () => {
  it('keeps the first action id and folds repeated reads of one state into a row', () => {
    const reads: [number, ServerStatus, string][] = [
      [0, 'stopping', 'stopping'],
      [5000, 'stopping', 'stopping'],
      [10000, 'stopped', 'stopped'],
    ];
    let p = initialPowerProgress();
    for (const [ms, status, raw] of reads) {
      p = applyServerProgress(p, { action_id: 12, elapsed_ms: ms, server: server({ status, raw_state: raw }) });
    }
    expect(p.actionId).toBe(12);
    expect(p.rows).toEqual([
      { status: 'stopping', rawState: 'stopping', firstMs: 0, lastMs: 5000, reads: 2 },
      { status: 'stopped', rawState: 'stopped', firstMs: 10000, lastMs: 10000, reads: 1 },
    ]);
  });

  it('a new raw state within one status is a row of its own', () => {
    let p = initialPowerProgress();
    p = applyServerProgress(p, { action_id: 3, elapsed_ms: 0, server: server({ status: 'pending', raw_state: 'provisioning' }) });
    p = applyServerProgress(p, { action_id: 3, elapsed_ms: 1, server: server({ status: 'pending', raw_state: 'starting' }) });
    expect(p.rows.map((r) => r.rawState)).toEqual(['provisioning', 'starting']);
  });
});

describe('serverKey', () => {
  it('tells apart the same id in two accounts', () => {
    expect(serverKey(web)).not.toBe(serverKey({ ...web, account: 'staging' }));
  });
});

describe('powerResult', () => {
  const outcome = (over: Partial<PowerOutcome>): PowerOutcome => ({
    accepted: { action: 'reboot', id: 'i-0web', status: null, raw_state: null },
    server: web,
    seen: ['running'],
    polls: 12,
    elapsed_ms: 55000,
    verified: null,
    evidence: null,
    ...over,
  });

  it('a reboot nothing proves is unverified, says why and how to verify it', () => {
    const r = powerResult(outcome({}));
    expect(r.verified).toBe(false);
    expect(r.text).toContain('Unverified: running after 55.0 s (12 reads)');
    expect(r.text).toContain('no sign that the reboot happened');
    expect(r.text).toContain('server = "prod/i-0web"');
  });

  it('a proven action is done, with what proves it', () => {
    const op = powerResult(outcome({ polls: 1, evidence: { kind: 'operation-completed', operation: '13' } }));
    expect(op).toEqual({ verified: true, text: 'Done: running after 55.0 s (1 read) · its operation 13 completed' });
    const seen = powerResult(outcome({ evidence: { kind: 'left-running', raw_state: 'rebooting' } }));
    expect(seen.text).toContain('· seen rebooting');
    const ssh = powerResult(outcome({ evidence: { kind: 'new-boot-id', before: 'aaaaaaaa-1111', after: 'bbbbbbbb-2222' } }));
    expect(ssh.text).toContain('· boot id aaaaaaaa -> bbbbbbbb');
    const moved = powerResult(outcome({ evidence: { kind: 'relaunched', before_ms: 1_000, after_ms: 61_000 } }));
    expect(moved.text).toContain('· launched again 60s later');
  });
});
