// @vitest-environment jsdom
import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../lib/bindings/ProgressEvent';
import { applyProgressEvent, initialProgress } from '../lib/progress';
import ErrorBanner from './ErrorBanner.svelte';
import RebootProgress from './RebootProgress.svelte';

describe('RebootProgress', () => {
  it('renders one row per step with its elapsed seconds, the last one current while running', () => {
    const events = [
      { action_id: 1, elapsed_ms: 4, step: 'connecting', host: 'web-1' },
      { action_id: 1, elapsed_ms: 1450, step: 'connection-dropped' },
      { action_id: 1, elapsed_ms: 1500, step: 'waiting-for-host', attempt: 1, retry_in_ms: 2300, reason: 'refused' },
    ] as ProgressEvent[];
    const progress = events.reduce(applyProgressEvent, initialProgress());
    render(RebootProgress, { progress, running: true });
    const rows = screen.getAllByTestId('progress-step');
    expect(rows.map((r) => r.dataset.step)).toEqual(['connecting', 'connection-dropped', 'waiting-for-host']);
    expect(rows[1].textContent).toContain('1.4 s');
    expect(rows[2].textContent).toContain('attempt 1: refused; next try in 2.3 s');
    expect(rows[2].classList.contains('current')).toBe(true);
    expect(rows[0].classList.contains('current')).toBe(false);
  });
});

describe('ErrorBanner', () => {
  it('shows the machine code, then the message', () => {
    render(ErrorBanner, { error: { code: 'host-key-changed', message: 'REFUSED: the host key of db-1 changed' } });
    const banner = screen.getByTestId('error');
    expect(banner.dataset.code).toBe('host-key-changed');
    expect(banner.textContent).toContain('host-key-changed: REFUSED: the host key of db-1 changed');
    expect(banner.getAttribute('role')).toBe('alert');
  });
});
