/** Builders for the generated IPC types, with sensible defaults and per-test overrides. */
import type { AssetsSchemaView } from '../lib/bindings/AssetsSchemaView';
import type { CheckReport } from '../lib/bindings/CheckReport';
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
