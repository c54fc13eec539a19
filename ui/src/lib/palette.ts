// The command palette's items and how typing a few letters finds them: pure, so tested.
import type { Route } from './routes';

export type PaletteKind = 'screen' | 'action' | 'host' | 'server' | 'flag' | 'dashboard' | 'alert';

export interface PaletteItem {
  kind: PaletteKind;
  label: string;
  /** What else it is matched on and shown with (address, environment, source). */
  detail: string;
  to: Route;
}

/** How well `query` matches `text`: its letters in order (a subsequence), case-insensitive;
 * a higher score for letters that follow one another and for a match at the start; null when
 * they are not all there. */
export function matchScore(query: string, text: string): number | null {
  const q = query.trim().toLowerCase();
  if (!q) return 0;
  const t = text.toLowerCase();
  let score = 0;
  let at = -1;
  for (const ch of q) {
    if (ch === ' ') continue;
    const found = t.indexOf(ch, at + 1);
    if (found < 0) return null;
    score += found === at + 1 ? 3 : 1;
    if (found === 0) score += 5;
    at = found;
  }
  if (t.includes(q)) score += 10;
  return score;
}

/** The items `query` matches, best first (the label counts more than the detail), at most `limit`. */
export function rankItems(items: readonly PaletteItem[], query: string, limit = 12): PaletteItem[] {
  const scored: { item: PaletteItem; score: number; i: number }[] = [];
  items.forEach((item, i) => {
    const byLabel = matchScore(query, item.label);
    const byAll = matchScore(query, `${item.label} ${item.detail} ${item.kind}`);
    const score = byLabel !== null ? byLabel * 2 : byAll;
    if (score !== null) scored.push({ item, score, i });
  });
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  return scored.slice(0, limit).map((s) => s.item);
}

/** The screens and actions always offered. */
export const FIXED_ITEMS: PaletteItem[] = [
  { kind: 'screen', label: 'Overview', detail: 'home, at a glance', to: { screen: 'overview' } },
  { kind: 'action', label: 'Protect', detail: "run the incident's playbook", to: { screen: 'incident' } },
  { kind: 'action', label: 'Open incident', detail: 'incident, sev', to: { screen: 'incident' } },
  { kind: 'action', label: 'Stand down', detail: 'reverse what the incident changed', to: { screen: 'incident' } },
  { kind: 'action', label: 'Post-mortem', detail: 'incident write-up, markdown', to: { screen: 'incident' } },
  { kind: 'action', label: 'Kill-switch a flag', detail: 'flag off', to: { screen: 'flags' } },
  { kind: 'action', label: 'Silence an alert', detail: 'silences', to: { screen: 'silences' } },
  { kind: 'action', label: 'Run a query', detail: 'promql', to: { screen: 'alerts' } },
  { kind: 'action', label: 'Add a host', detail: 'ssh', to: { screen: 'add-host' } },
  { kind: 'screen', label: 'Servers', detail: 'hosts', to: { screen: 'servers' } },
  { kind: 'screen', label: 'Cloud servers', detail: 'reboot stop start', to: { screen: 'cloud' } },
  { kind: 'screen', label: 'Alerts', detail: 'firing', to: { screen: 'alerts' } },
  { kind: 'screen', label: 'Dashboards', detail: 'grafana', to: { screen: 'dashboards' } },
  { kind: 'screen', label: 'Journal', detail: 'actions', to: { screen: 'journal' } },
];
