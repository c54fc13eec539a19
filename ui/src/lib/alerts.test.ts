import { describe, expect, it } from 'vitest';
import { alertMatchers, alertRows, matcherText, silenceSource, silenceSources, since } from './alerts';
import type { AlertView } from './bindings/AlertView';
import type { SourceAlerts } from './bindings/SourceAlerts';

const alert: AlertView = {
  source: 'am',
  name: 'CheckoutErrors',
  state: 'firing',
  severity: 'critical',
  summary: '5% of checkouts fail',
  labels: { alertname: 'CheckoutErrors', service: 'checkout', instance: 'web-2:9100' },
  since_ms: 0,
  silenced_by: [],
  link: null,
};

const sources: SourceAlerts[] = [
  { source: 'prom', kind: 'prometheus', alerts: [{ ...alert, source: 'prom' }], error: null },
  { source: 'am', kind: 'alertmanager', alerts: [alert], error: null },
  { source: 'grafana', kind: 'grafana', alerts: [], error: { code: 'unreachable', message: 'grafana is unreachable' } },
];

describe('alerts', () => {
  it('rows: every alert of every source, and a failing source as a row with its error', () => {
    const rows = alertRows(sources);
    expect(rows.map((r) => (r.kind === 'alert' ? `${r.alert.source}/${r.alert.name}` : `error:${r.source}:${r.error.code}`))).toEqual([
      'prom/CheckoutErrors',
      'am/CheckoutErrors',
      'error:grafana:unreachable',
    ]);
  });

  it('silencing an alert matches exactly its labels, alertname first, values quoted', () => {
    expect(alertMatchers({ ...alert, labels: { ...alert.labels, note: 'say "hi"' } })).toEqual([
      'alertname="CheckoutErrors"',
      'instance="web-2:9100"',
      'note="say \\"hi\\""',
      'service="checkout"',
    ]);
  });

  it('a silence goes to the alert\'s own source only when it holds silences', () => {
    expect(silenceSource('alertmanager', 'am')).toBe('am');
    expect(silenceSource('grafana', 'ops')).toBe('ops');
    expect(silenceSource('prometheus', 'prom')).toBeNull();
    expect(silenceSources(sources)).toEqual(['am', 'grafana']);
  });

  it('writes matchers as people do', () => {
    expect(matcherText({ name: 'job', value: 'api.*', isRegex: true, isEqual: true })).toBe('job=~"api.*"');
    expect(matcherText({ name: 'env', value: 'dev', isRegex: false, isEqual: false })).toBe('env!="dev"');
    expect(matcherText({ name: 'env', value: 'd.*', isRegex: true, isEqual: false })).toBe('env!~"d.*"');
  });

  it('since', () => {
    const now = 10 * 86400_000;
    expect(since(null, now)).toBe('—');
    expect(since(now - 42_000, now)).toBe('42 s');
    expect(since(now - 12 * 60_000, now)).toBe('12 min');
    expect(since(now - (3 * 3600 + 5 * 60) * 1000, now)).toBe('3 h 05 min');
    expect(since(now - (2 * 86400 + 4 * 3600) * 1000, now)).toBe('2 d 4 h');
  });
});
