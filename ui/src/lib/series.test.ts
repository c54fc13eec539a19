import { describe, expect, it } from 'vitest';
import type { Series } from './bindings/Series';
import { formatValue, stats, toChartData } from './series';

const series = (name: string, times_ms: number[], values: (number | null)[]): Series => ({
  ref_id: 'A',
  name,
  labels: {},
  unit: null,
  times_ms,
  values,
});

describe('toChartData', () => {
  it('puts every series on the union of the timestamps (seconds), with gaps where one has no value', () => {
    const data = toChartData([
      series('up{instance="web-1"}', [60_000, 0, 120_000], [1, 1, 0]),
      series('up{instance="web-2"}', [60_000, 180_000], [1, null]),
    ]);
    expect(data.x).toEqual([0, 60, 120, 180]);
    expect(data.lines).toEqual([
      { label: 'up{instance="web-1"}', values: [1, 1, 0, null] },
      { label: 'up{instance="web-2"}', values: [null, 1, null, null] },
    ]);
  });

  it('NaN and infinities become gaps (uPlot cannot draw them); no series, no points', () => {
    const data = toChartData([series('x', [0, 1000, 2000], [NaN, Infinity, 2])]);
    expect(data.lines[0].values).toEqual([null, null, 2]);
    expect(toChartData([])).toEqual({ x: [], lines: [] });
  });
});

describe('stats', () => {
  it('min, max, mean and last of the finite values', () => {
    expect(stats([3, null, 1, 5, NaN])).toEqual({ min: 1, max: 5, mean: 3, last: 5 });
    expect(stats([null, null])).toEqual({ min: null, max: null, mean: null, last: null });
  });
});

describe('formatValue', () => {
  it('three significant digits, k/M/G for large numbers', () => {
    expect(formatValue(0.123456)).toBe('0.123');
    expect(formatValue(42)).toBe('42');
    expect(formatValue(12_345)).toBe('12.3k');
    expect(formatValue(2_500_000)).toBe('2.5M');
    expect(formatValue(-3e9)).toBe('-3G');
    expect(formatValue(null)).toBe('—');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(0)).toBe('0');
  });
});
