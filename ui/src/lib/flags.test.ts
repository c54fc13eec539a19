import { describe, expect, it } from 'vitest';
import type { BackendFlags } from './bindings/BackendFlags';
import type { Flag } from './bindings/Flag';
import { changeSummary, flagConfirmRequest, flagCount, flagRows, targetOf, undoConfirmRequest } from './flags';

const flag = (backend: string, key: string, tags: string[] = []): Flag => ({
  backend,
  project: 'default',
  key,
  name: null,
  description: null,
  tags,
  environments: [
    { name: 'production', enabled: true },
    { name: 'staging', enabled: false },
  ],
  url: null,
});

const backends: BackendFlags[] = [
  { backend: 'prod', flags: [flag('prod', 'new-checkout', ['checkout']), flag('prod', 'dark-mode')], error: null },
  { backend: 'ld', flags: [], error: { code: 'auth-failed', message: 'LaunchDarkly `ld`: the token was refused (401)' } },
  { backend: 'envs', flags: [flag('envs', 'FEATURE_SEARCH')], error: null },
];

describe('flagRows', () => {
  it('lists every service in order; a failing service stays as a row with its error, whatever the search', () => {
    const all = flagRows(backends, '');
    expect(all.map((r) => (r.kind === 'flag' ? r.flag.key : `error:${r.backend}:${r.error.code}`))).toEqual([
      'new-checkout',
      'dark-mode',
      'error:ld:auth-failed',
      'FEATURE_SEARCH',
    ]);
    expect(flagCount(backends)).toBe(3);
    const some = flagRows(backends, '  CHECKOUT ');
    expect(some.map((r) => (r.kind === 'flag' ? r.flag.key : 'error'))).toEqual(['new-checkout', 'error']);
    // service names and tags match too
    expect(flagRows(backends, 'envs').filter((r) => r.kind === 'flag')).toHaveLength(1);
  });
});

describe('flag change words', () => {
  it('the confirmation names the state read now and the environment in bold', () => {
    const target = targetOf(flag('prod', 'new-checkout'), 'production');
    expect(target).toEqual({ backend: 'prod', project: 'default', key: 'new-checkout', environment: 'production' });
    const r = flagConfirmRequest(target, { enabled: true, version: '7', guard: 'conditional' }, false);
    expect(r.title).toBe('Turn new-checkout off?');
    expect(r.danger).toBe(true);
    expect(r.confirmLabel).toBe('Turn off in production');
    const body = r.body as (string | { strong: string })[];
    expect(body).toContainEqual({ strong: 'production' });
    const text = body.map((p) => (typeof p === 'string' ? p : `**${p.strong}**`)).join('');
    expect(text).toContain('new-checkout is ON in **production** right now');
    expect(text).toContain('turned OFF there');
    expect(text).toContain('only if nobody changes it before');
    const on = flagConfirmRequest(target, { enabled: false, version: null, guard: 'best-effort' }, true);
    expect(on.danger).toBe(false);
    const onText = (on.body as (string | { strong: string })[]).filter((p) => typeof p === 'string').join('');
    expect(onText).toContain('best effort');
  });

  it('a change reads "was ON → OFF"; its undo goes back to the state before', () => {
    const change = {
      action_id: 42,
      backend: 'prod',
      project: 'default',
      key: 'new-checkout',
      environment: 'production',
      was_enabled: true,
      enabled: false,
    };
    expect(changeSummary(change)).toBe('was ON → OFF');
    const undo = undoConfirmRequest(change);
    expect(undo.title).toBe('Undo: turn new-checkout on again?');
    expect(undo.body).toContainEqual({ strong: 'production' });
  });
});
