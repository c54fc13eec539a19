// Light or dark, as the system says (on-call happens at night): the CSS follows
// prefers-color-scheme by itself (app.css); charts drawn on a canvas ask here for their colours
// and are drawn again when the system switches.

/** Line colours in order, for each scheme; a legend drawn outside the chart uses the same. */
const PALETTES = {
  light: ['#2f5f98', '#1a7f37', '#8a5a00', '#b42318', '#6e40c9', '#0a7285', '#bf3989', '#57606a'],
  dark: ['#6ea8fe', '#4ac26b', '#e3b341', '#ff7b72', '#b392f0', '#39c5cf', '#f778ba', '#8b949e'],
} as const;

/** Axis labels, grid lines and ticks of a chart, for each scheme. */
const AXES = {
  light: { stroke: '#5d6670', grid: '#eceef1', ticks: '#dfe3e8' },
  dark: { stroke: '#9aa4ae', grid: '#2a3038', ticks: '#3a414a' },
} as const;

export type Scheme = keyof typeof PALETTES;

export function chartPalette(scheme: Scheme): readonly string[] {
  return PALETTES[scheme];
}

export function chartAxes(scheme: Scheme): { stroke: string; grid: string; ticks: string } {
  return AXES[scheme];
}

const QUERY = '(prefers-color-scheme: dark)';

class Theme {
  scheme = $state<Scheme>('light');

  constructor() {
    if (typeof window === 'undefined' || typeof window.matchMedia !== 'function') return;
    const media = window.matchMedia(QUERY);
    this.scheme = media.matches ? 'dark' : 'light';
    media.addEventListener?.('change', (e) => (this.scheme = e.matches ? 'dark' : 'light'));
  }
}

/** The system's scheme now, followed as it changes. */
export const theme = new Theme();

/** The colour of line `i` in the current scheme (reactive: read it in a $derived). */
export function chartColor(i: number): string {
  const palette = chartPalette(theme.scheme);
  return palette[i % palette.length];
}
