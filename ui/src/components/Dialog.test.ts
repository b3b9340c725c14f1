import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { fakeBackend, reject } from '../test/backend';
import ConfirmDialog from './ConfirmDialog.svelte';

describe('Dialog (through ConfirmDialog)', () => {
  it('takes focus, keeps Tab inside, closes on Escape and gives focus back', async () => {
    fakeBackend();
    const user = userEvent.setup();
    const opener = document.createElement('button');
    opener.textContent = 'Delete';
    document.body.appendChild(opener);
    opener.focus();

    const oncancel = vi.fn();
    const { unmount } = render(ConfirmDialog, {
      title: 'Delete job?',
      message: 'The job will be removed.',
      confirmLabel: 'Delete job',
      onconfirm: vi.fn(() => Promise.resolve()),
      oncancel,
    });
    const dialog = screen.getByRole('alertdialog');
    expect(dialog).toHaveAccessibleName('Delete job?');
    expect(dialog).toHaveAccessibleDescription('The job will be removed.');
    await vi.waitFor(() => expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus());

    await user.tab();
    expect(screen.getByRole('button', { name: 'Delete job' })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'Close' })).toHaveFocus();
    await user.tab({ shift: true });
    expect(screen.getByRole('button', { name: 'Delete job' })).toHaveFocus();

    await user.keyboard('{Escape}');
    expect(oncancel).toHaveBeenCalledOnce();
    unmount();
    expect(opener).toHaveFocus();
    opener.remove();
  });

  it('shows a failed action inside the dialog and stays open', async () => {
    fakeBackend();
    const user = userEvent.setup();
    const oncancel = vi.fn();
    render(ConfirmDialog, {
      title: 'Delete connection?',
      message: 'It will be removed.',
      confirmLabel: 'Delete connection',
      onconfirm: reject({ code: 'conflict', message: 'Two jobs use it.', fix: 'Change those jobs first.', fields: [] }),
      oncancel,
    });
    await user.click(screen.getByRole('button', { name: 'Delete connection' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Two jobs use it.');
    expect(alert).toHaveTextContent('Fix: Change those jobs first.');
    expect(oncancel).not.toHaveBeenCalled();
  });
});
