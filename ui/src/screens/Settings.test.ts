import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { AppSettings } from '../lib/bindings/AppSettings';
import { live } from '../lib/live.svelte';
import { fakeBackend, reject } from '../test/backend';
import Settings from './Settings.svelte';

const SETTINGS: AppSettings = { theme: 'system', schedulesPaused: false, notifyOnFailure: true, startAtLogin: false };
const INFO = { version: '0.1.0', dataDir: '/home/ada/.local/share/crosswalk', logDir: '/home/ada/.local/state/crosswalk', keychain: 'Secret Service', demo: false };

describe('Settings', () => {
  it('applies and saves the theme at once', async () => {
    const backend = fakeBackend({ get_settings: () => SETTINGS, get_app_info: () => INFO, save_settings: (args) => args.settings });
    const user = userEvent.setup();
    render(Settings);
    await user.click(await screen.findByLabelText('Dark'));
    expect(document.documentElement.dataset.theme).toBe('dark');
    await waitFor(() => expect(backend.callsOf('save_settings')).toEqual([{ settings: { ...SETTINGS, theme: 'dark' } }]));
    expect(await screen.findByText('Saved.')).toBeInTheDocument();
    await user.click(screen.getByLabelText('Same as the system'));
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it('pauses schedules and tells the rest of the app', async () => {
    const backend = fakeBackend({ get_settings: () => SETTINGS, get_app_info: () => INFO, save_settings: (args) => args.settings });
    const user = userEvent.setup();
    render(Settings);
    await user.click(await screen.findByLabelText('Pause all schedules'));
    await waitFor(() => expect(backend.callsOf('save_settings')).toHaveLength(1));
    expect(backend.callsOf('save_settings')[0]?.settings).toMatchObject({ schedulesPaused: true });
    await waitFor(() => expect(live.schedulesPaused).toBe(true));
  });

  it('puts a failed change back and says why', async () => {
    fakeBackend({
      get_settings: () => SETTINGS,
      get_app_info: () => INFO,
      save_settings: reject({ code: 'unknown', message: 'Could not write settings.json', fix: 'Check the data folder is writable', fields: [] }),
    });
    const user = userEvent.setup();
    render(Settings);
    const checkbox = await screen.findByLabelText('Start Crosswalk when I sign in');
    await user.click(checkbox);
    expect(await screen.findByRole('alert')).toHaveTextContent('Fix: Check the data folder is writable');
    expect(checkbox).not.toBeChecked();
  });

  it('shows where things are kept', async () => {
    fakeBackend({ get_settings: () => SETTINGS, get_app_info: () => INFO });
    render(Settings);
    expect(await screen.findByText('/home/ada/.local/share/crosswalk')).toBeInTheDocument();
    expect(screen.getByText('Secret Service')).toBeInTheDocument();
    expect(screen.getByText('0.1.0')).toBeInTheDocument();
  });
});
