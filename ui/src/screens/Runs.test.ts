import { emit } from '@tauri-apps/api/event';
import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { startLive } from '../lib/live.svelte';
import { nav } from '../lib/nav.svelte';
import { fakeBackend } from '../test/backend';
import { counts, jobView, runSummary } from '../test/fixtures';
import Runs from './Runs.svelte';

const RUNS = [
  runSummary({ id: 3, jobName: 'entra-users', status: 'failed', totals: counts({ failed: 4 }), startedAt: '2025-11-20T12:00:00Z' }),
  runSummary({ id: 2, jobName: 'cases', status: 'succeeded', startedAt: '2025-11-20T11:00:00Z' }),
  runSummary({ id: 1, jobName: 'entra-users', status: 'succeeded', dryRun: true, startedAt: '2025-11-20T10:00:00Z' }),
];

describe('Runs screen', () => {
  it('lists runs with status, totals and a history chart', async () => {
    fakeBackend({ list_runs: () => RUNS, list_jobs: () => [jobView(), jobView({ name: 'cases' })] });
    render(Runs);
    await waitFor(() => expect(document.querySelectorAll('tr[data-run-id]')).toHaveLength(3));
    const failed = document.querySelector('tr[data-run-id="3"]');
    expect(failed).toHaveAttribute('data-status', 'failed');
    expect(failed).toHaveTextContent('Failed');
    expect(document.querySelector('tr[data-run-id="1"]')).toHaveTextContent('Dry run');
    expect(document.querySelectorAll('[data-chart-bar]')).toHaveLength(3);
    expect(screen.getByRole('link', { name: /cases, run #2/ })).toHaveAttribute('href', '#/runs/2');
  });

  it('filters by job', async () => {
    const backend = fakeBackend({ list_runs: () => RUNS, list_jobs: () => [jobView(), jobView({ name: 'cases' })] });
    const user = userEvent.setup();
    render(Runs);
    await waitFor(() => expect(document.querySelectorAll('tr[data-run-id]')).toHaveLength(3));
    expect(backend.callsOf('list_runs')[0]).toEqual({ jobName: null, limit: 100 });
    await user.selectOptions(screen.getByLabelText('Job'), 'cases');
    await waitFor(() => expect(backend.callsOf('list_runs').at(-1)).toEqual({ jobName: 'cases', limit: 100 }));
    expect(nav.route.job).toBe('cases');
  });

  it('reloads when a run finishes', async () => {
    const backend = fakeBackend({ list_runs: () => RUNS, list_jobs: () => [] });
    await startLive();
    render(Runs);
    await waitFor(() => expect(backend.callsOf('list_runs')).toHaveLength(1));
    await emit('run:changed', { runId: 4, jobName: 'cases', status: 'succeeded' });
    await waitFor(() => expect(backend.callsOf('list_runs')).toHaveLength(2));
  });

  it('explains an empty log', async () => {
    fakeBackend({ list_runs: () => [], list_jobs: () => [] });
    render(Runs);
    expect(await screen.findByText('No runs yet')).toBeInTheDocument();
  });
});
