// The four PAAF steps as the navigation groups them: each step's screens.
import type { Route } from './routes';

export interface NavItem {
  screen: Exclude<Route['screen'], 'host' | 'add-host' | 'overview'>;
  label: string;
}

export interface Step {
  id: 'protect' | 'analyze' | 'alert' | 'fix';
  title: string;
  tagline: string;
  items: NavItem[];
}

export const STEPS: Step[] = [
  { id: 'protect', title: 'Protect', tagline: 'stop the harm', items: [{ screen: 'incident', label: 'Incident' }, { screen: 'flags', label: 'Flags' }] },
  {
    id: 'analyze',
    title: 'Analyze',
    tagline: 'see what happened',
    items: [
      { screen: 'servers', label: 'Servers' },
      { screen: 'alerts', label: 'Alerts' },
      { screen: 'dashboards', label: 'Dashboards' },
    ],
  },
  { id: 'alert', title: 'Alert', tagline: 'tell people', items: [{ screen: 'silences', label: 'Silences' }] },
  {
    id: 'fix',
    title: 'Fix',
    tagline: 'repair, stand down',
    items: [
      { screen: 'cloud', label: 'Cloud servers' },
      { screen: 'journal', label: 'Journal' },
    ],
  },
];
