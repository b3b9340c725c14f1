import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { JobForm } from '../lib/bindings/JobForm';
import type { JobView } from '../lib/bindings/JobView';
import { fakeBackend, reject, type FakeBackend } from '../test/backend';
import { byId } from '../test/dom';
import { assetsSchema, connectionView, entraCatalogueFixture, entraJobView } from '../test/fixtures';
import JobEditor from './JobEditor.svelte';

const KINDS = [
  { kind: 'entra-sync', label: 'Entra ID → Assets sync' },
  { kind: 'health-check', label: 'Health check' },
];

const CONNECTIONS = [
  connectionView({ name: 'demo-jira', kind: 'jira', target: 'http://127.0.0.1:1 as admin@example.com' }),
  connectionView({ name: 'demo-entra', kind: 'entra', target: 'tenant 1111 (custom endpoints)' }),
  connectionView({ name: 'other-entra', kind: 'entra', target: 'tenant 2222 (Global)' }),
  connectionView({ name: 'dyn', kind: 'dataverse', target: 'https://org.crm.dynamics.com' }),
];

function backend(extra: Parameters<typeof fakeBackend>[0] = {}): FakeBackend {
  return fakeBackend({
    entra_catalogue: () => entraCatalogueFixture(),
    list_connections: () => CONNECTIONS,
    save_job: (args) => entraJobView({ form: args.form as JobForm }),
    ...extra,
  });
}

async function openEditor(job: JobView | null = entraJobView()): Promise<{ onsaved: ReturnType<typeof vi.fn> }> {
  const onsaved = vi.fn();
  render(JobEditor, { job, kinds: KINDS, onsaved, oncancel: vi.fn() });
  await screen.findByLabelText(/^Entra connection/);
  return { onsaved };
}

function savedSettings(fake: FakeBackend): Record<string, unknown> {
  const form = fake.callsOf('save_job')[0]?.form as JobForm | undefined;
  if (form === undefined) throw new Error('save_job was not called');
  return JSON.parse(form.settingsJson) as Record<string, unknown>;
}

function schemaItem(chooser: HTMLElement, key: string): HTMLElement {
  const item = chooser.querySelector<HTMLElement>(`[data-schema-key="${key}"]`);
  if (item === null) throw new Error(`no schema ${key} in the chooser`);
  return item;
}

function select(id: string): HTMLSelectElement {
  return byId(id) as HTMLSelectElement;
}

describe('JobEditor for Entra Sync jobs', () => {
  it('shows the settings as a form with the job’s connections and the Intune permission', async () => {
    backend();
    await openEditor();
    expect(select('job-entra-connection').value).toBe('demo-entra');
    expect(select('job-jira-connection').value).toBe('demo-jira');
    // Only connections of the right kind are offered.
    expect(within(select('job-entra-connection')).queryByText(/demo-jira/)).toBeNull();
    expect(within(select('job-jira-connection')).queryByText(/dyn/)).toBeNull();
    expect(screen.getByLabelText(/^Schema name/)).toHaveValue('Entra ID');
    expect(screen.getByLabelText(/^Schema key/)).toHaveValue('ENTRA');
    expect(screen.getByText(/recommended|dedicated schema/i)).toBeInTheDocument();
    const intune = document.querySelector<HTMLElement>('[data-kind="managed_devices"]');
    expect(intune).toHaveTextContent('DeviceManagementManagedDevices.Read.All');
    expect(intune).toHaveTextContent('not Device.Read.All, as some guides say');
    expect(screen.getByLabelText(/Intune devices/)).toBeChecked();
    // The JSON is one click away, not in the way.
    expect(document.getElementById('job-settings')).toBeNull();
  });

  it('writes the form’s choices to the settings JSON, attributes as overrides only', async () => {
    const fake = backend();
    const user = userEvent.setup();
    const { onsaved } = await openEditor();

    await user.click(screen.getByLabelText(/Intune devices/));
    await user.click(screen.getByLabelText('Members only'));
    await user.click(screen.getByLabelText('Leave out disabled accounts'));
    await user.click(screen.getByRole('button', { name: 'Windows' }));
    await user.type(screen.getByLabelText('Other platform'), 'ChromeOS{Enter}');
    expect(screen.getByRole('button', { name: 'Remove platform ChromeOS' })).toBeInTheDocument();

    await user.click(screen.getByText('Entra User', { selector: 'summary' }));
    const mail = screen.getByLabelText('Assets attribute for mail (Entra User)');
    expect(mail).toHaveValue('Email');
    await user.clear(mail);
    await user.type(mail, 'Work email');
    expect(screen.getByText('Default: Email')).toBeInTheDocument();
    await user.click(screen.getByLabelText('Sync jobTitle (Entra User)'));
    expect(screen.getByLabelText('Assets attribute for jobTitle (Entra User)')).toBeDisabled();
    // Typing a default name back is no override at all.
    const department = screen.getByLabelText('Assets attribute for department (Entra User)');
    await user.type(department, 'x');
    await user.type(department, '{Backspace}');

    await user.click(screen.getByLabelText(/then delete them after/));
    const days = screen.getByLabelText('Days before deleting');
    await user.clear(days);
    await user.type(days, '60');
    const share = screen.getByLabelText('Hold back runs retiring more than');
    await user.clear(share);
    await user.type(share, '25');

    await user.click(byId('job-save'));
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    expect(fake.callsOf('save_job')[0]?.form).toMatchObject({
      originalName: 'demo-entra-to-assets',
      name: 'demo-entra-to-assets',
      kind: 'entra-sync',
      schedule: 'hourly',
      enabled: true,
    });
    expect(savedSettings(fake)).toEqual({
      entra_connection: 'demo-entra',
      jira_connection: 'demo-jira',
      schema_name: 'Entra ID',
      schema_key: 'ENTRA',
      kinds: { users: true, groups: true, memberships: true, applications: true, devices: true, managed_devices: false },
      filters: { user_types: ['Member'], skip_disabled_users: true, device_platforms: ['Windows', 'ChromeOS'] },
      attributes: { user: { jobTitle: false, mail: 'Work email' } },
      retire: { mode: 'delete', delete_after_days: 60, max_share_percent: 25, guard_floor: 20 },
    });
  }, 30_000);

  it('limits users to members of groups given by object ID', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor();
    const input = screen.getByLabelText('Group object ID');
    await user.type(input, 'Sales team{Enter}');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText(/Paste the group’s Object ID/)).toBeInTheDocument();
    await user.clear(input);
    await user.type(input, ' 2f1c0e4e-8c47-4b0a-9e3c-5d7f1a2b3c4d {Enter}');
    expect(screen.getByRole('button', { name: 'Remove group 2f1c0e4e-8c47-4b0a-9e3c-5d7f1a2b3c4d' })).toBeInTheDocument();
    expect(input).toHaveValue('');
    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({ filters: { member_of_groups: ['2f1c0e4e-8c47-4b0a-9e3c-5d7f1a2b3c4d'] } });
  });

  it('keeps the form and “Advanced: edit as JSON” in step both ways', async () => {
    backend();
    const user = userEvent.setup();
    await openEditor();
    await user.click(screen.getByRole('button', { name: /Advanced: edit as JSON/ }));
    const json = byId('job-settings') as HTMLTextAreaElement;
    expect(JSON.parse(json.value)).toMatchObject({ entra_connection: 'demo-entra', schema_key: 'ENTRA' });

    await user.click(screen.getByLabelText(/^Groups/));
    expect(JSON.parse(json.value)).toMatchObject({ kinds: { groups: false } });

    const edited = JSON.parse(json.value) as { schema_key: string; kinds: { groups: boolean } };
    edited.schema_key = 'DIR';
    edited.kinds.groups = true;
    await user.clear(json);
    await user.click(json);
    await user.paste(JSON.stringify(edited));
    expect(screen.getByLabelText(/^Schema key/)).toHaveValue('DIR');
    expect(screen.getByLabelText(/^Groups/)).toBeChecked();

    // JSON the form cannot show locks the form and says why.
    await user.clear(json);
    await user.click(json);
    await user.paste('{"kinds": {"users": "yes"}}');
    expect(screen.getByText(/cannot be shown in the form/)).toBeInTheDocument();
    expect(document.querySelector('[data-entra-form]')).toBeDisabled();
    expect(screen.getByText(/kinds.users must be true or false/)).toBeInTheDocument();
  });

  it('chooses the schema from Assets, with conflicting schemas disabled and explained', async () => {
    const fake = backend({
      list_asset_schemas: () => [
        assetsSchema({ id: '1', name: 'IT Assets', key: 'ITA', conflicts: ['Entra User'] }),
        assetsSchema({ id: '2', name: 'Entra ID', key: 'ENTRA', objectCount: 26000, ours: true }),
        assetsSchema({ id: '3', name: 'Directory', key: 'DIR', objectCount: 0 }),
      ],
    });
    const user = userEvent.setup();
    await openEditor();
    await user.click(screen.getByRole('button', { name: /Choose from Assets/ }));
    expect(fake.callsOf('list_asset_schemas')).toEqual([{ jiraConnection: 'demo-jira' }]);
    const chooser = await screen.findByRole('list', { name: 'Object schemas' });

    const conflicting = schemaItem(chooser, 'ITA');
    expect(conflicting).toHaveAttribute('data-conflict', 'true');
    const conflictingButton = within(conflicting).getByRole('button');
    expect(conflictingButton).toBeDisabled();
    expect(conflictingButton).toHaveAccessibleDescription(
      'Has its own type “Entra User” that Crosswalk did not create; choose a dedicated schema.',
    );
    const ours = schemaItem(chooser, 'ENTRA');
    expect(ours).toHaveTextContent('Entra Sync schema');
    expect(ours).toHaveTextContent('Selected');
    // ENTRA is taken, so a new schema gets a free name and key.
    expect(within(chooser).getByRole('button', { name: /Create new: Entra ID 2 \(ENTRA2\)/ })).toBeEnabled();

    await user.click(within(schemaItem(chooser, 'DIR')).getByRole('button'));
    expect(screen.queryByRole('list', { name: 'Object schemas' })).toBeNull();
    expect(screen.getByLabelText(/^Schema name/)).toHaveValue('Directory');
    expect(screen.getByLabelText(/^Schema key/)).toHaveValue('DIR');
  });

  it('shows why Assets could not be listed', async () => {
    backend({
      list_asset_schemas: reject({
        code: 'permissionDenied',
        message: 'Assets refused to list object schemas.',
        fix: 'Give the connection’s account the Assets administrator role.',
        fields: [],
      }),
    });
    const user = userEvent.setup();
    await openEditor();
    await user.click(screen.getByRole('button', { name: /Choose from Assets/ }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not list the object schemas');
    expect(alert).toHaveTextContent('Assets administrator role');
  });

  it('checks the settings before saving, next to each field', async () => {
    const fake = backend();
    const user = userEvent.setup();
    await openEditor();
    const key = screen.getByLabelText(/^Schema key/);
    await user.clear(key);
    await user.type(key, 'entra id');
    expect(key).toHaveValue('ENTRA ID');
    await user.click(screen.getByLabelText(/^Groups/));
    await user.click(byId('job-save'));

    expect(fake.callsOf('save_job')).toEqual([]);
    expect(key).toHaveAttribute('aria-invalid', 'true');
    expect(key).toHaveAccessibleDescription(/Use 2 to 10 capital letters or digits/);
    const memberships = screen.getByLabelText(/^Group memberships/);
    expect(memberships).toHaveAccessibleDescription(/Group memberships need groups/);

    for (const label of [/^Users/, /^Group memberships/, /^App registrations/, /^Devices/, /^Intune devices/]) {
      await user.click(screen.getByLabelText(label));
    }
    expect(screen.getByText('Choose at least one kind of object to sync.')).toBeInTheDocument();
  });

  it('shows the backend’s settings problems next to the field they name', async () => {
    const fake = backend({
      save_job: reject({
        code: 'validation',
        message: 'The job has 2 problems: …',
        fix: 'Correct the highlighted fields and save again.',
        fields: [
          { field: 'settingsJson', message: 'schema_name: "Entra ID" is already used by another job' },
          { field: 'settingsJson', message: 'settings: unknown field `colour`, expected one of …' },
        ],
      }),
    });
    const user = userEvent.setup();
    await openEditor(entraJobView({}, { colour: 'blue' }));
    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    const name = screen.getByLabelText(/^Schema name/);
    await waitFor(() => expect(name).toHaveAccessibleDescription(/“?Entra ID"? is already used by another job/));
    // What the form cannot show opens the JSON with the message.
    const json = await screen.findByLabelText('Settings (JSON)');
    expect(json).toHaveAccessibleDescription(/unknown field `colour`/);
  });

  it('takes an OData filter per synced kind and shows the backend’s parse error next to it', async () => {
    const message = "Filter for users: expected ')' at character 43, found the end of the filter";
    const fake = backend({
      save_job: reject({
        code: 'validation',
        message: 'The job has 1 problem: …',
        fix: 'Correct the highlighted fields and save again.',
        fields: [{ field: 'settingsJson', message: `filters.odata.users: ${message}` }],
      }),
    });
    const user = userEvent.setup();
    await openEditor();
    const users = screen.getByLabelText(/^OData filter for users/);
    expect(users).toHaveAccessibleDescription(/evaluated by Crosswalk on each object Graph returns; Graph delta queries accept no filter/);
    expect(screen.getByLabelText(/^OData filter for intune devices/)).toHaveValue('');
    // Memberships take none, and a kind that is not synced shows none.
    expect(screen.queryByLabelText(/^OData filter for group memberships/)).toBeNull();
    await user.click(screen.getByLabelText(/Intune devices/));
    expect(screen.queryByLabelText(/^OData filter for intune devices/)).toBeNull();

    await user.type(users, "department eq 'Sales' and (jobTitle eq 'x'");
    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({
      filters: { odata: { users: "department eq 'Sales' and (jobTitle eq 'x'" } },
    });
    await waitFor(() => expect(users).toHaveAttribute('aria-invalid', 'true'));
    expect(users).toHaveAccessibleDescription(new RegExp(message.replace(/[()]/g, '\\$&')));
  });

  it('a new job picks the only Jira connection and leaves the Entra choice open', async () => {
    const fake = backend({ list_jobs: () => [] });
    const user = userEvent.setup();
    render(JobEditor, { job: null, kinds: KINDS, onsaved: vi.fn(), oncancel: vi.fn() });
    await user.type(screen.getByLabelText(/^Name/), 'contoso-directory');
    await user.selectOptions(screen.getByLabelText(/^Kind/), 'entra-sync');
    await screen.findByLabelText(/^Entra connection/);
    await waitFor(() => expect(select('job-jira-connection').value).toBe('demo-jira'));
    expect(select('job-entra-connection').value).toBe('');
    await user.click(byId('job-save'));
    expect(fake.callsOf('save_job')).toEqual([]);
    expect(select('job-entra-connection')).toHaveAccessibleDescription(/Choose the Entra connection/);
    await user.selectOptions(select('job-entra-connection'), 'other-entra');
    await user.click(byId('job-save'));
    await waitFor(() => expect(fake.callsOf('save_job')).toHaveLength(1));
    expect(savedSettings(fake)).toMatchObject({ entra_connection: 'other-entra', jira_connection: 'demo-jira' });
    expect(savedSettings(fake)).not.toHaveProperty('attributes');
  });
});
