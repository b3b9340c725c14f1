/**
 * The console's only door to the Rust side.
 *
 * Every Tauri command and event the UI uses has a typed camelCase wrapper here; the types come
 * from `./bindings` (generated from the Rust DTOs by ts-rs, never edited by hand). No other
 * module imports `@tauri-apps/api` (an ESLint rule enforces it), so tests mock exactly this
 * surface with `mockIPC`.
 *
 * Every rejected command is normalised into a `CommandError`, which is an `Error` that also
 * satisfies the generated `AppError` shape: `{ code, message, fix, fields }`.
 */
import { invoke, type InvokeArgs } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AppError } from './bindings/AppError';
import type { AppInfo } from './bindings/AppInfo';
import type { AppSettings } from './bindings/AppSettings';
import type { CheckReport } from './bindings/CheckReport';
import type { Code } from './bindings/Code';
import type { ConnectionForm } from './bindings/ConnectionForm';
import type { ConnectionView } from './bindings/ConnectionView';
import type { DashboardView } from './bindings/DashboardView';
import type { EventPage } from './bindings/EventPage';
import type { EventQuery } from './bindings/EventQuery';
import type { FieldError } from './bindings/FieldError';
import type { JobForm } from './bindings/JobForm';
import type { JobKindView } from './bindings/JobKindView';
import type { JobView } from './bindings/JobView';
import type { RunChanged } from './bindings/RunChanged';
import type { RunDetail } from './bindings/RunDetail';
import type { RunProgress } from './bindings/RunProgress';
import type { RunSummary } from './bindings/RunSummary';
import type { SecretExpiryView } from './bindings/SecretExpiryView';
import type { EntraCatalogue } from './bindings/EntraCatalogue';
import type { AssetsSchemaView } from './bindings/AssetsSchemaView';
import type { DynamicsBulkPair } from './bindings/DynamicsBulkPair';
import type { DynamicsBulkPreview } from './bindings/DynamicsBulkPreview';
import type { DynamicsBulkResult } from './bindings/DynamicsBulkResult';
import type { DynamicsBulkRule } from './bindings/DynamicsBulkRule';
import type { DynamicsCatalogue } from './bindings/DynamicsCatalogue';
import type { DynamicsCatalogueQuery } from './bindings/DynamicsCatalogueQuery';
import type { DynamicsHits } from './bindings/DynamicsHits';
import type { DynamicsLinkNames } from './bindings/DynamicsLinkNames';
import type { DynamicsLinkPage } from './bindings/DynamicsLinkPage';
import type { DynamicsLinkQuery } from './bindings/DynamicsLinkQuery';
import type { DynamicsSide } from './bindings/DynamicsSide';
import type { LinkPreview } from './bindings/LinkPreview';
import { toNumber, type Int } from './ids';

export type { UnlistenFn };

const CODES: readonly Code[] = [
  'unknown',
  'validation',
  'notFound',
  'authExpired',
  'permissionDenied',
  'remoteUnavailable',
  'secretsUnavailable',
  'conflict',
  'cancelled',
];

/** A failed command: an `Error` (stack, `instanceof`) carrying the backend's `AppError`. */
export class CommandError extends Error implements AppError {
  readonly code: Code;
  readonly fix: string | null;
  readonly fields: FieldError[];

  constructor(error: AppError) {
    super(error.message);
    this.name = 'CommandError';
    this.code = error.code;
    this.fix = error.fix;
    this.fields = error.fields;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function toFieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  const fields: FieldError[] = [];
  for (const item of value as unknown[]) {
    if (!isRecord(item)) continue;
    const field = nonEmptyString(item.field);
    const message = nonEmptyString(item.message);
    if (field !== null && message !== null) fields.push({ field, message });
  }
  return fields;
}

/**
 * Turns whatever a command (or our own code) threw into a `CommandError`.
 *
 * Tauri rejects with the serialised `AppError` object when the Rust side returns one, with a
 * plain string for its own failures (unknown command, bad arguments, missing permission) and
 * JS code can throw anything; all of them end up with a code, a message and a (maybe empty)
 * list of field errors, so the UI has one shape to show.
 */
export function toAppError(raw: unknown): CommandError {
  if (raw instanceof CommandError) return raw;
  if (typeof raw === 'string') {
    return new CommandError({
      code: 'unknown',
      message: raw.trim() === '' ? 'Something went wrong.' : raw,
      fix: null,
      fields: [],
    });
  }
  if (isRecord(raw)) {
    const code = CODES.find((known) => known === raw.code) ?? 'unknown';
    const fields = toFieldErrors(raw.fields);
    const message =
      nonEmptyString(raw.message) ??
      (fields.length > 0 ? 'Some fields need attention.' : 'Something went wrong.');
    return new CommandError({ code, message, fix: nonEmptyString(raw.fix), fields });
  }
  const printable = typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint';
  return new CommandError({
    code: 'unknown',
    message: printable ? String(raw) : 'Something went wrong.',
    fix: null,
    fields: [],
  });
}

async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error: unknown) {
    throw toAppError(error);
  }
}

// Connections

export function listConnections(): Promise<ConnectionView[]> {
  return call('list_connections');
}

export function saveConnection(form: ConnectionForm): Promise<ConnectionView> {
  return call('save_connection', { form });
}

export function deleteConnection(name: string): Promise<null> {
  return call('delete_connection', { name });
}

export function testConnection(name: string): Promise<CheckReport> {
  return call('test_connection', { name });
}

/**
 * When the client secret of each Entra and Dataverse connection expires, as the last health
 * check or sync read it (no network; connections never checked are left out), soonest first.
 */
export function listSecretExpiries(): Promise<SecretExpiryView[]> {
  return call('list_secret_expiries');
}

// Jobs

export function listJobKinds(): Promise<JobKindView[]> {
  return call('list_job_kinds');
}

export function listJobs(): Promise<JobView[]> {
  return call('list_jobs');
}

export function saveJob(form: JobForm): Promise<JobView> {
  return call('save_job', { form });
}

export function deleteJob(name: string): Promise<null> {
  return call('delete_job', { name });
}

/** Starts a run whatever the schedule; resolves to the new run's id. */
export function runJobNow(name: string): Promise<number> {
  return call('run_job_now', { name });
}

/** "Preview": a dry run recording the plan without writing anywhere; resolves to its run id. */
export function previewJob(name: string): Promise<number> {
  return call('preview_job', { name });
}

/** Lets an Entra Sync job's next run carry out the retirements its guard held back. */
export function confirmRetirements(name: string): Promise<null> {
  return call('confirm_retirements', { name });
}

/** Kinds, mappable properties and defaults for the Entra Sync job editor (no network). */
export function entraCatalogue(): Promise<EntraCatalogue> {
  return call('entra_catalogue');
}

/** The Assets object schemas of a Jira connection, each with its conflicting types. */
export function listAssetSchemas(jiraConnection: string): Promise<AssetsSchemaView[]> {
  return call('list_asset_schemas', { jiraConnection });
}

// Smart Connected Items (Dynamics 365 ↔ Jira)

/**
 * What the item wizard offers, read live from both connections: tables by module and Jira
 * projects; the project's issue types once `project` is set; columns, create-screen fields,
 * their compatibility and the heuristic status map once `table`, `project` and `issueType` are.
 */
export function dynamicsCatalogue(query: DynamicsCatalogueQuery): Promise<DynamicsCatalogue> {
  return call('dynamics_catalogue', { ...query });
}

/** One page of an item's stored links, newest first, filtered by issue key or record id (no remote calls). */
export function dynamicsLinkPage(job: string, query: DynamicsLinkQuery): Promise<DynamicsLinkPage> {
  return call('dynamics_link_page', { job, query });
}

/**
 * Issue summaries and record names for the links of one page: one batched read per side
 * (a JQL `key in (…)` search, a Dataverse read by ids); not-found ones are left out.
 */
export function dynamicsLinkNames(job: string, issueKeys: string[], recordIds: string[]): Promise<DynamicsLinkNames> {
  return call('dynamics_link_names', { job, issueKeys, recordIds });
}

/** Issues of the item's project (`jira`) or records of its table (`dynamics`) matching `text`. */
export function dynamicsSearch(job: string, side: DynamicsSide, text: string): Promise<DynamicsHits> {
  return call('dynamics_search', { job, side, text });
}

/** Links an issue to a record by hand; resolves to the new link's preview. */
export function dynamicsLink(job: string, issueKey: string, recordId: string): Promise<LinkPreview> {
  return call('dynamics_link', { job, issueKey, recordId });
}

/** Removes a manual link (by issue key or record id); the issue and the record stay. */
export function dynamicsUnlink(job: string, issueKeyOrRecord: string): Promise<null> {
  return call('dynamics_unlink', { job, issueKeyOrRecord });
}

/** Both sides of an issue's link as they are now ("Refresh preview"). */
export function dynamicsPreview(job: string, issueKey: string): Promise<LinkPreview> {
  return call('dynamics_preview', { job, issueKey });
}

/** Opens a page of a configured Jira site or Dynamics environment in the default browser. */
export function openLink(url: string): Promise<null> {
  return call('open_link', { url });
}

/** The pairs a bulk link would make under `rule` (nothing is written). */
export function dynamicsBulkPreview(job: string, rule: DynamicsBulkRule): Promise<DynamicsBulkPreview> {
  return call('dynamics_bulk_preview', { job, rule });
}

/** Links previewed pairs as a run of the item (one event per record); resolves when it ends. */
export function dynamicsBulkLink(job: string, pairs: DynamicsBulkPair[]): Promise<DynamicsBulkResult> {
  return call('dynamics_bulk_link', { job, pairs });
}

/** Asks a running run to stop; resolves to false when it had already finished. */
export function cancelRun(runId: Int): Promise<boolean> {
  // JSON has no bigint: send ids as numbers whichever way the caller holds them.
  return call('cancel_run', { runId: toNumber(runId) });
}

// Runs

export function listRuns(jobName: string | null, limit: number): Promise<RunSummary[]> {
  return call('list_runs', { jobName, limit });
}

export function getRun(runId: Int): Promise<RunDetail> {
  return call('get_run', { runId: toNumber(runId) });
}

export function listRunEvents(runId: Int, query: EventQuery): Promise<EventPage> {
  return call('list_run_events', { runId: toNumber(runId), query });
}

// Dashboard and settings

export function getDashboard(): Promise<DashboardView> {
  return call('get_dashboard');
}

export function getSettings(): Promise<AppSettings> {
  return call('get_settings');
}

export function saveSettings(settings: AppSettings): Promise<AppSettings> {
  return call('save_settings', { settings });
}

export function getAppInfo(): Promise<AppInfo> {
  return call('get_app_info');
}

/** Opens `crosswalk demo` in its own window, on its own data folder (never the real one). */
export function startDemo(): Promise<null> {
  return call('start_demo');
}

// Events pushed by the backend

export async function onRunProgress(handler: (progress: RunProgress) => void): Promise<UnlistenFn> {
  return listen<RunProgress>('run:progress', (event) => handler(event.payload));
}

export async function onRunChanged(handler: (change: RunChanged) => void): Promise<UnlistenFn> {
  return listen<RunChanged>('run:changed', (event) => handler(event.payload));
}

export async function onSchedulesPaused(handler: (paused: boolean) => void): Promise<UnlistenFn> {
  return listen<boolean>('schedules:paused', (event) => handler(event.payload));
}
