import { describe, expect, it } from 'vitest';
import { FIXED_ITEMS, matchScore, rankItems, type PaletteItem } from './palette';

const host = (name: string): PaletteItem => ({ kind: 'host', label: name, detail: 'deploy@10.0.0.5', to: { screen: 'host', host: name } });

describe('command palette', () => {
  it('matches letters in order, whole words and starts scoring higher', () => {
    expect(matchScore('wb1', 'web-1')).not.toBeNull();
    expect(matchScore('1bw', 'web-1')).toBeNull();
    expect(matchScore('web', 'web-1')!).toBeGreaterThan(matchScore('web', 'a-big-web')!);
    expect(matchScore('', 'anything')).toBe(0);
  });

  it('finds a host, a dashboard or an action from a few letters, the label before the detail', () => {
    const items: PaletteItem[] = [
      ...FIXED_ITEMS,
      host('web-1'),
      host('db-1'),
      { kind: 'dashboard', label: 'Node Exporter Full', detail: 'grafana linux', to: { screen: 'dashboards', uid: 'node-full' } },
    ];
    expect(rankItems(items, 'db1')[0].label).toBe('db-1');
    expect(rankItems(items, 'node')[0].to).toEqual({ screen: 'dashboards', uid: 'node-full' });
    expect(rankItems(items, 'stand')[0].label).toBe('Stand down');
    expect(rankItems(items, 'deploy').map((i) => i.kind)).toEqual(['host', 'host']);
    expect(rankItems(items, 'zzzz')).toEqual([]);
    expect(rankItems(items, '', 3)).toHaveLength(3);
  });
});
