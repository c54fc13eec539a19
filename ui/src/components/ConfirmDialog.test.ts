// @vitest-environment jsdom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ConfirmDialog from './ConfirmDialog.svelte';

describe('ConfirmDialog', () => {
  it('a yes/no question: Confirm answers {kind: yes}, Cancel answers nothing else', async () => {
    const onconfirm = vi.fn();
    const oncancel = vi.fn();
    render(ConfirmDialog, { title: 'Reboot web-1?', body: 'It restarts now.', confirmLabel: 'Reboot', onconfirm, oncancel });
    expect(screen.getByTestId('confirm-dialog').textContent).toContain('Reboot web-1?');
    expect(screen.queryByTestId('confirm-input')).toBeNull();
    // the safe choice has the focus
    expect(document.activeElement).toBe(screen.getByTestId('confirm-no'));
    await fireEvent.click(screen.getByTestId('confirm-no'));
    expect(oncancel).toHaveBeenCalledOnce();
    expect(onconfirm).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('confirm-yes'));
    expect(onconfirm).toHaveBeenCalledWith({ kind: 'yes' });
  });

  it('a typed confirmation enables Confirm only for the exact text', async () => {
    const onconfirm = vi.fn();
    render(ConfirmDialog, {
      title: 'Run __wipe?',
      body: 'Dangerous.',
      confirmLabel: 'Run',
      typed: '__wipe',
      danger: true,
      onconfirm,
      oncancel: vi.fn(),
    });
    const input = screen.getByTestId('confirm-input') as HTMLInputElement;
    const yes = screen.getByTestId('confirm-yes') as HTMLButtonElement;
    expect(document.activeElement).toBe(input);
    expect(yes.disabled).toBe(true);
    await fireEvent.input(input, { target: { value: '__wip' } });
    expect(yes.disabled).toBe(true);
    await fireEvent.keyDown(input, { key: 'Enter' });
    expect(onconfirm).not.toHaveBeenCalled();
    await fireEvent.input(input, { target: { value: '__wipe ' } });
    expect(yes.disabled).toBe(true);
    await fireEvent.input(input, { target: { value: '__wipe' } });
    expect(yes.disabled).toBe(false);
    await fireEvent.click(yes);
    expect(onconfirm).toHaveBeenCalledWith({ kind: 'typed', value: '__wipe' });
  });

  it('Escape cancels', async () => {
    const oncancel = vi.fn();
    render(ConfirmDialog, { title: 't', body: 'b', confirmLabel: 'ok', onconfirm: vi.fn(), oncancel });
    await fireEvent.keyDown(screen.getByTestId('confirm-dialog'), { key: 'Escape' });
    expect(oncancel).toHaveBeenCalledOnce();
  });
});

describe('ConfirmDialog body parts', () => {
  it('shows a flag change with the environment in bold', async () => {
    const { flagConfirmRequest } = await import('../lib/flags');
    const r = flagConfirmRequest(
      { backend: 'prod', project: 'default', key: 'new-checkout', environment: 'production' },
      { enabled: true, version: null, guard: 'conditional' },
      false,
    );
    render(ConfirmDialog, { ...r, onconfirm: vi.fn(), oncancel: vi.fn() });
    const body = screen.getByTestId('confirm-dialog').querySelector('#confirm-body')!;
    expect(body.textContent).toContain('new-checkout is ON in production right now');
    expect(body.querySelector('strong')?.textContent).toBe('production');
    expect(screen.getByTestId('confirm-yes').textContent).toBe('Turn off in production');
  });
});
