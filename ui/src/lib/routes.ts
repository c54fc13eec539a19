// Screens and their URL hashes (#/servers, #/host/web-1, ...), pure so they can be tested.

export type Route =
  | { screen: 'overview' }
  | { screen: 'incident' }
  | { screen: 'flags' }
  | { screen: 'alerts' }
  | { screen: 'silences' }
  | { screen: 'dashboards'; uid?: string }
  | { screen: 'servers' }
  | { screen: 'cloud' }
  | { screen: 'journal' }
  | { screen: 'add-host' }
  | { screen: 'host'; host: string };

const SIMPLE = new Set<string>([
  'overview', 'incident', 'flags', 'alerts', 'silences', 'dashboards', 'servers', 'journal', 'add-host', 'cloud',
]);

export const DEFAULT_ROUTE: Route = { screen: 'overview' };

/** The route a hash names; the default for an empty or unknown hash. */
export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  if ((parts[0] === 'host' || parts[0] === 'dashboards') && parts[1]) {
    try {
      const name = decodeURIComponent(parts.slice(1).join('/'));
      return parts[0] === 'host' ? { screen: 'host', host: name } : { screen: 'dashboards', uid: name };
    } catch {
      return DEFAULT_ROUTE;
    }
  }
  if (SIMPLE.has(parts[0])) return { screen: parts[0] } as Route;
  return DEFAULT_ROUTE;
}

export function routeHash(route: Route): string {
  if (route.screen === 'host') return `#/host/${encodeURIComponent(route.host)}`;
  if (route.screen === 'dashboards' && route.uid) return `#/dashboards/${encodeURIComponent(route.uid)}`;
  return `#/${route.screen}`;
}
