// The four PAAF steps: what each is for and where each leads.
import type { Route, StepId } from './routes';

export interface StepCard {
  title: string;
  text: string;
  to: Route;
  /** Set when the screen is not built yet: which issue brings it. */
  arrivesWith?: string;
}

export interface Step {
  id: StepId;
  title: string;
  tagline: string;
  intro: string;
  cards: StepCard[];
}

export const STEPS: Step[] = [
  {
    id: 'protect',
    title: 'Protect',
    tagline: 'stop the harm',
    intro: 'Stop the damage first: reboot a stuck server, switch a broken feature off.',
    cards: [
      {
        title: 'Reboot a server',
        text: 'Verified reboot: it counts as done only with a new boot id and a passing test command.',
        to: { screen: 'servers' },
      },
      {
        title: 'Kill-switch a feature flag',
        text: 'Every flag of every flag service, per environment: turn one off (or on), with its state read just now, and undo it.',
        to: { screen: 'flags' },
      },
    ],
  },
  {
    id: 'analyze',
    title: 'Analyze',
    tagline: 'see what happened',
    intro: 'Look before you touch more: which servers answer, what changed, what the graphs say.',
    cards: [
      {
        title: 'Servers status',
        text: 'Reachable or not, uptime, boot id, OS and the last action on each host.',
        to: { screen: 'servers' },
      },
      {
        title: 'Alerts and queries',
        text: 'Firing alerts of every Prometheus, Grafana and Alertmanager; a PromQL query as a chart; scrape targets.',
        to: { screen: 'alerts' },
      },
      {
        title: 'Dashboards',
        text: 'Grafana dashboards: search, pick variables and a time range, every panel drawn from its data; annotate.',
        to: { screen: 'dashboards' },
      },
    ],
  },
  {
    id: 'alert',
    title: 'Alert',
    tagline: 'tell people',
    intro: 'Tell the people who need to know, and quiet the alerts that are already handled.',
    cards: [
      {
        title: 'Silence alerts',
        text: 'Silence a firing alert for 30 min to a day, with a comment; see and expire silences.',
        to: { screen: 'silences' },
      },
      {
        title: 'Incidents and notifications',
        text: 'Incidents and notifications land here.',
        to: { screen: 'incidents' },
        arrivesWith: 'the incidents issue',
      },
    ],
  },
  {
    id: 'fix',
    title: 'Fix',
    tagline: 'repair, stand down',
    intro: 'Repair what broke, then check what was done.',
    cards: [
      {
        title: 'Cloud servers',
        text: 'Every server of every cloud account: reboot, stop or start one, followed until the provider reports its final state.',
        to: { screen: 'cloud' },
      },
      {
        title: 'Runbooks and commands',
        text: "Run a host's runbooks or a single command, with its exit code and output.",
        to: { screen: 'servers' },
      },
      {
        title: 'Journal',
        text: 'Every action: who, when, from where, on what, and how it ended.',
        to: { screen: 'journal' },
      },
    ],
  },
];

export const PLACEHOLDERS = {
  incidents: { title: 'Incidents', text: 'Incidents and notifications land here', arrivesWith: 'the incidents issue' },
} as const;
