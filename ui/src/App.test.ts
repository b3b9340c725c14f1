import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { fakeBackend } from './test/backend';
import { byId } from './test/dom';
import App from './App.svelte';

const SETTINGS = { theme: 'light', schedulesPaused: true, notifyOnFailure: true, startAtLogin: false };

function backend(): ReturnType<typeof fakeBackend> {
  return fakeBackend({
    get_settings: () => SETTINGS,
    get_app_info: () => ({ version: '0.1.0', dataDir: '/d', logDir: '/l', keychain: 'Secret Service', demo: true }),
    get_dashboard: () => ({ connections: 0, jobs: 0, enabledJobs: 0, running: [], recentRuns: [], failedLast24h: 0, schedulesPaused: true }),
    list_connections: () => [],
    list_jobs: () => [],
    list_job_kinds: () => [],
    list_runs: () => [],
  });
}

describe('App shell', () => {
  it('navigates with the sidebar buttons and moves focus to the new screen', async () => {
    backend();
    const user = userEvent.setup();
    render(App);
    expect(await screen.findByRole('heading', { level: 1, name: 'Dashboard' })).toBeInTheDocument();
    for (const [id, title] of [
      ['nav-connections', 'Connections'],
      ['nav-jobs', 'Jobs'],
      ['nav-runs', 'Runs'],
      ['nav-settings', 'Settings'],
      ['nav-dashboard', 'Dashboard'],
    ] as const) {
      await user.click(byId(id));
      const heading = await screen.findByRole('heading', { level: 1, name: title });
      expect(byId(id)).toHaveAttribute('aria-current', 'page');
      await waitFor(() => expect(heading).toHaveFocus());
    }
    expect(window.location.hash).toBe('#/dashboard');
  });

  it('applies the saved theme and shows that schedules are paused', async () => {
    backend();
    render(App);
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('light'));
    expect(await screen.findByText('Schedules paused')).toBeInTheDocument();
    expect(await screen.findByText('Version 0.1.0')).toBeInTheDocument();
    expect(await screen.findByText('Demo data')).toBeInTheDocument();
  });
});
