// @vitest-environment jsdom
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IntentConfirmation } from '../lib/bindings/IntentConfirmation';
import IntentConfirm from './IntentConfirm.svelte';

afterEach(() => clearMocks());

const LINK = 'paaf://intent/eyJ2IjoxfQ.c2ln';

const drain: IntentConfirmation = {
  intent_id: 'i-1',
  alert: 'CheckoutErrors',
  labels: { service: 'checkout-api' },
  playbook: 'checkout',
  kind: 'runbook',
  target: 'web-2',
  action: 'runbook __drain on web-2',
  expires_at_ms: 1_800_000_000_000,
  typed_name: '__drain',
  incident: 4,
  already: null,
  claim_unknown: null,
};

describe('IntentConfirm', () => {
  it('says who already acted and the first result before Run, and offers no Run', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'open_intent')
        return {
          ...drain,
          typed_name: null,
          already: { first: false, device: 'alice-phone', claimed_at: '2026-12-07T23:00:00Z', result: { state: 'succeeded', summary: 'web-2 rebooted' } },
        };
    });
    render(IntentConfirm, { link: LINK, onclose: () => {} });
    await vi.waitFor(() =>
      expect(screen.getByTestId('intent-already').textContent).toContain('Already done by alice-phone at 2026-12-07T23:00:00Z: succeeded: web-2 rebooted'),
    );
    expect(screen.queryByTestId('intent-run')).toBeNull();
    expect(screen.getByTestId('intent-close').textContent).toBe('Close');
    expect(calls).toEqual(['open_intent']);
  });

  it('says when the relay could not be asked, and still offers Run', async () => {
    mockIPC((cmd) => {
      if (cmd === 'open_intent') return { ...drain, typed_name: null, claim_unknown: 'paaf-relay is unreachable' };
    });
    render(IntentConfirm, { link: LINK, onclose: () => {} });
    await vi.waitFor(() => expect(screen.getByTestId('intent-claim-unknown').textContent).toContain('paaf-relay is unreachable'));
    expect((screen.getByTestId('intent-run') as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows the verified action, wants a dangerous runbook typed, then runs it once through the core', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'open_intent') return drain;
      if (cmd === 'execute_intent') return { outcome: 'ran', intent_id: 'i-1', state: 'succeeded', summary: 'runbook __drain on web-2: exit code 0' };
    });
    render(IntentConfirm, { link: LINK, onclose: () => {} });
    await vi.waitFor(() => expect(screen.getByTestId('intent-action').textContent).toContain('runbook on web-2: runbook __drain on web-2'));
    expect(screen.getByTestId('intent-alert').textContent).toBe('CheckoutErrors (service=checkout-api)');
    expect(screen.getByTestId('intent-incident').textContent).toBe('incident #4');
    expect(calls).toEqual([['open_intent', { link: LINK }]]);

    const run = screen.getByTestId('intent-run') as HTMLButtonElement;
    expect(run.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('intent-typed'), { target: { value: '__dra' } });
    expect(run.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('intent-typed'), { target: { value: '__drain' } });
    expect(run.disabled).toBe(false);
    await fireEvent.click(run);
    await vi.waitFor(() => expect(screen.getByTestId('intent-outcome').textContent).toContain('succeeded: runbook __drain on web-2: exit code 0'));
    expect(calls[1]).toEqual(['execute_intent', { link: LINK, confirmation: { kind: 'typed', value: '__drain' } }]);
    expect(screen.queryByTestId('intent-run')).toBeNull();
  });

  it('says who acted first when another device claimed the intent', async () => {
    mockIPC((cmd) => {
      if (cmd === 'open_intent') return { ...drain, typed_name: null, kind: 'reboot', action: 'reboot web-2', incident: null };
      if (cmd === 'execute_intent')
        return {
          outcome: 'already-acted',
          intent_id: 'i-1',
          claim: { first: false, device: 'alice-phone', claimed_at: '2026-12-07T23:00:00Z', result: { state: 'succeeded', summary: 'web-2 rebooted' } },
        };
    });
    render(IntentConfirm, { link: LINK, onclose: () => {} });
    await vi.waitFor(() => expect(screen.getByTestId('intent-incident').textContent).toBe('the journal (no incident open)'));
    await fireEvent.click(screen.getByTestId('intent-run'));
    await vi.waitFor(() =>
      expect(screen.getByTestId('intent-outcome').textContent).toContain('Not run here: alice-phone acted first at 2026-12-07T23:00:00Z'),
    );
    expect(screen.getByTestId('intent-outcome').textContent).toContain('(succeeded: web-2 rebooted)');
  });

  it('shows a forged intent as the refusal, with nothing to run', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      throw { code: 'auth-failed', message: 'the intent\u2019s signature does not verify against the pinned relay key: it was changed or forged' };
    });
    render(IntentConfirm, { link: LINK, onclose: () => {} });
    const banner = await screen.findByTestId('error');
    expect(banner.dataset.code).toBe('auth-failed');
    expect(banner.textContent).toContain('forged');
    expect(screen.queryByTestId('intent-run')).toBeNull();
    expect(calls).toEqual(['open_intent']);
  });
});
