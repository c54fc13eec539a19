import { describe, expect, it } from 'vitest';
import type { Panel } from './bindings/Panel';
import type { PanelData } from './bindings/PanelData';
import type { ResolvedVariable } from './bindings/ResolvedVariable';
import {
  ALL,
  dashboardView,
  formatUnit,
  panelGroups,
  groupTop,
  panelPlacement,
  pointsFor,
  queryErrorText,
  searchQuery,
  selectable,
  sharedUnit,
  skippedText,
  variableOptions,
  variableValueText,
} from './dashboards';

const panel = (id: number, row: string | null, x: number, y: number, w = 12): Panel => ({
  id,
  type: 'timeseries',
  title: `p${id}`,
  row,
  datasource: null,
  targets: [],
  grid_pos: { x, y, w, h: 8 },
  min_interval: null,
  max_data_points: null,
});

const variable = (over: Partial<ResolvedVariable>): ResolvedVariable => ({
  name: 'instance',
  label: null,
  kind: 'query',
  values: ['web-1'],
  is_all: false,
  options: ['web-1', 'web-2'],
  multi: false,
  include_all: false,
  warning: null,
  ...over,
});

describe('searchQuery', () => {
  it('trims the text, splits tags on commas and spaces, keeps starred', () => {
    expect(searchQuery('  node ', 'prod, linux  k8s', true)).toEqual({
      query: 'node',
      tags: ['prod', 'linux', 'k8s'],
      starred: true,
      folder_uids: [],
      limit: null,
      page: null,
    });
    expect(searchQuery('', ' ', false)).toMatchObject({ query: null, tags: [], starred: false });
  });
});

describe('panelGroups', () => {
  it('groups by row in dashboard order (collapsed rows too) and sorts each row by grid place', () => {
    const groups = panelGroups([
      panel(1, null, 0, 0),
      panel(3, 'CPU', 12, 9),
      panel(2, 'CPU', 0, 9),
      panel(5, 'Errors', 0, 20),
      panel(4, 'CPU', 0, 1),
    ]);
    expect(groups.map((g) => [g.row, g.panels.map((p) => p.id)])).toEqual([
      [null, [1]],
      ['CPU', [4, 2, 3]],
      ['Errors', [5]],
    ]);
  });

  it('a panel sits on the 24-column grid where Grafana puts it; unsized panels take the width', () => {
    // Side by side as in Grafana: x and w on the 24 columns, y and h in rows from the group's top.
    expect(panelPlacement(panel(1, null, 12, 0, 6), 0)).toEqual({ column: '13 / span 6', row: '1 / span 8' });
    expect(panelPlacement(panel(1, null, 0, 9, 0), 9)).toEqual({ column: '1 / span 24', row: '1 / span 8' });
    expect(panelPlacement(panel(1, null, 20, 0, 30), 0).column).toBe('1 / span 24');
    expect(panelPlacement(panel(1, null, 20, 0, 8), 0).column).toBe('17 / span 8');
    expect(groupTop([panel(1, null, 0, 9, 6), panel(2, null, 6, 5, 6)])).toBe(5);
  });

  it('asks for one point per pixel, between 50 and 4000', () => {
    expect(pointsFor(612.4)).toBe(612);
    expect(pointsFor(0)).toBe(50);
    expect(pointsFor(10_000)).toBe(4000);
  });
});

describe('dashboardView', () => {
  it('empty range fields mean the dashboard’s own range; `to` defaults to now', () => {
    expect(dashboardView('', ' ', {})).toEqual({ window: null, variables: {} });
    expect(dashboardView('now-1d/d', '', {}).window).toEqual({ from: 'now-1d/d', to: 'now' });
    expect(dashboardView('1700000000000', '2024-05-01T12:00:00Z', {}).window).toEqual({
      from: '1700000000000',
      to: '2024-05-01T12:00:00Z',
    });
  });

  it('sends only the variables the person chose', () => {
    expect(dashboardView('', '', { instance: ['web-2'], job: [] }).variables).toEqual({ instance: ['web-2'] });
  });
});

describe('variables', () => {
  it('offers "All" first when the variable has it; constants and data sources are not picked', () => {
    expect(variableOptions(variable({ include_all: true })).map((o) => o.value)).toEqual([ALL, 'web-1', 'web-2']);
    expect(selectable(variable({}))).toBe(true);
    expect(selectable(variable({ kind: 'constant' }))).toBe(false);
    expect(selectable(variable({ kind: 'datasource' }))).toBe(false);
    expect(selectable(variable({ options: [] }))).toBe(false);
  });

  it('writes the resolved value: All, the values, or a dash', () => {
    expect(variableValueText(variable({ is_all: true, values: [ALL] }))).toBe('All');
    expect(variableValueText(variable({ values: ['a', 'b'] }))).toBe('a, b');
    expect(variableValueText(variable({ values: [] }))).toBe('—');
  });
});

describe('errors and skipped fields', () => {
  it('a failed query shows its refId, its status code and its message', () => {
    expect(queryErrorText({ ref_id: 'B', status: 400, message: 'parse error at char 5' })).toBe(
      'B: 400 parse error at char 5',
    );
    expect(queryErrorText({ ref_id: 'C', status: null, message: 'data source `x` not found' })).toBe(
      'C: data source `x` not found',
    );
  });

  it('a skipped field says why in words', () => {
    expect(
      skippedText({ ref_id: 'A', frame: 0, field: 'v', reason: { kind: 'length-mismatch', values: 2, times: 3 } }),
    ).toBe('A · v: 2 values for 3 times');
    expect(skippedText({ ref_id: 'A', frame: 1, field: '', reason: { kind: 'no-schema' } })).toBe(
      'A · frame 1: a frame without a schema',
    );
  });
});

describe('formatUnit', () => {
  it('writes Grafana units', () => {
    expect(formatUnit(0.256, 'percentunit')).toBe('25.6%');
    expect(formatUnit(42, 'percent')).toBe('42%');
    expect(formatUnit(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatUnit(2_500_000, 'decbytes')).toBe('2.5 MB');
    expect(formatUnit(0.0123, 's')).toBe('12.3 ms');
    expect(formatUnit(2500, 'ms')).toBe('2.5 s');
    expect(formatUnit(12, 'reqps')).toBe('12 reqps');
    expect(formatUnit(12345, null)).toBe('12.3k');
    expect(formatUnit(null, 'bytes')).toBe('—');
  });

  it('a panel has an axis unit only when all its series share it', () => {
    const data = (units: (string | null)[]): PanelData => ({
      panel_id: 1,
      series: units.map((unit, i) => ({
        ref_id: 'A',
        name: `s${i}`,
        labels: {},
        unit,
        times_ms: [],
        values: [],
        stats: { min: null, max: null, last: null, mean: null, count: 0 },
      })),
      errors: [],
      skipped: [],
      from_ms: 0,
      to_ms: 1,
      interval_ms: 1,
    });
    expect(sharedUnit(data(['bytes', 'bytes']))).toBe('bytes');
    expect(sharedUnit(data(['bytes', 's']))).toBe(null);
    expect(sharedUnit(data([null]))).toBe(null);
  });
});
