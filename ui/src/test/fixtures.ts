/** Builders for the generated IPC types, with sensible defaults and per-test overrides. */
import type { AssetsSchemaView } from '../lib/bindings/AssetsSchemaView';
import type { CheckReport } from '../lib/bindings/CheckReport';
import type { DynamicsCatalogue } from '../lib/bindings/DynamicsCatalogue';
import type { DynamicsCompatibilityView } from '../lib/bindings/DynamicsCompatibilityView';
import type { DynamicsLinkRow } from '../lib/bindings/DynamicsLinkRow';
import type { DynamicsMappingCatalogue } from '../lib/bindings/DynamicsMappingCatalogue';
import type { IssueHit } from '../lib/bindings/IssueHit';
import type { LinkPreview } from '../lib/bindings/LinkPreview';
import type { RecordHit } from '../lib/bindings/RecordHit';
import type { ConnectionForm } from '../lib/bindings/ConnectionForm';
import type { ConnectionView } from '../lib/bindings/ConnectionView';
import type { EntraCatalogue } from '../lib/bindings/EntraCatalogue';
import type { EntraPropertyView } from '../lib/bindings/EntraPropertyView';
import type { JobView } from '../lib/bindings/JobView';
import type { RunCounts } from '../lib/bindings/RunCounts';
import type { RunEventView } from '../lib/bindings/RunEventView';
import type { RunSummary } from '../lib/bindings/RunSummary';
import type { SecretExpiryView } from '../lib/bindings/SecretExpiryView';
import { emptyConnectionForm } from '../lib/connectionForm';

export function jiraForm(overrides: Partial<ConnectionForm> = {}): ConnectionForm {
  return {
    ...emptyConnectionForm(),
    originalName: 'contoso-jira',
    name: 'contoso-jira',
    kind: 'jira',
    siteUrl: 'https://contoso.atlassian.net',
    email: 'admin@contoso.com',
    ...overrides,
  };
}

export function connectionView(overrides: Partial<ConnectionView> = {}): ConnectionView {
  return {
    name: 'contoso-jira',
    kind: 'jira',
    target: 'https://contoso.atlassian.net',
    secretLocation: 'OS keychain',
    secretStored: true,
    form: jiraForm(),
    updatedAt: '2025-11-20T10:00:00Z',
    ...overrides,
  };
}

export function counts(overrides: Partial<RunCounts> = {}): RunCounts {
  return { created: 0, updated: 0, unchanged: 0, retired: 0, deleted: 0, skipped: 0, failed: 0, ...overrides };
}

export function runSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    id: 1,
    jobName: 'entra-users',
    trigger: 'schedule',
    status: 'succeeded',
    dryRun: false,
    startedAt: '2025-11-20T10:00:00Z',
    finishedAt: '2025-11-20T10:01:00Z',
    durationMs: 60_000,
    totals: counts({ created: 3, updated: 5, unchanged: 100 }),
    requests: 12,
    error: null,
    progressDone: 0,
    progressTotal: 0,
    progressMessage: null,
    ...overrides,
  };
}

export function jobView(overrides: Partial<JobView> = {}): JobView {
  const name = overrides.name ?? 'entra-users';
  return {
    name,
    kind: 'entra_sync',
    kindLabel: 'Entra Sync',
    schedule: 'hourly',
    scheduleLabel: 'Hourly',
    enabled: true,
    nextDueAt: '2025-11-20T11:00:00Z',
    runningRunId: null,
    lastRun: null,
    form: {
      originalName: name,
      name,
      kind: 'entra_sync',
      schedule: 'hourly',
      enabled: true,
      settingsJson: '{"source":"contoso-entra"}',
    },
    ...overrides,
  };
}

export function checkReport(overrides: Partial<CheckReport> = {}): CheckReport {
  return {
    connection: 'contoso-jira',
    elapsedMs: 1234,
    items: [
      { label: 'Site reachable', status: 'ok', detail: 'HTTP 200 from /status', fix: null },
      { label: 'Credentials accepted', status: 'ok', detail: 'Signed in as admin@contoso.com', fix: null },
    ],
    ...overrides,
  };
}

export function runEvent(overrides: Partial<RunEventView> = {}): RunEventView {
  return {
    id: 1,
    at: '2025-11-20T10:00:05Z',
    level: 'info',
    objectKind: 'user',
    objectId: 'u-1',
    objectLabel: 'Ada Lovelace',
    action: 'created',
    message: 'Created Assets object',
    before: null,
    after: { displayName: 'Ada Lovelace' },
    fix: null,
    ...overrides,
  };
}

/** A client secret's last known expiry; `daysLeft` and `threshold` should agree. */
export function secretExpiry(overrides: Partial<SecretExpiryView> = {}): SecretExpiryView {
  const connection = overrides.connection ?? 'contoso-entra';
  const daysLeft = overrides.daysLeft ?? 20;
  return {
    connection,
    kind: 'entra',
    appDisplayName: 'Crosswalk Sync',
    expiresAt: '2025-12-10T09:00:00Z',
    daysLeft,
    threshold: 30,
    expired: false,
    matchedByHint: true,
    checkedAt: '2025-11-20T09:00:00Z',
    message: `Client secret of connection ${connection} expires in ${daysLeft} days (on 2025-12-10).`,
    fix: `Create a new client secret in the Microsoft Entra admin center › App registrations › Crosswalk Sync › Certificates & secrets, then save its Value (not its Secret ID) with \`crosswalk secret set ${connection}\` or by editing connection ${connection} in the console.`,
    ...overrides,
  };
}

/** The Entra Sync catalogue as the backend sends it (properties trimmed to a few per kind). */
export function entraCatalogueFixture(): EntraCatalogue {
  const property = (graph: string, attribute: string, dataType = 'text'): EntraPropertyView => ({
    graph,
    attribute,
    dataType,
  });
  return {
    kinds: [
      {
        setting: 'users',
        word: 'user',
        typeName: 'Entra User',
        label: 'Users',
        permission: 'User.Read.All',
        note: null,
        properties: [
          property('userPrincipalName', 'User principal name'),
          property('mail', 'Email'),
          property('department', 'Department'),
          property('jobTitle', 'Job title'),
          property('manager', 'Manager', 'reference to Entra User'),
        ],
      },
      {
        setting: 'groups',
        word: 'group',
        typeName: 'Entra Group',
        label: 'Groups',
        permission: 'Group.Read.All',
        note: null,
        properties: [property('description', 'Description'), property('mail', 'Email')],
      },
      {
        setting: 'memberships',
        word: 'membership',
        typeName: 'Entra Group Membership',
        label: 'Group memberships',
        permission: 'Group.Read.All',
        note: 'One "Entra Group Membership" object per group and member, referencing both.',
        properties: [],
      },
      {
        setting: 'applications',
        word: 'application',
        typeName: 'Entra App Registration',
        label: 'App registrations',
        permission: 'Application.Read.All',
        note: 'Owners: the first 10 are referenced; "Owner count" holds the total.',
        properties: [property('appId', 'Application (client) ID'), property('ownerCount', 'Owner count', 'integer')],
      },
      {
        setting: 'devices',
        word: 'device',
        typeName: 'Entra Device',
        label: 'Devices',
        permission: 'Device.Read.All',
        note: null,
        properties: [property('operatingSystem', 'Operating system')],
      },
      {
        setting: 'managed_devices',
        word: 'managed_device',
        typeName: 'Intune Device',
        label: 'Intune devices',
        permission: 'DeviceManagementManagedDevices.Read.All',
        note: 'Intune devices need DeviceManagementManagedDevices.Read.All (not Device.Read.All, as some guides say).',
        properties: [property('serialNumber', 'Serial number'), property('userId', 'Primary user', 'reference to Entra User')],
      },
    ],
    defaults: {
      entra_connection: '',
      jira_connection: '',
      schema_name: 'Entra ID',
      schema_key: 'ENTRA',
      kinds: { users: true, groups: true, memberships: true, applications: true, devices: true, managed_devices: true },
      filters: { skip_disabled_users: false },
      retire: { mode: 'mark', delete_after_days: 30, max_share_percent: 10, guard_floor: 20 },
    },
    fixedAttributes: ['Name', 'Entra Object ID', 'Entra Status', 'Removed on'],
  };
}

export function assetsSchema(overrides: Partial<AssetsSchemaView> = {}): AssetsSchemaView {
  return { id: '1', name: 'IT Assets', key: 'ITA', objectCount: 120, ours: false, conflicts: [], ...overrides };
}

/** An Entra Sync job, by default the demo's. */
export function entraJobView(overrides: Partial<JobView> = {}, settings: Record<string, unknown> = {}): JobView {
  const name = overrides.name ?? 'demo-entra-to-assets';
  const settingsJson = JSON.stringify(
    { entra_connection: 'demo-entra', jira_connection: 'demo-jira', ...settings },
    null,
    2,
  );
  return jobView({
    name,
    kind: 'entra-sync',
    kindLabel: 'Entra ID → Assets sync',
    form: { originalName: name, name, kind: 'entra-sync', schedule: 'hourly', enabled: true, settingsJson },
    ...overrides,
  });
}

/** The Dynamics catalogue of the sandbox: Cases into SUP's Service Requests (trimmed). */
export function dynamicsMappingFixture(overrides: Partial<DynamicsMappingCatalogue> = {}): DynamicsMappingCatalogue {
  const entry = (
    column: string,
    field: string,
    level: DynamicsCompatibilityView['level'],
    reason: string | null = null,
  ): DynamicsCompatibilityView => ({ column, field, level, reason });
  const priorities = [
    { value: '1', label: 'High', state: null },
    { value: '2', label: 'Normal', state: null },
    { value: '3', label: 'Low', state: null },
  ];
  return {
    table: 'incident',
    project: 'SUP',
    issueType: '10004',
    columns: [
      { name: 'createdon', label: 'Created On', dataType: 'Date and time', options: [] },
      { name: 'description', label: 'Description', dataType: 'Multiline text', options: [] },
      { name: 'prioritycode', label: 'Priority', dataType: 'Choice', options: priorities },
      { name: 'title', label: 'Case Title', dataType: 'Text', options: [] },
    ],
    fields: [
      { id: 'summary', name: 'Summary', dataType: 'Text', required: true, hasDefault: false, allowedValues: [] },
      {
        id: 'customfield_10014',
        name: 'Impact',
        dataType: 'Select list',
        required: true,
        hasDefault: false,
        allowedValues: ['Extensive', 'Significant', 'Minor'],
      },
      { id: 'description', name: 'Description', dataType: 'Rich text', required: false, hasDefault: false, allowedValues: [] },
      { id: 'labels', name: 'Labels', dataType: 'Labels', required: false, hasDefault: false, allowedValues: [] },
      {
        id: 'priority',
        name: 'Priority',
        dataType: 'Priority',
        required: false,
        hasDefault: true,
        allowedValues: ['Highest', 'High', 'Medium', 'Low'],
      },
    ],
    compatibility: [
      entry('title', 'summary', 'exact'),
      entry('title', 'description', 'lossy', "Text → Jira rich text: formatting reaches Jira; Jira's formatting comes back as plain text"),
      entry('title', 'labels', 'lossy', "Text → Labels: split at commas; spaces become '_'"),
      entry('title', 'priority', 'lossy', 'Text → priority: the text must be a priority label or a value-map pair'),
      entry('title', 'customfield_10014', 'lossy', 'Text → select list: the text must be an option label or a value-map pair'),
      entry('description', 'summary', 'lossy', 'Multiline text → Jira text: line breaks become spaces and Jira keeps the first 255 characters'),
      entry('description', 'description', 'lossy', "Multiline text → Jira rich text: formatting reaches Jira; Jira's formatting comes back as plain text"),
      entry('description', 'labels', 'lossy', "Multiline text → Labels: split at commas; spaces become '_'"),
      entry('description', 'priority', 'lossy', 'Multiline text → priority: the text must be a priority label or a value-map pair'),
      entry('description', 'customfield_10014', 'lossy', 'Multiline text → select list: the text must be an option label or a value-map pair'),
      entry('prioritycode', 'priority', 'exact'),
      entry('prioritycode', 'customfield_10014', 'exact'),
      entry('prioritycode', 'summary', 'lossy', 'Choice → Jira text: the label is written; text from Jira must be a label or a value-map pair'),
      entry('prioritycode', 'description', 'incompatible', 'Choice → Jira rich text: choices go to select lists, priorities, labels or text'),
      entry('prioritycode', 'labels', 'lossy', "Choice → Labels: the label is written with spaces as '_'"),
      entry('createdon', 'summary', 'lossy', 'Date and time → Jira text: written as ISO 8601 text; text from Jira must keep that form'),
      entry('createdon', 'labels', 'incompatible', 'Date and time → Labels: dates go to Jira date, date-time or text fields'),
      entry('createdon', 'description', 'incompatible', 'Date and time → Jira rich text: dates go to Jira date, date-time or text fields'),
      entry('createdon', 'priority', 'incompatible', 'Date and time → priority: dates go to Jira date, date-time or text fields'),
      entry('createdon', 'customfield_10014', 'incompatible', 'Date and time → select list: dates go to Jira date, date-time or text fields'),
    ],
    jiraStatuses: [
      { id: '1', name: 'Open', category: 'new' },
      { id: '3', name: 'In Progress', category: 'indeterminate' },
      { id: '10002', name: 'Waiting for customer', category: 'indeterminate' },
      { id: '5', name: 'Resolved', category: 'done' },
      { id: '10003', name: 'Cancelled', category: 'done' },
    ],
    states: [
      { value: '0', label: 'Active', state: null },
      { value: '1', label: 'Resolved', state: null },
      { value: '2', label: 'Cancelled', state: null },
    ],
    statuses: [
      { value: '1', label: 'In Progress', state: 0 },
      { value: '3', label: 'Waiting for Details', state: 0 },
      { value: '5', label: 'Problem Solved', state: 1 },
      { value: '6', label: 'Cancelled', state: 2 },
    ],
    statusRows: [
      { jira_status: '1', jira_name: 'Open', state: 0, state_label: 'Active', status: 1, status_label: 'In Progress', direction: 'to_dataverse', source: 'heuristic' },
      { jira_status: '3', jira_name: 'In Progress', state: 0, state_label: 'Active', status: 1, status_label: 'In Progress', direction: 'both', source: 'heuristic' },
      { jira_status: '10002', jira_name: 'Waiting for customer', state: 0, state_label: 'Active', status: 3, status_label: 'Waiting for Details', direction: 'both', source: 'heuristic' },
      { jira_status: '5', jira_name: 'Resolved', state: 1, state_label: 'Resolved', status: 5, status_label: 'Problem Solved', direction: 'both', source: 'heuristic' },
      { jira_status: '10003', jira_name: 'Cancelled', state: 2, state_label: 'Cancelled', status: 6, status_label: 'Cancelled', direction: 'both', source: 'heuristic' },
    ],
    statusProblems: [],
    ...overrides,
  };
}

/** What `dynamics_catalogue` answers; `mapping` only when the query names table, project and issue type. */
export function dynamicsCatalogueFixture(args: Record<string, unknown> = {}): DynamicsCatalogue {
  const mapping =
    args.table === 'incident' && args.project === 'SUP' && args.issueType === '10004' ? dynamicsMappingFixture() : null;
  const table = (logicalName: string, displayName: string, module: string) => ({
    logicalName,
    displayName,
    entitySetName: `${logicalName}s`,
    module,
    changeTracking: logicalName !== 'lead',
  });
  return {
    modules: [
      {
        name: 'Dynamics 365 Customer Service',
        label: 'Dynamics 365 Customer Service (Case)',
        tables: [table('incident', 'Case', 'Dynamics 365 Customer Service')],
      },
      {
        name: 'Dynamics 365 Sales',
        label: 'Dynamics 365 Sales (Lead, Opportunity)',
        tables: [table('lead', 'Lead', 'Dynamics 365 Sales'), table('opportunity', 'Opportunity', 'Dynamics 365 Sales')],
      },
      { name: 'Activities', label: 'Activities (Task)', tables: [table('task', 'Task', 'Activities')] },
      { name: 'Dataverse', label: 'Dataverse', tables: [table('account', 'Account', 'Dataverse')] },
    ],
    projects: [
      { id: '10001', key: 'ENG', name: 'Engineering' },
      { id: '10000', key: 'SUP', name: 'IT Support' },
    ],
    issueTypes:
      args.project === 'SUP'
        ? [
            { id: '10004', name: 'Service Request', subtask: false },
            { id: '10005', name: 'Incident', subtask: false },
          ]
        : [],
    mapping,
  };
}

/** A Smart Connected Item on Cases, by default one-way with title → summary. */
export function dynamicsJobView(overrides: Partial<JobView> = {}, settings: Record<string, unknown> = {}): JobView {
  const name = overrides.name ?? 'cases';
  const settingsJson = JSON.stringify(
    {
      dataverse_connection: 'demo-dataverse',
      jira_connection: 'demo-jira',
      mode: 'one_way',
      jira_project: 'SUP',
      jira_issue_type: '10004',
      module: 'Dynamics 365 Customer Service',
      table: 'incident',
      fields: [{ dataverse: 'title', jira: 'summary' }],
      ...settings,
    },
    null,
    2,
  );
  return jobView({
    name,
    kind: 'dynamics-item',
    kindLabel: 'Dynamics 365 ↔ Jira (Smart Connected Item)',
    schedule: { every_minutes: 1 },
    scheduleLabel: 'Every minute',
    form: { originalName: name, name, kind: 'dynamics-item', schedule: { every_minutes: 1 }, enabled: true, settingsJson },
    ...overrides,
  });
}

export function linkRow(overrides: Partial<DynamicsLinkRow> = {}): DynamicsLinkRow {
  return {
    jiraKey: 'SUP-1',
    jiraIssueId: '10001',
    table: 'incident',
    recordId: '6f1c2d3e-0000-4000-8000-000000000001',
    managed: 'manual',
    createdAt: '2025-11-20T10:00:00Z',
    baselineAt: null,
    ...overrides,
  };
}

export function issueHit(overrides: Partial<IssueHit> = {}): IssueHit {
  const key = overrides.key ?? 'SUP-7';
  return {
    id: '10007',
    key,
    summary: 'Printer on floor 3 jams',
    status: 'Open',
    url: `https://contoso.atlassian.net/browse/${key}`,
    linked_to: null,
    ...overrides,
  };
}

export function recordHit(overrides: Partial<RecordHit> = {}): RecordHit {
  const id = overrides.id ?? '6f1c2d3e-0000-4000-8000-000000000007';
  return {
    id,
    name: 'Printer jam on floor 3',
    url: `https://contoso.crm.dynamics.com/main.aspx?etn=incident&id=${id}&pagetype=entityrecord`,
    linked_to: null,
    ...overrides,
  };
}

export function linkPreview(overrides: Partial<LinkPreview> = {}): LinkPreview {
  return {
    jira_key: 'SUP-7',
    jira_issue_id: '10007',
    issue_url: 'https://contoso.atlassian.net/browse/SUP-7',
    issue_summary: 'Printer on floor 3 jams',
    issue_status: 'Open',
    record_id: '6f1c2d3e-0000-4000-8000-000000000007',
    record_name: 'Printer jam on floor 3',
    record_url: 'https://contoso.crm.dynamics.com/main.aspx?etn=incident&id=6f1c2d3e-0000-4000-8000-000000000007&pagetype=entityrecord',
    record_status: 'In Progress',
    managed: 'manual',
    fields: [
      { dataverse_column: 'title', jira_field: 'Summary', dynamics: 'Printer jam on floor 3', jira: 'Printer on floor 3 jams' },
      { dataverse_column: 'prioritycode', jira_field: 'Priority', dynamics: 'High', jira: 'High' },
    ],
    status_sync: 'in_step',
    status_pending: null,
    ...overrides,
  };
}
