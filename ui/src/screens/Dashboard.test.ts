import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { DashboardView } from '../lib/bindings/DashboardView';
import { nav } from '../lib/nav.svelte';
import { notices } from '../lib/notices.svelte';
import { fakeBackend } from '../test/backend';
import { counts, runSummary, secretExpiry } from '../test/fixtures';
import Dashboard from './Dashboard.svelte';

function dashboard(overrides: Partial<DashboardView> = {}): DashboardView {
  return {
    connections: 2,
    jobs: 1,
    enabledJobs: 1,
    running: [],
    recentRuns: [],
    failedLast24h: 0,
    schedulesPaused: false,
    ...overrides,
  };
}

const SETTINGS = { theme: 'system', schedulesPaused: true, notifyOnFailure: true, startAtLogin: false };

describe('Dashboard', () => {
  it('guides a new admin from the first connection to the first job', async () => {
    fakeBackend({ get_dashboard: () => dashboard({ connections: 0, jobs: 0, enabledJobs: 0 }) });
    const user = userEvent.setup();
    render(Dashboard);
    expect(await screen.findByRole('heading', { name: 'Get started' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Add a connection' }));
    expect(nav.route).toMatchObject({ screen: 'connections', adding: true });
  });

  it('offers the demo to an admin without a tenant', async () => {
    const backend = fakeBackend({
      get_dashboard: () => dashboard({ connections: 0, jobs: 0, enabledJobs: 0 }),
      start_demo: () => null,
    });
    const user = userEvent.setup();
    render(Dashboard);
    await user.click(await screen.findByRole('button', { name: 'Try with demo data' }));
    await waitFor(() => expect(backend.callsOf('start_demo')).toHaveLength(1));
    await waitFor(() => expect(notices.items.some((n) => n.message.includes('opens in a new window'))).toBe(true));
  });

  it('shows counts, running runs with progress, recent runs and failures', async () => {
    fakeBackend({
      get_dashboard: () =>
        dashboard({
          failedLast24h: 2,
          running: [runSummary({ id: 5, status: 'running', finishedAt: null, progressDone: 10, progressTotal: 40 })],
          recentRuns: [runSummary({ id: 4, status: 'failed', totals: counts({ failed: 3 }) })],
        }),
    });
    render(Dashboard);
    await screen.findByText('Running now', { selector: 'h2' });
    expect(screen.queryByRole('heading', { name: 'Get started' })).toBeNull();
    expect(screen.getByRole('progressbar', { name: 'Progress of entra-users' })).toHaveAttribute('value', '10');
    expect(screen.getByText('Failed in the last 24 h').closest('li')).toHaveTextContent('2');
    expect(document.querySelector('tr[data-run-id="4"]')).toHaveTextContent('Failed');
  });

  it('warns about a client secret that expires within 30 days', async () => {
    fakeBackend({
      get_dashboard: () => dashboard(),
      list_secret_expiries: () => [secretExpiry({ daysLeft: 7, threshold: 7 })],
    });
    render(Dashboard);
    const banner = await screen.findByRole('status', { name: 'A client secret expires soon' });
    expect(banner).toHaveTextContent('Client secret of connection contoso-entra expires in 7 days');
  });

  it('says when schedules are paused and resumes them', async () => {
    const backend = fakeBackend({
      get_dashboard: () => dashboard({ schedulesPaused: true }),
      get_settings: () => SETTINGS,
      save_settings: (args) => args.settings,
    });
    const user = userEvent.setup();
    render(Dashboard);
    expect(await screen.findByText('Schedules are paused.')).toBeInTheDocument();
    backend.set({ get_dashboard: () => dashboard() });
    await user.click(screen.getByRole('button', { name: 'Resume schedules' }));
    await waitFor(() => expect(screen.queryByText('Schedules are paused.')).toBeNull());
    expect(backend.callsOf('save_settings')).toEqual([{ settings: { ...SETTINGS, schedulesPaused: false } }]);
  });
});
