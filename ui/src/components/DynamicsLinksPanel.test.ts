import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { DynamicsLinkNames } from '../lib/bindings/DynamicsLinkNames';
import type { DynamicsLinkPage } from '../lib/bindings/DynamicsLinkPage';
import type { DynamicsLinkQuery } from '../lib/bindings/DynamicsLinkQuery';
import type { DynamicsLinkRow } from '../lib/bindings/DynamicsLinkRow';
import { notices } from '../lib/notices.svelte';
import { fakeBackend, reject, type FakeBackend } from '../test/backend';
import { byId } from '../test/dom';
import { issueHit, linkPreview, linkRow, recordHit } from '../test/fixtures';
import DynamicsLinksPanel from './DynamicsLinksPanel.svelte';

const AUTO = linkRow({
  jiraKey: 'SUP-1',
  jiraIssueId: '10001',
  recordId: '6f1c2d3e-0000-4000-8000-000000000001',
  managed: 'auto',
});
const MANUAL = linkRow({
  jiraKey: 'SUP-2',
  jiraIssueId: '10002',
  recordId: '6f1c2d3e-0000-4000-8000-000000000002',
  managed: 'manual',
});

function backend(initial: DynamicsLinkRow[] = [AUTO, MANUAL]): { fake: FakeBackend; stored: DynamicsLinkRow[] } {
  const stored = [...initial];
  const fake = fakeBackend({
    dynamics_link_page: (args) => page(stored, args.query as DynamicsLinkQuery),
    dynamics_link_names: (args) => names(args),
    dynamics_search: (args) =>
      args.side === 'jira'
        ? {
            side: 'jira',
            issues: [
              issueHit({ id: '10001', key: 'SUP-1', summary: 'VPN drops', linked_to: AUTO.recordId }),
              issueHit(),
            ],
            records: [],
          }
        : { side: 'dynamics', issues: [], records: [recordHit(), recordHit({ id: 'r-other', name: 'Laptop battery' })] },
    dynamics_link: (args) => {
      stored.unshift(linkRow({ jiraKey: String(args.issueKey), jiraIssueId: '10007', recordId: String(args.recordId) }));
      return linkPreview();
    },
    dynamics_preview: (args) => linkPreview({ jira_key: String(args.issueKey), issue_status: 'Waiting for customer' }),
    dynamics_unlink: (args) => {
      const at = stored.findIndex((row) => row.jiraKey === args.issueKeyOrRecord);
      stored.splice(at, 1);
      return null;
    },
  });
  return { fake, stored };
}

const FILTER = 'Filter links by issue key or summary, record name or id';

/** The backend's paging: newest first as stored, filtered by key, record id or a stored name in any case. */
function page(stored: DynamicsLinkRow[], query: DynamicsLinkQuery): DynamicsLinkPage {
  const needle = query.filter.trim().toLowerCase();
  const matching = stored.filter((row) =>
    [row.jiraKey, row.recordId, row.issueSummary ?? '', row.recordName ?? ''].some(
      (text) => needle === '' || text.toLowerCase().includes(needle),
    ),
  );
  const offset = Math.min(query.offset, matching.length);
  return { rows: matching.slice(offset, offset + query.limit), offset, matching: matching.length, total: stored.length };
}

/** Names of the issues and records asked about: "Summary of SUP-1", "Record 6f1c…01". */
function names(args: Record<string, unknown>): DynamicsLinkNames {
  const keys = args.issueKeys as string[];
  const ids = args.recordIds as string[];
  return {
    issues: keys.filter((key) => key !== 'SUP-404').map((key) => ({ id: key, name: `Summary of ${key}` })),
    records: ids.map((id) => ({ id, name: `Record ${id.slice(-2)}` })),
    issuesError: null,
    recordsError: null,
  };
}

function linkOf(key: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-link="${key}"]`);
  if (element === null) throw new Error(`no link row ${key}`);
  return element;
}

async function open(): Promise<{ onclose: ReturnType<typeof vi.fn> }> {
  const onclose = vi.fn();
  render(DynamicsLinksPanel, { job: 'cases', onclose });
  await screen.findByRole('heading', { name: 'Links (2)' });
  return { onclose };
}

describe('DynamicsLinksPanel', () => {
  it('lists the links with who made them; auto-managed links cannot be unlinked, and say why', async () => {
    const { fake } = backend();
    await open();
    expect(fake.callsOf('dynamics_link_page')).toEqual([{ job: 'cases', query: { filter: '', offset: 0, limit: 50 } }]);
    expect(screen.getByRole('dialog', { name: 'Links of “cases”' })).toBeInTheDocument();
    expect(linkOf('SUP-1')).toHaveTextContent('Auto');
    expect(linkOf('SUP-1')).toHaveTextContent(AUTO.recordId);
    // The reason is a tooltip and a short note under the badge, not text crowding the actions.
    expect(within(linkOf('SUP-1')).getByText('Auto').parentElement).toHaveTextContent('Stays while the item exists');
    expect(linkOf('SUP-2')).toHaveTextContent('Manual');
    const autoUnlink = within(linkOf('SUP-1')).getByRole('button', { name: 'Unlink SUP-1' });
    expect(autoUnlink).toBeDisabled();
    expect(autoUnlink).toHaveAccessibleDescription(/auto-managed links stay while the item exists and cannot be unlinked/);
    expect(within(linkOf('SUP-2')).getByRole('button', { name: 'Unlink SUP-2' })).toBeEnabled();
  });

  it('shows the list at once and fills in issue summaries and record names, read once per page', async () => {
    const { fake } = backend([AUTO, MANUAL, linkRow({ jiraKey: 'SUP-404', jiraIssueId: '10404', recordId: 'ab000000-0000-4000-8000-000000000404' })]);
    let answer: (names: DynamicsLinkNames) => void = () => undefined;
    const asked: Record<string, unknown>[] = [];
    fake.set({
      dynamics_link_names: (args) => {
        asked.push(args);
        return new Promise<DynamicsLinkNames>((resolve) => {
          answer = resolve;
        });
      },
    });
    render(DynamicsLinksPanel, { job: 'cases', onclose: vi.fn() });
    await screen.findByRole('heading', { name: 'Links (3)' });
    // Rows are there before any name: the key and the record id, names on their way.
    expect(linkOf('SUP-1')).toHaveAttribute('data-names', 'loading');
    expect(linkOf('SUP-1')).toHaveTextContent(AUTO.recordId);
    await waitFor(() => expect(asked).toHaveLength(1));
    // One call for the whole page, with every key and id of it.
    expect(asked[0]).toEqual({
      job: 'cases',
      issueKeys: ['SUP-1', 'SUP-2', 'SUP-404'],
      recordIds: [AUTO.recordId, MANUAL.recordId, 'ab000000-0000-4000-8000-000000000404'],
    });
    answer(names(asked[0] ?? {}));
    await waitFor(() => expect(linkOf('SUP-1')).toHaveAttribute('data-names', 'loaded'));
    expect(linkOf('SUP-1')).toHaveTextContent('Summary of SUP-1');
    expect(linkOf('SUP-1')).toHaveTextContent('Record 01');
    expect(within(linkOf('SUP-2')).getByRole('rowheader')).toHaveTextContent('SUP-2 Summary of SUP-2');
    // An issue Jira no longer has says so instead of waiting forever.
    expect(linkOf('SUP-404')).toHaveTextContent('Not found in Jira');
    // The GUID stays, small, for copying.
    expect(linkOf('SUP-2').querySelector('.link-guid')).toHaveTextContent(MANUAL.recordId);
  });

  it('shows the names each link kept from its last sync at once, then the live ones', async () => {
    const kept = [
      linkRow({ ...AUTO, issueSummary: 'VPN drops at night', recordName: 'VPN drops' }),
      linkRow({ ...MANUAL, issueSummary: null, recordName: '' }),
      linkRow({ jiraKey: 'SUP-404', jiraIssueId: '10404', recordId: 'ab000000-0000-4000-8000-000000000404', issueSummary: 'Gone since' }),
    ];
    const { fake } = backend(kept);
    let answer: (names: DynamicsLinkNames) => void = () => undefined;
    const asked: Record<string, unknown>[] = [];
    fake.set({
      dynamics_link_names: (args) => {
        asked.push(args);
        return new Promise<DynamicsLinkNames>((resolve) => {
          answer = resolve;
        });
      },
    });
    const user = userEvent.setup();
    render(DynamicsLinksPanel, { job: 'cases', onclose: vi.fn() });
    await screen.findByRole('heading', { name: 'Links (3)' });
    // Before the live read answers: the kept names, and the pending mark where none was kept.
    expect(within(linkOf('SUP-1')).getByRole('rowheader')).toHaveTextContent('SUP-1 VPN drops at night');
    expect(linkOf('SUP-1').querySelector('[data-record-name="stored"]')).toHaveTextContent('VPN drops');
    expect(linkOf('SUP-1')).toHaveAttribute('data-names', 'loading');
    expect(linkOf('SUP-2').querySelector('[data-issue-summary]')).toBeNull();
    expect(linkOf('SUP-2').querySelectorAll('.name-pending')).toHaveLength(2);
    // The live read still happens, for every row, and replaces what was kept.
    await waitFor(() => expect(asked).toHaveLength(1));
    expect(asked[0]?.issueKeys).toEqual(['SUP-1', 'SUP-2', 'SUP-404']);
    answer(names(asked[0] ?? {}));
    await waitFor(() => expect(linkOf('SUP-1')).toHaveAttribute('data-names', 'loaded'));
    expect(within(linkOf('SUP-1')).getByRole('rowheader')).toHaveTextContent('SUP-1 Summary of SUP-1');
    expect(linkOf('SUP-1')).toHaveTextContent('Record 01');
    expect(linkOf('SUP-1')).not.toHaveTextContent('VPN drops');
    // An issue Jira no longer has says so, whatever name was kept.
    expect(linkOf('SUP-404')).toHaveTextContent('Not found in Jira');
    expect(linkOf('SUP-404')).not.toHaveTextContent('Gone since');

    // The filter box says what it matches; a word of a kept summary finds its link.
    const box = screen.getByRole('searchbox', { name: FILTER });
    expect(box).toHaveAttribute('placeholder', 'Filter by issue key or summary, record name or id');
    await user.type(box, ' NIGHT {Enter}');
    await waitFor(() => expect(document.querySelectorAll('tr[data-link]')).toHaveLength(1));
    expect(fake.callsOf('dynamics_link_page').at(-1)).toEqual({ job: 'cases', query: { filter: 'NIGHT', offset: 0, limit: 50 } });
    expect(linkOf('SUP-1')).toBeInTheDocument();
  });

  it('keeps the names from the last sync when the live read fails', async () => {
    const { fake } = backend([linkRow({ ...AUTO, issueSummary: 'VPN drops at night' }), MANUAL]);
    fake.set({
      dynamics_link_names: (args) => ({ ...names(args), issues: [], issuesError: 'Jira is not reachable.' }),
    });
    await open();
    expect(await screen.findByText(/Some names could not be read: Jira/)).toBeInTheDocument();
    expect(within(linkOf('SUP-1')).getByRole('rowheader')).toHaveTextContent('SUP-1 VPN drops at night');
    expect(within(linkOf('SUP-2')).getByRole('rowheader')).toHaveTextContent(/^SUP-2$/);
  });

  it('says which side’s names could not be read, and keeps the list', async () => {
    const { fake } = backend();
    fake.set({
      dynamics_link_names: (args) => ({ ...names(args), issues: [], issuesError: 'Jira is not reachable.' }),
    });
    await open();
    expect(await screen.findByText(/Some names could not be read: Jira: Jira is not reachable\./)).toBeInTheDocument();
    expect(linkOf('SUP-1')).toHaveTextContent('Record 01');
    expect(linkOf('SUP-1')).not.toHaveTextContent('Not found in Jira');
  });

  it('pages a long list 50 at a time and filters it by key or record id', async () => {
    const many = Array.from({ length: 120 }, (_, i) =>
      linkRow({
        jiraKey: `SUP-${1000 + i}`,
        jiraIssueId: String(20000 + i),
        recordId: `6f1c2d3e-0000-4000-8000-${String(i).padStart(12, '0')}`,
      }),
    );
    const { fake } = backend(many);
    const user = userEvent.setup();
    render(DynamicsLinksPanel, { job: 'cases', onclose: vi.fn() });
    await screen.findByRole('heading', { name: 'Links (120)' });
    expect(document.querySelectorAll('tr[data-link]')).toHaveLength(50);
    expect(screen.getByText('1–50 of 120')).toBeInTheDocument();
    const pages = screen.getByRole('navigation', { name: 'Pages of links' });
    expect(pages).toHaveTextContent('Page 1 of 3');
    expect(within(pages).getByRole('button', { name: /Previous/ })).toBeDisabled();
    // Names are read for the rows shown only.
    await waitFor(() => expect(fake.callsOf('dynamics_link_names')).toHaveLength(1));
    expect(fake.callsOf('dynamics_link_names')[0]?.issueKeys).toHaveLength(50);

    await user.click(within(pages).getByRole('button', { name: /Next/ }));
    await waitFor(() => expect(document.querySelector('[data-link="SUP-1050"]')).not.toBeNull());
    expect(document.querySelector('[data-link="SUP-1000"]')).toBeNull();
    expect(screen.getByText('51–100 of 120')).toBeInTheDocument();
    expect(fake.callsOf('dynamics_link_page').at(-1)).toEqual({ job: 'cases', query: { filter: '', offset: 50, limit: 50 } });
    await waitFor(() => expect(fake.callsOf('dynamics_link_names')).toHaveLength(2));

    await user.type(screen.getByRole('searchbox', { name: FILTER }), 'sup-111{Enter}');
    await waitFor(() => expect(document.querySelectorAll('tr[data-link]')).toHaveLength(10));
    expect(fake.callsOf('dynamics_link_page').at(-1)).toEqual({ job: 'cases', query: { filter: 'sup-111', offset: 0, limit: 50 } });
    expect(screen.getByText('1–10 of 10 matching (of 120)')).toBeInTheDocument();
    expect(screen.queryByRole('navigation', { name: 'Pages of links' })).toBeNull();
    // Those ten were on the third page, not read yet: one more call, for them only.
    await waitFor(() => expect(fake.callsOf('dynamics_link_names')).toHaveLength(3));
    expect(fake.callsOf('dynamics_link_names')[2]?.issueKeys).toHaveLength(10);
    // Back on the first page: its names were read already, so nothing is asked again.
    await user.clear(screen.getByRole('searchbox', { name: FILTER }));
    await user.keyboard('{Enter}');
    await waitFor(() => expect(document.querySelectorAll('tr[data-link]')).toHaveLength(50));
    expect(fake.callsOf('dynamics_link_names')).toHaveLength(3);
  });

  it('says “just now” for a link made seconds ago, even if its time is a little ahead', async () => {
    const soon = new Date(Date.now() + 20_000).toISOString();
    backend([linkRow({ jiraKey: 'SUP-9', jiraIssueId: '10009', createdAt: soon, managed: 'auto' }), MANUAL]);
    await open();
    const time = within(linkOf('SUP-9')).getByText('just now');
    expect(time.tagName).toBe('TIME');
    expect(linkOf('SUP-9')).not.toHaveTextContent('in a moment');
  });

  it('keeps the actions column narrow: two buttons, the auto reason as tooltip and description', async () => {
    backend();
    await open();
    const actions = within(linkOf('SUP-1')).getByRole('button', { name: 'Unlink SUP-1' }).closest('td');
    expect(actions).not.toBeNull();
    expect(within(actions as HTMLElement).getAllByRole('button')).toHaveLength(2);
    // Only the button labels are visible text in the cell (the reason is screen-reader only).
    const visible = [...(actions as HTMLElement).childNodes]
      .filter((node) => !(node instanceof HTMLElement && node.classList.contains('sr-only')))
      .map((node) => node.textContent?.trim() ?? '')
      .join(' ')
      .trim();
    expect(visible.replace(/\s+/g, ' ')).toBe('Preview Unlink');
    expect(within(actions as HTMLElement).getByRole('button', { name: 'Unlink SUP-1' })).toHaveAttribute(
      'title',
      expect.stringMatching(/cannot be unlinked by hand/),
    );
    expect(document.querySelector('.dialog')).toHaveClass('dialog-large');
    expect(document.querySelector('table.links-table')).not.toBeNull();
  });

  it('searches both sides, links the chosen pair and shows its preview', async () => {
    const { fake } = backend();
    const user = userEvent.setup();
    await open();
    const link = byId('links-link');
    expect(link).toBeDisabled();

    await user.type(screen.getByLabelText('Jira issues of the item’s project'), 'printer{Enter}');
    const issues = await screen.findByRole('list', { name: 'Jira issues found' });
    expect(fake.callsOf('dynamics_search')).toEqual([{ job: 'cases', side: 'jira', text: 'printer' }]);
    // An issue linked already cannot be chosen again.
    const linked = within(issues).getByRole('button', { name: /SUP-1/ });
    expect(linked).toBeDisabled();
    expect(linked).toHaveTextContent('already linked to');
    await user.click(within(issues).getByRole('button', { name: /SUP-7/ }));
    expect(within(issues).getByRole('button', { name: /SUP-7/ })).toHaveAttribute('aria-pressed', 'true');
    expect(link).toBeDisabled();

    await user.type(screen.getByLabelText('Dynamics records of the item’s table'), 'printer');
    await user.click(within(screen.getByRole('search', { name: 'Dynamics records' })).getByRole('button', { name: 'Search' }));
    const records = await screen.findByRole('list', { name: 'Dynamics records found' });
    await user.click(within(records).getByRole('button', { name: /Printer jam on floor 3/ }));
    expect(link).toBeEnabled();
    expect(link).toHaveAccessibleDescription('SUP-7 ↔ “Printer jam on floor 3”');

    await user.click(link);
    await waitFor(() => expect(fake.callsOf('dynamics_link')).toEqual([
      { job: 'cases', issueKey: 'SUP-7', recordId: recordHit().id },
    ]));
    const preview = await screen.findByRole('region', { name: 'Preview of SUP-7' });
    expect(preview).toHaveTextContent('Printer on floor 3 jams');
    expect(preview).toHaveTextContent('Printer jam on floor 3');
    expect(preview).toHaveTextContent('In Progress');
    const fields = within(preview).getByRole('table', { name: 'Mapped fields of SUP-7' });
    expect(within(fields).getByRole('row', { name: /title/ })).toHaveTextContent('Printer jam on floor 3');
    await screen.findByRole('heading', { name: 'Links (3)' });
    expect(linkOf('SUP-7')).toHaveTextContent('Manual');
    expect(notices.items.at(-1)?.message).toBe('Linked SUP-7 to “Printer jam on floor 3”.');
    // Both searches ran again, so the pair now shows as linked.
    expect(fake.callsOf('dynamics_search')).toHaveLength(4);
  });

  it('refreshes the preview of a link', async () => {
    const { fake } = backend();
    const user = userEvent.setup();
    await open();
    await user.click(within(linkOf('SUP-2')).getByRole('button', { name: 'Refresh preview of SUP-2' }));
    const preview = await screen.findByRole('region', { name: 'Preview of SUP-2' });
    await waitFor(() => expect(preview).toHaveTextContent('Waiting for customer'));
    await user.click(within(preview).getByRole('button', { name: 'Refresh preview' }));
    expect(fake.callsOf('dynamics_preview')).toEqual([
      { job: 'cases', issueKey: 'SUP-2' },
      { job: 'cases', issueKey: 'SUP-2' },
    ]);
  });

  it('opens either side in the browser and shows the status sync indicator', async () => {
    const { fake } = backend();
    fake.set({
      dynamics_preview: (args) =>
        linkPreview({
          jira_key: String(args.issueKey),
          status_sync: 'pending',
          status_pending:
            'Moving the Jira issue’s status failed 3 times; it is tried again at the next polls. Last reason: no transition to Done',
        }),
      open_link: () => null,
    });
    const user = userEvent.setup();
    await open();
    await user.click(within(linkOf('SUP-2')).getByRole('button', { name: 'Refresh preview of SUP-2' }));
    const preview = await screen.findByRole('region', { name: 'Preview of SUP-2' });
    await waitFor(() => expect(preview).toHaveTextContent('Status sync: On · a status move is waiting'));
    expect(preview).toHaveTextContent('Last reason: no transition to Done');

    await user.click(within(preview).getByRole('button', { name: 'Open in Dynamics' }));
    await user.click(within(preview).getByRole('button', { name: 'Open in Jira' }));
    expect(fake.callsOf('open_link')).toEqual([{ url: linkPreview().record_url }, { url: linkPreview().issue_url }]);

    fake.set({
      open_link: reject({
        code: 'validation',
        message: 'Crosswalk opens only pages of your Jira sites and Dynamics environments.',
        fix: null,
      }),
    });
    await user.click(within(preview).getByRole('button', { name: 'Open in Jira' }));
    await waitFor(() => expect(notices.items.at(-1)?.message).toMatch(/^Could not open the Jira issue: Crosswalk opens only/));
  });

  it('unlinks a manual link after a confirmation saying neither record is deleted', async () => {
    const { fake } = backend();
    const user = userEvent.setup();
    await open();
    await user.click(within(linkOf('SUP-2')).getByRole('button', { name: 'Unlink SUP-2' }));
    const confirm = screen.getByRole('alertdialog', { name: 'Unlink SUP-2?' });
    expect(confirm).toHaveAccessibleDescription(/Neither the Jira issue nor the Dynamics record is deleted/);
    // Escape closes the confirmation only, not the panel behind it.
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(screen.getByRole('dialog', { name: 'Links of “cases”' })).toBeInTheDocument();
    expect(fake.callsOf('dynamics_unlink')).toEqual([]);

    await user.click(within(linkOf('SUP-2')).getByRole('button', { name: 'Unlink SUP-2' }));
    await user.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Unlink' }));
    await waitFor(() => expect(fake.callsOf('dynamics_unlink')).toEqual([{ job: 'cases', issueKeyOrRecord: 'SUP-2' }]));
    await screen.findByRole('heading', { name: 'Links (1)' });
    expect(document.querySelector('[data-link="SUP-2"]')).toBeNull();
    expect(notices.items.at(-1)?.message).toBe('Unlinked SUP-2. The Jira issue and the Dynamics record are kept.');
  });

  it('shows why a link was refused', async () => {
    const { fake } = backend();
    fake.set({
      dynamics_link: reject({
        code: 'conflict',
        message: 'Record 6f1c… is already linked to SUP-1.',
        fix: 'Unlink the existing link first, or pick another record or issue',
        fields: [],
      }),
    });
    const user = userEvent.setup();
    await open();
    await user.type(screen.getByLabelText('Jira issues of the item’s project'), '{Enter}');
    await user.click(within(await screen.findByRole('list', { name: 'Jira issues found' })).getByRole('button', { name: /SUP-7/ }));
    await user.type(screen.getByLabelText('Dynamics records of the item’s table'), '{Enter}');
    await user.click(
      within(await screen.findByRole('list', { name: 'Dynamics records found' })).getByRole('button', {
        name: /Laptop battery/,
      }),
    );
    await user.click(byId('links-link'));
    const alert = await screen.findByText('Could not link');
    expect(alert.closest('[role="alert"]')).toHaveTextContent('Unlink the existing link first');
  });

  it('bulk links: previews the matches of a rule, then links the pairs and reports the run', async () => {
    const { fake, stored } = backend();
    const pair = {
      record_id: 'r-1',
      record_name: 'Printer jam on floor 3',
      issue_id: '10031',
      issue_key: 'SUP-31',
      issue_summary: 'Printer jams',
      value: 'CAS-01001',
    };
    fake.set({
      dynamics_bulk_preview: (args) => ({
        rule: args.rule,
        pairs: [pair, { ...pair, record_id: 'r-2', record_name: 'VPN drops', issue_id: '10032', issue_key: 'SUP-32', value: 'CAS-01002' }],
        records_read: 9,
        issues_read: 7,
        unmatched: 3,
        no_value: 1,
        ambiguous: 2,
        ambiguous_values: [{ value: 'CAS-01003', records: 2, issues: 1 }],
        already_linked: 1,
      }),
      dynamics_bulk_link: (args) => {
        const pairs = args.pairs as (typeof pair)[];
        for (const p of pairs) stored.unshift(linkRow({ jiraKey: p.issue_key, jiraIssueId: p.issue_id, recordId: p.record_id }));
        return { runId: 42, status: 'succeeded', requested: pairs.length, linked: pairs.length, skipped: 0, failed: 0, error: null };
      },
    });
    const user = userEvent.setup();
    await open();
    await user.click(screen.getByRole('button', { name: 'Bulk link…' }));
    const dialog = screen.getByRole('dialog', { name: 'Bulk link existing records' });
    const confirm = within(dialog).getByRole('button', { name: 'Link 0 pairs' });
    expect(confirm).toBeDisabled();

    await user.selectOptions(within(dialog).getByLabelText('Match rule'), 'ticket');
    const field = within(dialog).getByLabelText('Jira field (id)');
    expect(within(dialog).getByLabelText('Dynamics column (logical name)')).toHaveValue('ticketnumber');
    await user.clear(field);
    await user.type(field, 'customfield_10010');
    await user.type(within(dialog).getByLabelText('Only records matching (OData filter, optional)'), 'statecode eq 0');
    await user.click(within(dialog).getByRole('button', { name: 'Preview matches' }));
    await within(dialog).findByRole('table', { name: 'Pairs to link' });
    expect(fake.callsOf('dynamics_bulk_preview')).toEqual([
      { job: 'cases', rule: { dataverse_column: 'ticketnumber', jira_field: 'customfield_10010', filter: 'statecode eq 0' } },
    ]);
    const count = (name: string): string | null | undefined => dialog.querySelector(`[data-count="${name}"]`)?.textContent;
    expect(count('pairs')).toBe('2');
    expect(count('ambiguous')).toBe('2');
    expect(count('unmatched')).toBe('3');
    expect(count('already-linked')).toBe('1');
    expect(dialog).toHaveTextContent('“CAS-01003” (2 records, 1 issues)');
    expect(within(dialog).getByRole('row', { name: /SUP-31/ })).toHaveTextContent('Printer jam on floor 3');
    // Nothing is written by the preview.
    expect(fake.callsOf('dynamics_bulk_link')).toEqual([]);

    await user.click(within(dialog).getByRole('button', { name: 'Link 2 pairs' }));
    await waitFor(() => expect(fake.callsOf('dynamics_bulk_link')).toHaveLength(1));
    expect((fake.callsOf('dynamics_bulk_link')[0]?.pairs as unknown[]).length).toBe(2);
    await screen.findByRole('heading', { name: 'Links (4)' });
    expect(screen.queryByRole('dialog', { name: 'Bulk link existing records' })).toBeNull();
    expect(notices.items.at(-1)?.message).toBe('Linked 2 of 2 pairs.');
  });

  it('bulk link shows why a preview was refused', async () => {
    const { fake } = backend();
    fake.set({
      dynamics_bulk_preview: reject({
        code: 'validation',
        message: 'Table "incident" has no column "nosuch".',
        fix: 'Pick a column of the table',
        fields: [],
      }),
    });
    const user = userEvent.setup();
    await open();
    await user.click(screen.getByRole('button', { name: 'Bulk link…' }));
    const dialog = screen.getByRole('dialog', { name: 'Bulk link existing records' });
    await user.click(within(dialog).getByRole('button', { name: 'Preview matches' }));
    const alert = await within(dialog).findByText('Could not preview the bulk link');
    expect(alert.closest('[role="alert"]')).toHaveTextContent('Pick a column of the table');
    expect(within(dialog).getByRole('button', { name: 'Link 0 pairs' })).toBeDisabled();
  });
});
