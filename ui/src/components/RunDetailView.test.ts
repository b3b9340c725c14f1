import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { EventQuery } from '../lib/bindings/EventQuery';
import type { RunEventView } from '../lib/bindings/RunEventView';
import { fakeBackend } from '../test/backend';
import { counts, runEvent, runSummary } from '../test/fixtures';
import RunDetailView from './RunDetailView.svelte';

function detail(): unknown {
  return {
    summary: runSummary({ id: 7, status: 'completed_with_errors', totals: counts({ created: 1, updated: 1, failed: 1 }) }),
    counts: { user: counts({ created: 1, updated: 1 }), device: counts({ failed: 1 }) },
    requests: { graph: { requests: 10, throttled: 1, retries: 2 }, assets: { requests: 4, throttled: 0, retries: 0 } },
  };
}

const EVENTS: RunEventView[] = Array.from({ length: 120 }, (_, index) =>
  runEvent({
    id: index + 1,
    objectLabel: `User ${index + 1}`,
    message: index === 0 ? 'Could not write "Ada", the schema changed' : `Event ${index + 1}`,
    level: index === 0 ? 'error' : 'info',
    fix: index === 0 ? 'Add the Department attribute to the object type' : null,
    before: index === 0 ? { title: 'Analyst' } : null,
    after: index === 0 ? { title: 'Engineer' } : { displayName: `User ${index + 1}` },
  }),
);

function page(query: EventQuery): { events: RunEventView[]; total: number } {
  const matching = EVENTS.filter(
    (event) => (query.level === null || event.level === query.level) && (query.text === null || event.message.includes(query.text)),
  );
  const offset = query.offset ?? 0;
  return { events: matching.slice(offset, offset + (query.limit ?? 50)), total: matching.length };
}

describe('RunDetailView', () => {
  it('shows the run, its counts per kind and requests per system', async () => {
    fakeBackend({ get_run: detail, list_run_events: (args) => page(args.query as EventQuery) });
    render(RunDetailView, { runId: 7, backHref: '#/runs' });
    expect(await screen.findByText('Completed with errors')).toBeInTheDocument();
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Run #7 · entra-users');
    expect(screen.getByRole('row', { name: /^device/ })).toHaveTextContent('1');
    expect(screen.getByRole('row', { name: /^graph/ })).toHaveTextContent('1012');
  });

  it('pages through events and highlights fixes and changes', async () => {
    const backend = fakeBackend({ get_run: detail, list_run_events: (args) => page(args.query as EventQuery) });
    const user = userEvent.setup();
    render(RunDetailView, { runId: 7, backHref: '#/runs' });
    expect(await screen.findByText('Showing 1–50 of 120 events')).toBeInTheDocument();
    const first = document.querySelector('[data-event-id="1"]');
    expect(first).toHaveTextContent('Fix: Add the Department attribute to the object type');
    expect(first?.querySelector('del')).toHaveTextContent('Analyst');
    expect(first?.querySelector('ins')).toHaveTextContent('Engineer');
    expect(first).toHaveTextContent('Error');

    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('Showing 51–100 of 120 events')).toBeInTheDocument();
    expect(backend.callsOf('list_run_events').at(-1)).toEqual({
      runId: 7,
      query: { level: null, action: null, objectKind: null, text: null, offset: 50, limit: 50 },
    });
  });

  it('shows a conflict as both values with their change times, the winner and why', async () => {
    const conflict = runEvent({
      id: 1,
      level: 'warn',
      objectKind: 'conflict',
      objectId: 'SUP-1',
      objectLabel: 'Printer offline',
      action: 'info',
      message: "Summary changed in both Jira and Dynamics since the last sync; Dynamics' value won: it changed later.",
      before: { dynamics: 'Printer offline (Dynamics)', jira: 'Printer offline (Jira)' },
      after: {
        winner: 'dynamics',
        compared: {
          jira: { at: '2025-03-01T09:00:01Z', source: 'changelog' },
          dynamics: { at: '2025-03-01T09:00:02Z', source: 'modifiedon' },
        },
        why: "Dynamics' value won: it changed later.",
      },
    });
    fakeBackend({ get_run: detail, list_run_events: () => ({ events: [conflict], total: 1 }) });
    render(RunDetailView, { runId: 7, backHref: '#/runs' });
    await screen.findByText('Showing 1–1 of 1 events');
    const row = document.querySelector('[data-event-id="1"]');
    const jira = row?.querySelector('[data-side="jira"]');
    const dynamics = row?.querySelector('[data-side="dynamics"]');
    expect(jira).toHaveTextContent(/^Jira: Printer offline \(Jira\) \(changed .+, Jira changelog\)$/);
    expect(dynamics).toHaveTextContent(/^Dynamics: Printer offline \(Dynamics\) \(changed .+, record modified on\) won$/);
    expect(jira?.querySelector('time')).toHaveAttribute('datetime', '2025-03-01T09:00:01Z');
    expect(dynamics).toHaveClass('conflict-won');
    expect(jira).not.toHaveClass('conflict-won');
    expect(row?.querySelector('.conflict-why')).toHaveTextContent("Dynamics' value won: it changed later.");
    // Not the generic diff, which would show both values struck through as removed.
    expect(row?.querySelector('del')).toBeNull();
  });

  it('filters by level and text, starting again from the first page', async () => {
    const backend = fakeBackend({ get_run: detail, list_run_events: (args) => page(args.query as EventQuery) });
    const user = userEvent.setup();
    render(RunDetailView, { runId: 7, backHref: '#/runs' });
    await screen.findByText('Showing 1–50 of 120 events');
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByText('Showing 51–100 of 120 events');

    await user.selectOptions(screen.getByLabelText('Level'), 'error');
    expect(await screen.findByText('Showing 1–1 of 1 matching events')).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('Level'), '');
    await user.type(screen.getByLabelText('Search'), 'Event 11');
    await waitFor(() =>
      expect(backend.callsOf('list_run_events').at(-1)?.query).toMatchObject({ text: 'Event 11', offset: 0 }),
    );
    expect(await screen.findByText(/of 11 matching events/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    expect(await screen.findByText('Showing 1–50 of 120 events')).toBeInTheDocument();
  });

  it('exports every matching event as CSV, across pages', async () => {
    const backend = fakeBackend({ get_run: detail, list_run_events: (args) => page(args.query as EventQuery) });
    const blobs: Blob[] = [];
    Object.assign(URL, {
      createObjectURL: vi.fn((blob: Blob) => {
        blobs.push(blob);
        return 'blob:csv';
      }),
      revokeObjectURL: vi.fn(),
    });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    const user = userEvent.setup();
    render(RunDetailView, { runId: 7, backHref: '#/runs' });
    await screen.findByText('Showing 1–50 of 120 events');
    await user.click(screen.getByRole('button', { name: 'Export CSV' }));
    await waitFor(() => expect(click).toHaveBeenCalledOnce());
    const exportCalls = backend.callsOf('list_run_events').filter((call) => (call.query as EventQuery).limit === 500);
    expect(exportCalls).toHaveLength(1);
    const text = new TextDecoder().decode(await blobs[0]?.arrayBuffer());
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('time,level,object_kind,object_id,object_label,action,message,fix,before,after');
    expect(lines).toHaveLength(1 + 120 + 1);
    expect(lines[1]).toContain('"Could not write ""Ada"", the schema changed"');
  });
});
