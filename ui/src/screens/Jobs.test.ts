import { emit } from '@tauri-apps/api/event';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { JobForm } from '../lib/bindings/JobForm';
import { startLive } from '../lib/live.svelte';
import { fakeBackend, reject } from '../test/backend';
import { nav } from '../lib/nav.svelte';
import { notices } from '../lib/notices.svelte';
import { byId } from '../test/dom';
import { counts, dynamicsJobView, entraJobView, jobView, linkRow, runEvent, runSummary } from '../test/fixtures';
import Jobs from './Jobs.svelte';

const KINDS = [
  { kind: 'entra_sync', label: 'Entra Sync' },
  { kind: 'connected_items', label: 'Connected items' },
];

function row(name: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-job="${name}"]`);
  if (element === null) throw new Error(`no row for ${name}`);
  return element;
}

describe('Jobs screen', () => {
  it('lists jobs with kind, schedule, switch and last run', async () => {
    fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [jobView({ lastRun: runSummary({ id: 9, status: 'completed_with_errors' }) })],
    });
    render(Jobs);
    await screen.findByText('entra-users');
    const entry = row('entra-users');
    expect(entry).toHaveTextContent('Entra Sync');
    expect(entry).toHaveTextContent('Hourly');
    expect(within(entry).getByRole('switch')).toBeChecked();
    expect(entry).toHaveTextContent('Completed with errors');
    expect(within(entry).getByRole('link')).toHaveAttribute('href', '#/runs/9');
  });

  it('starts a run with Sync now and follows its progress live', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [jobView()],
      run_job_now: () => 41,
    });
    await startLive();
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('entra-users');
    backend.set({ list_jobs: () => [jobView({ runningRunId: 41 })] });
    await user.click(within(row('entra-users')).getByRole('button', { name: 'Sync entra-users now' }));
    expect(backend.callsOf('run_job_now')).toEqual([{ name: 'entra-users' }]);
    await waitFor(() => expect(row('entra-users')).toHaveAttribute('data-running', 'true'));
    expect(within(row('entra-users')).getByRole('button', { name: 'Cancel run of entra-users' })).toBeInTheDocument();

    await emit('run:progress', { runId: 41, jobName: 'entra-users', done: 30, total: 120, message: 'Reading users' });
    const bar = await within(row('entra-users')).findByRole('progressbar', { name: 'Progress of entra-users' });
    await waitFor(() => expect(bar).toHaveAttribute('value', '30'));
    expect(bar).toHaveAttribute('max', '120');
    expect(row('entra-users')).toHaveTextContent('30 / 120 (25%)');
    expect(row('entra-users')).toHaveTextContent('Reading users');

    backend.set({ list_jobs: () => [jobView({ lastRun: runSummary({ id: 41 }) })] });
    await emit('run:changed', { runId: 41, jobName: 'entra-users', status: 'succeeded' });
    await waitFor(() => expect(row('entra-users')).toHaveAttribute('data-running', 'false'));
    expect(row('entra-users')).toHaveTextContent('Succeeded');
  });

  it('cancels a running run', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [jobView({ runningRunId: 5 })],
      cancel_run: () => true,
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('entra-users');
    await user.click(screen.getByRole('button', { name: 'Cancel run of entra-users' }));
    expect(backend.callsOf('cancel_run')).toEqual([{ runId: 5 }]);
  });

  it('turns a job off with its switch', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [jobView()],
      save_job: (args) => jobView({ enabled: (args.form as JobForm).enabled }),
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('entra-users');
    await user.click(within(row('entra-users')).getByRole('switch'));
    await waitFor(() => expect(backend.callsOf('save_job')).toHaveLength(1));
    expect(backend.callsOf('save_job')[0]?.form).toMatchObject({ name: 'entra-users', enabled: false, originalName: 'entra-users' });
  });

  it('adds a job, checking the settings JSON as it is typed', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [],
      save_job: () => jobView({ name: 'devices' }),
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('No jobs yet');
    await user.click(byId('add-job'));
    await user.type(screen.getByLabelText(/^Name/), 'devices');
    await user.selectOptions(screen.getByLabelText(/^Kind/), 'entra_sync');
    await user.selectOptions(screen.getByLabelText(/^Schedule/), 'custom');
    const minutes = screen.getByLabelText('Every (minutes)');
    await user.clear(minutes);
    await user.type(minutes, '45');
    const settings = screen.getByLabelText('Settings (JSON)');
    await user.clear(settings);
    await user.type(settings, '{{"source": ');
    expect(settings).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText(/Not valid JSON/)).toBeInTheDocument();
    await user.click(byId('job-save'));
    expect(backend.callsOf('save_job')).toEqual([]);

    await user.type(settings, '"contoso-entra"}');
    expect(settings).not.toHaveAttribute('aria-invalid');
    await user.click(byId('job-save'));
    await waitFor(() => expect(backend.callsOf('save_job')).toHaveLength(1));
    expect(backend.callsOf('save_job')[0]).toEqual({
      form: {
        originalName: null,
        name: 'devices',
        kind: 'entra_sync',
        schedule: { every_minutes: 45 },
        enabled: true,
        settingsJson: '{"source": "contoso-entra"}',
      },
    });
  });

  it('deletes a job after confirmation', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [jobView()],
      delete_job: () => null,
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('entra-users');
    await user.click(screen.getByRole('button', { name: 'Delete entra-users' }));
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Delete job' }));
    await waitFor(() => expect(backend.callsOf('delete_job')).toEqual([{ name: 'entra-users' }]));
  });

  it('previews an Entra Sync job and opens the dry run', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [entraJobView(), jobView({ name: 'health' })],
      preview_job: () => 77,
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('demo-entra-to-assets');
    // Only Entra Sync jobs have a plan to preview.
    expect(within(row('health')).queryByRole('button', { name: /Preview/ })).toBeNull();
    await user.click(within(row('demo-entra-to-assets')).getByRole('button', { name: 'Preview demo-entra-to-assets' }));
    expect(backend.callsOf('preview_job')).toEqual([{ name: 'demo-entra-to-assets' }]);
    await waitFor(() => expect(nav.route).toMatchObject({ screen: 'runs', runId: 77 }));
  });

  it('shows why a preview could not start', async () => {
    fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [entraJobView()],
      preview_job: reject({ code: 'conflict', message: 'Job demo-entra-to-assets is already running.', fix: null, fields: [] }),
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('demo-entra-to-assets');
    await user.click(screen.getByRole('button', { name: 'Preview demo-entra-to-assets' }));
    await waitFor(() =>
      expect(notices.items.map((item) => item.message)).toContain(
        'Could not preview “demo-entra-to-assets”: Job demo-entra-to-assets is already running.',
      ),
    );
    expect(nav.route.screen).not.toBe('runs');
  });

  it('offers Confirm retirements when the last run held some back, then Sync now', async () => {
    const heldRun = runSummary({ id: 12, jobName: 'demo-entra-to-assets', totals: counts({ unchanged: 2500, skipped: 1 }) });
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [entraJobView({ lastRun: heldRun }, { retire: { mode: 'delete', delete_after_days: 14 } })],
      list_run_events: () => ({
        events: [
          runEvent({
            objectKind: 'user',
            objectId: '',
            objectLabel: 'users',
            action: 'skipped',
            level: 'warn',
            message:
              'Held back: 300 of 2500 users (12%) are gone from Entra, more than the 10% this job may retire in one run. Nothing was retired.',
            fix: 'If the removals are intended, confirm them: click "Confirm retirements" on the job.',
          }),
        ],
        total: 1,
      }),
      confirm_retirements: () => null,
      run_job_now: () => 13,
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('demo-entra-to-assets');
    const button = await within(row('demo-entra-to-assets')).findByRole('button', {
      name: 'Confirm retirements of demo-entra-to-assets',
    });
    expect(backend.callsOf('list_run_events')).toEqual([
      { runId: 12, query: { level: null, action: 'skipped', objectKind: null, text: 'Held back:', offset: 0, limit: 20 } },
    ]);
    expect(row('demo-entra-to-assets')).toHaveAttribute('data-held-back', 'true');
    expect(row('demo-entra-to-assets')).toHaveTextContent('Retirements held back');

    await user.click(button);
    const dialog = screen.getByRole('alertdialog');
    expect(dialog).toHaveTextContent('300 of 2500 users (12%) are gone from Entra');
    expect(dialog).toHaveTextContent('deleted 14 days later');
    await user.click(within(dialog).getByRole('button', { name: 'Confirm retirements' }));
    await waitFor(() => expect(backend.callsOf('confirm_retirements')).toEqual([{ name: 'demo-entra-to-assets' }]));

    const offer = await screen.findByRole('dialog', { name: 'Retirements confirmed' });
    expect(row('demo-entra-to-assets')).not.toHaveAttribute('data-held-back');
    await user.click(within(offer).getByRole('button', { name: /Sync now/ }));
    await waitFor(() => expect(backend.callsOf('run_job_now')).toEqual([{ name: 'demo-entra-to-assets' }]));
  });

  it('does not look for held-back retirements in runs that skipped nothing', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [entraJobView({ lastRun: runSummary({ id: 3, totals: counts({ created: 5 }) }) })],
    });
    render(Jobs);
    await screen.findByText('demo-entra-to-assets');
    expect(backend.callsOf('list_run_events')).toEqual([]);
    expect(screen.queryByRole('button', { name: /Confirm retirements/ })).toBeNull();
  });

  it('opens the links panel of a Smart Connected Item, running or not', async () => {
    const backend = fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [dynamicsJobView({ runningRunId: 5 }), entraJobView()],
      dynamics_link_page: () => ({ rows: [linkRow({ managed: 'auto' })], offset: 0, matching: 1, total: 1 }),
      dynamics_link_names: () => ({ issues: [], records: [], issuesError: null, recordsError: null }),
    });
    const user = userEvent.setup();
    render(Jobs);
    await screen.findByText('cases');
    expect(within(row('demo-entra-to-assets')).queryByRole('button', { name: /Links of/ })).toBeNull();
    await user.click(within(row('cases')).getByRole('button', { name: 'Links of cases' }));
    const panel = await screen.findByRole('dialog', { name: 'Links of “cases”' });
    await within(panel).findByRole('heading', { name: 'Links (1)' });
    expect(backend.callsOf('dynamics_link_page')).toEqual([{ job: 'cases', query: { filter: '', offset: 0, limit: 50 } }]);
    await user.click(within(panel).getByRole('button', { name: 'Done' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('keeps one labelled primary action per row and the others as named icon buttons', async () => {
    fakeBackend({
      list_job_kinds: () => KINDS,
      list_jobs: () => [dynamicsJobView(), entraJobView(), dynamicsJobView({ name: 'busy', runningRunId: 5 })],
    });
    render(Jobs);
    await screen.findByText('cases');
    const actionsOf = (name: string): HTMLElement => {
      const cell = row(name).querySelector<HTMLElement>('td.cell-actions');
      if (cell === null) throw new Error(`no actions for ${name}`);
      return cell;
    };
    // One text button (Sync now, or Cancel while running); the rest are icon buttons with a
    // name for screen readers and a tooltip, so the row fits the window.
    for (const [name, primary, icons] of [
      ['cases', 'sync-now', ['links', 'edit', 'delete']],
      ['demo-entra-to-assets', 'sync-now', ['preview', 'edit', 'delete']],
      ['busy', 'cancel', ['links', 'edit', 'delete']],
    ] as const) {
      const cell = actionsOf(name);
      const textButtons = [...cell.querySelectorAll<HTMLElement>('button.button')];
      expect(textButtons.map((b) => b.dataset.action)).toEqual([primary]);
      const iconButtons = [...cell.querySelectorAll<HTMLButtonElement>('button.icon-button')];
      expect(iconButtons.map((b) => b.dataset.action)).toEqual(icons);
      for (const button of iconButtons) {
        expect(button).toHaveAccessibleName(new RegExp(name));
        expect(button.title).not.toBe('');
        expect(button.textContent.trim()).toBe('');
      }
    }
    expect(within(actionsOf('busy')).getByRole('button', { name: 'Delete busy' })).toBeDisabled();
    expect(document.querySelector('table.jobs-table')).not.toBeNull();
  });
});
