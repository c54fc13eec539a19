// Grafana dashboards on screen: the search form, a dashboard's panels grouped by row, the view
// (time range and variable choices) sent back to the core, and how a panel's data is written.
// Pure, so it can be tested; the screens only wire these to the commands.
import type { DashboardView } from './bindings/DashboardView';
import type { Panel } from './bindings/Panel';
import type { PanelData } from './bindings/PanelData';
import type { QueryError } from './bindings/QueryError';
import type { ResolvedVariable } from './bindings/ResolvedVariable';
import type { SearchQuery } from './bindings/SearchQuery';
import type { SkippedField } from './bindings/SkippedField';
import { formatValue } from './series';

/** Grafana's value for a variable's "All" option. */
export const ALL = '$__all';

/** Ranges offered as one click; any Grafana time (`now-1d/d`, epoch ms, RFC 3339) can be typed. */
export const DASHBOARD_RANGES = ['now-15m', 'now-1h', 'now-6h', 'now-24h', 'now-7d'] as const;

/** The search form as typed: free text, tags separated by commas or spaces, starred only. */
export function searchQuery(text: string, tags: string, starred: boolean): SearchQuery {
  return {
    query: text.trim() || null,
    tags: tags
      .split(/[,\s]+/)
      .map((t) => t.trim())
      .filter((t) => t !== ''),
    starred,
    folder_uids: [],
    limit: null,
    page: null,
  };
}

export interface PanelGroup {
  /** The row's title; null for panels above the first row. */
  row: string | null;
  panels: Panel[];
}

/** Panels grouped by the row they sit in (collapsed rows included), rows in dashboard order,
 * panels in each row by their place on the grid (top to bottom, left to right). */
export function panelGroups(panels: Panel[]): PanelGroup[] {
  const groups: PanelGroup[] = [];
  for (const p of panels) {
    let g = groups.find((x) => x.row === p.row);
    if (!g) {
      g = { row: p.row, panels: [] };
      groups.push(g);
    }
    g.panels.push(p);
  }
  for (const g of groups) {
    g.panels.sort((a, b) => a.grid_pos.y - b.grid_pos.y || a.grid_pos.x - b.grid_pos.x);
  }
  return groups;
}

/** Where a panel sits on Grafana's 24-column grid, as CSS grid lines: its columns, and its
 * rows counted from `top` (the first grid row of its group). An unsized panel takes the whole
 * width and Grafana's default height (8); one that overflows the grid is pulled back into it. */
export function panelPlacement(panel: Panel, top: number): { column: string; row: string } {
  const { x, y, w, h } = panel.grid_pos;
  const width = w > 0 && w <= 24 ? w : 24;
  const left = Math.min(Math.max(0, x), 24 - width);
  const height = h > 0 ? h : 8;
  return { column: `${left + 1} / span ${width}`, row: `${Math.max(0, y - top) + 1} / span ${height}` };
}

/** The first grid row of a group's panels. */
export function groupTop(panels: Panel[]): number {
  return panels.length ? Math.min(...panels.map((p) => p.grid_pos.y)) : 0;
}

/** How many points to ask for: one per pixel of the chart, within reason. */
export function pointsFor(widthPx: number): number {
  return Math.min(4000, Math.max(50, Math.round(widthPx)));
}

/** The view the core opens the dashboard with: the typed range (the dashboard's own when both
 * are empty; `to` defaults to now) and the variables the person chose. */
export function dashboardView(from: string, to: string, chosen: Record<string, string[]>): DashboardView {
  const f = from.trim();
  const t = to.trim();
  const variables: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(chosen)) if (values.length > 0) variables[name] = values;
  return { window: f || t ? { from: f || 'now-6h', to: t || 'now' } : null, variables };
}

/** Whether the person can pick this variable's value (it has options and is not fixed). */
export function selectable(v: ResolvedVariable): boolean {
  return v.options.length > 0 && v.kind !== 'constant' && v.kind !== 'datasource' && v.kind !== 'adhoc';
}

/** The variable's options for a picker, "All" first when offered. */
export function variableOptions(v: ResolvedVariable): { value: string; label: string }[] {
  const options = v.options.map((o) => ({ value: o, label: o }));
  return v.include_all ? [{ value: ALL, label: 'All' }, ...options] : options;
}

/** The resolved value as text: "All", or the values joined. */
export function variableValueText(v: ResolvedVariable): string {
  if (v.is_all) return 'All';
  return v.values.length > 0 ? v.values.join(', ') : '—';
}

/** A failed query as a line: its refId, the status Grafana gave (the code), its message. */
export function queryErrorText(e: QueryError): string {
  return `${e.ref_id}: ${e.status != null ? `${e.status} ` : ''}${e.message}`;
}

/** A field that could not be plotted, and why, in a few words. */
export function skippedText(s: SkippedField): string {
  const field = s.field || `frame ${s.frame}`;
  const why = (() => {
    switch (s.reason.kind) {
      case 'not-numeric':
        return `not a number (${s.reason.field_type})`;
      case 'no-time-field':
        return 'no time field beside it';
      case 'extra-time-field':
        return 'a second time field';
      case 'missing-column':
        return 'no values sent';
      case 'length-mismatch':
        return `${s.reason.values} values for ${s.reason.times} times`;
      case 'bad-time-column':
        return 'times are not epoch milliseconds';
      case 'no-schema':
        return 'a frame without a schema';
    }
  })();
  return `${s.ref_id} · ${field}: ${why}`;
}

/** A value in a Grafana unit: percent, ratios as percent, bytes (IEC), seconds, milliseconds;
 * other units are appended as written. */
export function formatUnit(v: number | null | undefined, unit: string | null | undefined): string {
  if (v == null || !Number.isFinite(v) || !unit || unit === 'none' || unit === 'short') return formatValue(v);
  switch (unit) {
    case 'percent':
      return `${formatValue(v)}%`;
    case 'percentunit':
      return `${formatValue(v * 100)}%`;
    case 'bytes':
    case 'decbytes': {
      const base = unit === 'bytes' ? 1024 : 1000;
      const names = unit === 'bytes' ? ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] : ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
      let i = 0;
      let x = v;
      while (Math.abs(x) >= base && i < names.length - 1) {
        x /= base;
        i++;
      }
      return `${+x.toPrecision(3)} ${names[i]}`;
    }
    case 's':
      return Math.abs(v) < 1 ? `${+(v * 1000).toPrecision(3)} ms` : `${formatValue(v)} s`;
    case 'ms':
      return Math.abs(v) >= 1000 ? `${+(v / 1000).toPrecision(3)} s` : `${formatValue(v)} ms`;
    default:
      return `${formatValue(v)} ${unit}`;
  }
}

/** The one unit every series of a panel shares, for the axis; null when they differ. */
export function sharedUnit(data: PanelData): string | null {
  const units = new Set(data.series.map((s) => s.unit ?? ''));
  return units.size === 1 ? [...units][0] || null : null;
}
