import { describe, expect, it } from 'vitest';
import type { HostStatus } from './bindings/HostStatus';
import { filterHosts, hostAddress, summarize } from './hosts';

const host = (name: string, address: string, reachable = true): HostStatus => ({
  name,
  address,
  port: 22,
  user: 'deploy',
  reachable,
  error: reachable ? null : { code: 'unreachable', message: 'down' },
  uptime_secs: null,
  boot_id: null,
  os: null,
  metrics: null,
  last_action: null,
});

const hosts = [host('web-1', '10.0.0.5'), host('web-2', '10.0.0.6', false), host('db-1', 'db.internal', false)];

describe('filterHosts', () => {
  it('matches name or address, case-insensitively, ignoring surrounding blanks', () => {
    expect(filterHosts(hosts, 'WEB').map((h) => h.name)).toEqual(['web-1', 'web-2']);
    expect(filterHosts(hosts, ' db.INT ').map((h) => h.name)).toEqual(['db-1']);
    expect(filterHosts(hosts, '10.0.0.6').map((h) => h.name)).toEqual(['web-2']);
    expect(filterHosts(hosts, 'nope')).toEqual([]);
  });

  it('returns every host (a copy) for a blank query', () => {
    const all = filterHosts(hosts, '  ');
    expect(all).toEqual(hosts);
    expect(all).not.toBe(hosts);
  });
});

describe('summarize / hostAddress', () => {
  it('counts up and down hosts', () => {
    const s = summarize(hosts);
    expect(s.total).toBe(3);
    expect(s.up).toBe(1);
    expect(s.down.map((h) => h.name)).toEqual(['web-2', 'db-1']);
  });

  it('shows the port only when it is not 22', () => {
    expect(hostAddress({ user: 'ops', address: 'db.internal', port: 22 })).toBe('ops@db.internal');
    expect(hostAddress({ user: 'ops', address: 'db.internal', port: 2222 })).toBe('ops@db.internal:2222');
  });
});
