// Query results → chart data: uPlot wants one shared x array and one y array per series.
import type { Series } from './bindings/Series';

export interface ChartData {
  /** Unix seconds, ascending, every timestamp of every series. */
  x: number[];
  lines: { label: string; values: (number | null)[] }[];
}

export interface Stats {
  min: number | null;
  max: number | null;
  mean: number | null;
  last: number | null;
}

const finite = (v: number | null | undefined): v is number => v != null && Number.isFinite(v);

/** One line per series on the union of their timestamps; a series without a value at a time
 * (or with null, NaN, ±inf) has a gap there. */
export function toChartData(series: Series[]): ChartData {
  const times = new Set<number>();
  for (const s of series) for (const t of s.times_ms) times.add(t);
  const sorted = [...times].sort((a, b) => a - b);
  const index = new Map(sorted.map((t, i) => [t, i]));
  return {
    x: sorted.map((t) => t / 1000),
    lines: series.map((s) => {
      const values: (number | null)[] = new Array(sorted.length).fill(null);
      s.times_ms.forEach((t, i) => {
        const v = s.values[i];
        values[index.get(t)!] = finite(v) ? v : null;
      });
      return { label: s.name, values };
    }),
  };
}

/** Min, max, mean and last of the finite values. */
export function stats(values: (number | null)[]): Stats {
  const v = values.filter(finite);
  if (v.length === 0) return { min: null, max: null, mean: null, last: null };
  return {
    min: Math.min(...v),
    max: Math.max(...v),
    mean: v.reduce((a, b) => a + b, 0) / v.length,
    last: v[v.length - 1],
  };
}

/** A value for a legend or table: 3 significant digits, k/M/G for large numbers. */
export function formatValue(v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  // below 10,000 the number itself reads best (e.g. 8080, 1500)
  for (const [limit, unit, suffix] of [
    [1e9, 1e9, 'G'],
    [1e6, 1e6, 'M'],
    [1e4, 1e3, 'k'],
  ] as const) {
    if (a >= limit) return `${+(v / unit).toPrecision(3)}${suffix}`;
  }
  if (a === 0) return '0';
  return `${+v.toPrecision(3)}`;
}
