import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { JobForm } from '../lib/bindings/JobForm';
import type { JobView } from '../lib/bindings/JobView';
import { fakeBackend, reject, type FakeBackend } from '../test/backend';
import { byId } from '../test/dom';
import { connectionView, dynamicsCatalogueFixture, dynamicsJobView } from '../test/fixtures';
import JobEditor from './JobEditor.svelte';

const KINDS = [
  { kind: 'entra-sync', label: 'Entra ID → Assets sync' },
  { kind: 'dynamics-item', label: 'Dynamics 365 ↔ Jira (Smart Connected Item)' },
];

const CONNECTIONS = [
  connectionView({ name: 'demo-jira', kind: 'jira', target: 'https://contoso.atlassian.net as admin@contoso.com' }),
  connectionView({ name: 'demo-dataverse', kind: 'dataverse', target: 'https://contoso.crm.dynamics.com' }),
  connectionView({ name: 'demo-entra', kind: 'entra', target: 'tenant 1111' }),
];

function backend(extra: Parameters<typeof fakeBackend>[0] = {}): FakeBackend {
  return fakeBackend({
    list_connections: () => CONNECTIONS,
    dynamics_catalogue: (args) => dynamicsCatalogueFixture(args),
    save_job: (args) => dynamicsJobView({ form: args.form as JobForm }),
    ...extra,
  });
}

async function openEditor(job: JobView | null = dynamicsJobView()): Promise<{ onsaved: ReturnType<typeof vi.fn> }> {
  const onsaved = vi.fn();
  render(JobEditor, { job, kinds: KINDS, onsaved, oncancel: vi.fn() });
  // The catalogue has arrived once the project shows its name.
  if (job !== null) await within(select('dynamics-project')).findByText('IT Support (SUP)');
  return { onsaved };
}

function select(id: string): HTMLSelectElement {
  return byId(id) as HTMLSelectElement;
}

function savedSettings(fake: FakeBackend): Record<string, unknown> {
  const form = fake.callsOf('save_job').at(-1)?.form as JobForm | undefined;
  if (form === undefined) throw new Error('save_job was not called');
  return JSON.parse(form.settingsJson) as Record<string, unknown>;
}

function mappingRow(index: number): HTMLElement {
  const row = document.querySelector<HTMLElement>(`[data-mapping-row="${String(index)}"]`);
  if (row === null) throw new Error(`no mapping row ${String(index)}`);
  return row;
}

async function toStepTwo(user: ReturnType<typeof userEvent.setup>): Promise<void> {
  await user.click(byId('dynamics-next'));
  await screen.findByRole('group', { name: 'Field mappings' });
}

describe('JobEditor for Smart Connected Items', () => {
  it('opens on step 1 with the mode, connections, project, issue type, module and table from the catalogue', async () => {
    const fake = backend();
    await openEditor();
    expect(byId('dynamics-step-1')).toHaveAttribute('aria-current', 'step');
    expect(screen.getByLabelText('One-way: Dynamics → Jira')).toBeChecked();
    expect(screen.getByLabelText('Display only')).toHaveAccessibleDescription(/Nothing is created or synchronized/);
    expect(select('dynamics-dataverse-connection').value).toBe('demo-dataverse');
    expect(within(select('dynamics-dataverse-connection')).queryByText('demo-jira')).toBeNull();
    expect(select('dynamics-jira-connection').value).toBe('demo-jira');
    expect(select('dynamics-project').value).toBe('SUP');
    expect(within(select('dynamics-project')).getByText('IT Support (SUP)')).toBeInTheDocument();
    expect(select('dynamics-issue-type').value).toBe('10004');
    expect(select('dynamics-module').value).toBe('Dynamics 365 Customer Service');
    expect(within(select('dynamics-module')).getByText('Dynamics 365 Sales (Lead, Opportunity)')).toBeInTheDocument();
    expect(within(select('dynamics-module')).getByText('Activities (Task)')).toBeInTheDocument();
    expect(within(select('dynamics-table')).getByText('Case (incident)')).toBeInTheDocument();
    expect(fake.callsOf('dynamics_catalogue').at(-1)).toEqual({
      dataverseConnection: 'demo-dataverse',
      jiraConnection: 'demo-jira',
      table: 'incident',
      project: 'SUP',
      issueType: '10004',
    });
    // The raw JSON is one click away.
    expect(document.getElementById('job-settings')).toBeNull();
  });

  it('a new item runs every minute, picks the only connections and checks step 1 before step 2', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor(null);
    await user.type(screen.getByLabelText(/^Name/), 'cases');
    await user.selectOptions(screen.getByLabelText(/^Kind/), 'dynamics-item');
    await waitFor(() => expect(select('dynamics-dataverse-connection').value).toBe('demo-dataverse'));
    expect(select('job-schedule').value).toBe('custom');
    expect(screen.getByLabelText('Every (minutes)')).toHaveValue(1);
    expect(select('job-schedule')).toHaveAccessibleDescription(/seed polls every 5 minutes; 1 minute is the default here/);

    await user.click(byId('dynamics-next'));
    expect(byId('dynamics-step-1')).toHaveAttribute('aria-current', 'step');
    expect(select('dynamics-project')).toHaveAccessibleDescription(/Choose the Jira project/);
    expect(select('dynamics-table')).toHaveAccessibleDescription(/Choose the Dynamics table/);

    await user.selectOptions(select('dynamics-project'), 'SUP');
    await waitFor(() => expect(within(select('dynamics-issue-type')).queryByText('Service Request')).not.toBeNull());
    await user.selectOptions(select('dynamics-issue-type'), '10004');
    await user.selectOptions(select('dynamics-module'), 'Dynamics 365 Customer Service');
    // A module with one table chooses it.
    expect(select('dynamics-table').value).toBe('incident');
    await toStepTwo(user);
    expect(byId('dynamics-step-2')).toHaveAttribute('aria-current', 'step');

    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(fake.callsOf('save_job')[0]?.form).toMatchObject({ schedule: { every_minutes: 1 }, kind: 'dynamics-item' });
    expect(savedSettings(fake)).toMatchObject({
      dataverse_connection: 'demo-dataverse',
      jira_connection: 'demo-jira',
      mode: 'one_way',
      jira_project: 'SUP',
      jira_issue_type: '10004',
      module: 'Dynamics 365 Customer Service',
      table: 'incident',
    });
  });

  it('shows a compatibility badge per mapping with the reason, and refuses incompatible pairs', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor();
    await toStepTwo(user);
    expect(within(mappingRow(0)).getByText('Exact')).toBeInTheDocument();

    await user.click(byId('dynamics-add-mapping'));
    const column = within(mappingRow(1)).getByLabelText('Dynamics column of mapping 2');
    const field = within(mappingRow(1)).getByLabelText('Jira field of mapping 2');
    await user.selectOptions(column, 'title');
    await user.selectOptions(field, 'labels');
    const lossy = within(mappingRow(1)).getByText('Lossy');
    expect(lossy).toHaveAttribute('title', "Text → Labels: split at commas; spaces become '_'");
    expect(mappingRow(1)).toHaveTextContent("split at commas; spaces become '_'");
    expect(field).toHaveAccessibleDescription(/Lossy/);

    await user.selectOptions(column, 'createdon');
    expect(within(mappingRow(1)).getByText('Incompatible')).toBeInTheDocument();
    await user.click(byId('job-save'));
    expect(fake.callsOf('save_job')).toEqual([]);
    expect(field).toHaveAttribute('aria-invalid', 'true');
    expect(field).toHaveAccessibleDescription(/dates go to Jira date, date-time or text fields; choose another field/);

    await user.click(within(mappingRow(1)).getByRole('button', { name: 'Remove mapping 2' }));
    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({ fields: [{ dataverse: 'title', jira: 'summary', owner: 'most_recent' }] });
  });

  it('offers per-field owners in two-way mode and value maps for choice fields', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor();
    await user.click(screen.getByLabelText('Two-way: Dynamics ↔ Jira'));
    await toStepTwo(user);
    expect(screen.getByRole('columnheader', { name: 'On conflict' })).toHaveAttribute(
      'title',
      expect.stringContaining('A change on one side alone is always copied to the other'),
    );
    expect(within(mappingRow(0)).getByLabelText('On conflict, mapping 1')).toHaveDisplayValue('Most recent change wins');
    // Text → text needs no value map.
    expect(within(mappingRow(0)).queryByRole('button', { name: /Value map/ })).toBeNull();

    await user.click(byId('dynamics-add-mapping'));
    await user.selectOptions(within(mappingRow(1)).getByLabelText('Dynamics column of mapping 2'), 'prioritycode');
    await user.selectOptions(within(mappingRow(1)).getByLabelText('Jira field of mapping 2'), 'priority');
    await user.selectOptions(within(mappingRow(1)).getByLabelText('On conflict, mapping 2'), 'jira');
    const toggle = within(mappingRow(1)).getByRole('button', { name: 'Value map' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await user.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await user.click(screen.getByRole('button', { name: 'Add pair' }));
    await user.selectOptions(screen.getByLabelText('Dynamics value of pair 1'), '1');
    await user.selectOptions(screen.getByLabelText('Jira value of pair 1'), 'Highest');

    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({
      mode: 'two_way',
      fields: [
        { dataverse: 'title', jira: 'summary', owner: 'most_recent' },
        { dataverse: 'prioritycode', jira: 'priority', owner: 'jira', values: [{ dataverse: '1', jira: 'Highest' }] },
      ],
    });
  });

  it('prefills the status map from the heuristics and saves only the pairs the admin changed or confirmed', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor();
    await toStepTwo(user);
    await user.click(screen.getByLabelText('Sync status both ways'));
    const row = (id: string): HTMLElement => {
      const element = document.querySelector<HTMLElement>(`[data-status-row="${id}"]`);
      if (element === null) throw new Error(`no status row ${id}`);
      return element;
    };
    expect(row('10002')).toHaveTextContent('source: heuristic');
    const waiting = within(row('10002')).getByLabelText('Dynamics status for Jira status Waiting for customer');
    expect(waiting).toHaveValue('0:3');
    await user.selectOptions(waiting, '0:1');
    expect(row('10002')).toHaveTextContent('source: explicit');
    await user.click(within(row('5')).getByRole('button', { name: 'Confirm the pair for Resolved' }));
    expect(row('5')).toHaveTextContent('source: explicit');
    expect(row('1')).toHaveTextContent('Jira → Dynamics only');

    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({
      status: {
        enabled: true,
        map: [
          { jira_status: '10002', state: 0, status: 1 },
          { jira_status: '5', state: 1, status: 5 },
        ],
      },
    });

    await user.click(within(row('10002')).getByRole('button', { name: 'Reset Waiting for customer to the heuristic' }));
    expect(row('10002')).toHaveTextContent('source: heuristic');
    expect(waiting).toHaveValue('0:3');
  });

  it('display only turns auto-create off and disables the sync options, saying why', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor(dynamicsJobView({}, { auto_create: { enabled: true }, comments: true }));
    await user.click(screen.getByLabelText('Display only'));
    await toStepTwo(user);
    expect(screen.getByText(/Display only: nothing runs on a schedule/)).toBeInTheDocument();
    const autoCreate = screen.getByLabelText('Create a Jira issue for each new Dynamics record');
    expect(autoCreate).not.toBeChecked();
    expect(autoCreate).toBeDisabled();
    expect(screen.getByLabelText('Sync status both ways')).toBeDisabled();
    expect(screen.getByLabelText(/Sync comments both ways/)).toBeDisabled();
    expect(screen.getByLabelText('Sync attachments both ways')).toBeDisabled();
    // The link note and remote link still apply to links made by hand.
    expect(screen.getByLabelText(/Linked to Jira/)).toBeEnabled();
    // Mappings choose what the preview shows.
    expect(byId('mappings-hint')).toHaveTextContent('shown side by side in a link’s preview');

    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({ mode: 'display_only', auto_create: { enabled: false } });
  });

  it('keeps the wizard and “Advanced: edit as JSON” in step both ways', async () => {
    backend();
    const user = userEvent.setup();
    await openEditor();
    await user.click(screen.getByRole('button', { name: /Advanced: edit as JSON/ }));
    const json = byId('job-settings') as HTMLTextAreaElement;
    expect(JSON.parse(json.value)).toMatchObject({ mode: 'one_way', link_note: true, jira_search_lag_secs: 120 });

    await toStepTwo(user);
    await user.click(screen.getByLabelText('Sync attachments both ways'));
    const limit = screen.getByLabelText('Largest attachment copied');
    expect(limit).toHaveAccessibleDescription(/seed skips files over 10 MB; Crosswalk copies up to what both sides accept/);
    await user.type(limit, '25');
    expect(JSON.parse(json.value)).toMatchObject({ attachments: true, max_attachment_mb: 25 });
    expect(screen.getByLabelText('Mirror deletions')).not.toBeChecked();
    const check = screen.getByLabelText('Check for deleted issues and records every');
    expect(check).toHaveValue(15);
    await user.clear(check);
    await user.type(check, '5');
    expect(JSON.parse(json.value)).toMatchObject({ deletion_check_minutes: 5 });

    const edited = JSON.parse(json.value) as Record<string, unknown>;
    edited.comments = true;
    edited.auto_create = { enabled: true, filter: 'prioritycode eq 1' };
    await user.clear(json);
    await user.click(json);
    await user.paste(JSON.stringify(edited));
    expect(screen.getByLabelText(/Sync comments both ways/)).toBeChecked();
    expect(screen.getByLabelText(/Only records matching/)).toHaveValue('prioritycode eq 1');
    expect(screen.getByLabelText(/Only records matching/)).toHaveAccessibleDescription(
      /Only records created after the item started watching get an issue/,
    );

    await user.clear(json);
    await user.click(json);
    await user.paste('{"mode": "sometimes"}');
    expect(screen.getByText(/cannot be shown in the form/)).toBeInTheDocument();
    expect(document.querySelector('[data-dynamics-form]')).toBeDisabled();
  });

  it('moves to the step holding the backend’s problems and explains a catalogue failure', async () => {
    const fake = backend({
      save_job: reject({
        code: 'validation',
        message: 'The job has 1 problem: …',
        fix: 'Correct the highlighted fields and save again.',
        fields: [{ field: 'settingsJson', message: 'jira_project: must be a project key such as SUP' }],
      }),
    });
    const user = userEvent.setup();
    await openEditor();
    await toStepTwo(user);
    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    await waitFor(() => expect(byId('dynamics-step-1')).toHaveAttribute('aria-current', 'step'));
    expect(select('dynamics-project')).toHaveAccessibleDescription(/Must be a project key such as SUP/);

    fake.set({
      dynamics_catalogue: reject({
        code: 'authExpired',
        message: 'Dataverse refused the client secret.',
        fix: 'Create a new client secret and save it on the connection.',
        fields: [],
      }),
    });
    await user.click(screen.getByLabelText('Two-way: Dynamics ↔ Jira'));
    await user.selectOptions(select('dynamics-issue-type'), '10005');
    const alert = await screen.findByText('Could not read the tables and projects');
    expect(alert.closest('[role="alert"]')).toHaveTextContent('Create a new client secret');
  });
});
