import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTE, parseHash, routeHash, type Route } from './routes';

describe('routes', () => {
  it('round-trips every screen through the hash', () => {
    const routes: Route[] = [
      { screen: 'overview' },
      { screen: 'incident' },
      { screen: 'servers' },
      { screen: 'cloud' },
      { screen: 'journal' },
      { screen: 'flags' },
      { screen: 'alerts' },
      { screen: 'silences' },
      { screen: 'add-host' },
      { screen: 'dashboards' },
      { screen: 'dashboards', uid: 'node-full' },
      { screen: 'host', host: 'web-1' },
      { screen: 'host', host: 'odd name/with#chars' },
    ];
    for (const r of routes) expect(parseHash(routeHash(r))).toEqual(r);
  });

  it('falls back to the default for an empty or unknown hash', () => {
    expect(parseHash('')).toEqual(DEFAULT_ROUTE);
    expect(parseHash('#/nowhere')).toEqual(DEFAULT_ROUTE);
    expect(parseHash('#/host/')).toEqual(DEFAULT_ROUTE);
    expect(parseHash('#/host/%E0%A4%A')).toEqual(DEFAULT_ROUTE);
  });
});
