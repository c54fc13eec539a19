// Pure helpers over the hosts list.
import type { HostStatus } from './bindings/HostStatus';

/** Hosts whose name or address contains `query` (case-insensitive; blank → all). */
export function filterHosts(hosts: readonly HostStatus[], query: string): HostStatus[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...hosts];
  return hosts.filter((h) => h.name.toLowerCase().includes(q) || h.address.toLowerCase().includes(q));
}

export interface HostsSummary {
  total: number;
  up: number;
  down: HostStatus[];
}

export function summarize(hosts: readonly HostStatus[]): HostsSummary {
  const down = hosts.filter((h) => !h.reachable);
  return { total: hosts.length, up: hosts.length - down.length, down };
}

/** `user@address` with the port when it is not 22. */
export function hostAddress(h: Pick<HostStatus, 'user' | 'address' | 'port'>): string {
  return `${h.user}@${h.address}${h.port === 22 ? '' : `:${h.port}`}`;
}
