/**
 * The Smart Connected Item wizard's model: defaults of a new item (mirroring serde's on the
 * Rust side, `crosswalk-dynamics/src/settings.rs`), reading the settings JSON into the
 * generated `DynamicsItemSettings` and writing it back, the client-side checks that mirror
 * `DynamicsItemSettings::problems` (plus the ones only the live catalogue can answer: columns,
 * fields, compatibility), the compatibility of a mapping, and the editable status map.
 *
 * Pure functions over plain objects, so the form's `$state` proxies and tests both use them.
 */
import type { CompatibilityLevel } from './bindings/CompatibilityLevel';
import type { DynamicsColumnView } from './bindings/DynamicsColumnView';
import type { DynamicsCompatibilityView } from './bindings/DynamicsCompatibilityView';
import type { DynamicsFieldMapping } from './bindings/DynamicsFieldMapping';
import type { DynamicsItemSettings } from './bindings/DynamicsItemSettings';
import type { DynamicsMappingCatalogue } from './bindings/DynamicsMappingCatalogue';
import type { DynamicsOwnership } from './bindings/DynamicsOwnership';
import type { DynamicsStatusDirection } from './bindings/DynamicsStatusDirection';
import type { DynamicsStatusRow } from './bindings/DynamicsStatusRow';
import type { DynamicsSyncMode } from './bindings/DynamicsSyncMode';
import type { FieldError } from './bindings/FieldError';
import type { JiraFieldView } from './bindings/JiraFieldView';

/** The job kind word of Smart Connected Items (`crosswalk_dynamics::KIND`). */
export const DYNAMICS_ITEM_KIND = 'dynamics-item';

/** Prefix of the form's field keys for settings problems (`settings.table`), as for Entra Sync. */
export const SETTINGS_FIELD = 'settings.';

/** A new item's schedule: every minute (the seed polls every five). */
export const DYNAMICS_EVERY_MINUTES = 1;
export const DYNAMICS_SCHEDULE_NOTE = 'The seed polls every 5 minutes; 1 minute is the default here.';

/** The seed's attachment ceiling, for the help text. */
export const ATTACHMENT_HELP =
  'The seed skips files over 10 MB; Crosswalk copies up to what both sides accept. Set a limit to copy less.';

export const MODES: readonly { value: DynamicsSyncMode; label: string; description: string }[] = [
  {
    value: 'display_only',
    label: 'Display only',
    description:
      'Link records to issues by hand and preview the mapped fields. Nothing is created or synchronized on a schedule.',
  },
  {
    value: 'one_way',
    label: 'One-way: Dynamics → Jira',
    description:
      'Mapped fields flow from Dynamics to Jira; new records can create issues. Status, comments and attachments sync both ways when turned on.',
  },
  {
    value: 'two_way',
    label: 'Two-way: Dynamics ↔ Jira',
    description:
      'Mapped fields flow both ways, each field with a rule for which side wins when both changed it; status, comments and attachments as in one-way.',
  },
];

/** Ownership settles only a field changed on both sides; a one-sided change is always copied. */
export const OWNERS: readonly { value: DynamicsOwnership; label: string }[] = [
  { value: 'most_recent', label: 'Most recent change wins' },
  { value: 'dynamics', label: 'Dynamics wins' },
  { value: 'jira', label: 'Jira wins' },
];

/** The tooltip of the "On conflict" select: what ownership does and does not do. */
export const CONFLICT_HINT =
  'The value kept when both Jira and Dynamics changed this field since the last sync. A change on one side alone is always copied to the other; for a single source of truth, use one-way mode.';

export const LEVEL_LABELS: Record<CompatibilityLevel, string> = {
  exact: 'Exact',
  lossy: 'Lossy',
  incompatible: 'Incompatible',
};

/**
 * `DynamicsItemSettings` as the form holds it: optional fields are present (null when unset),
 * and a number input the admin emptied is `null` until they type again.
 */
export type Settings = Omit<
  DynamicsItemSettings,
  'module' | 'max_attachment_mb' | 'jira_search_lag_secs' | 'deletion_check_minutes'
> & {
  module: string | null;
  max_attachment_mb: number | null;
  jira_search_lag_secs: number | null;
  deletion_check_minutes: number | null;
};

export type SettingsReading = { settings: Settings; problem: null } | { settings: null; problem: string };

/** A new item's settings, as serde fills in what the JSON leaves out. */
export function defaultDynamicsSettings(): Settings {
  return {
    dataverse_connection: '',
    jira_connection: '',
    mode: 'one_way',
    jira_project: '',
    jira_issue_type: '',
    module: null,
    table: '',
    auto_create: { enabled: false },
    fields: [],
    status: { enabled: false, map: [] },
    comments: false,
    attachments: false,
    max_attachment_mb: null,
    mirror_deletions: false,
    link_note: true,
    remote_link: true,
    jira_search_lag_secs: 120,
    deletion_check_minutes: 15,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

type Expect = 'string' | 'optionalString' | 'boolean' | 'number' | 'count' | 'list' | 'object';

const WANTED: Record<Expect, string> = {
  string: 'text',
  optionalString: 'text or null',
  boolean: 'true or false',
  number: 'a number',
  count: 'a number or null',
  list: 'a list',
  object: 'an object',
};

function fits(value: unknown, expect: Expect): boolean {
  switch (expect) {
    case 'string':
      return typeof value === 'string';
    case 'optionalString':
      return value === null || typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'count':
      return value === null || (typeof value === 'number' && Number.isFinite(value));
    case 'list':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
  }
}

const SHAPE: Record<string, Expect> = {
  dataverse_connection: 'string',
  jira_connection: 'string',
  mode: 'string',
  jira_project: 'string',
  jira_issue_type: 'string',
  module: 'optionalString',
  table: 'string',
  auto_create: 'object',
  fields: 'list',
  status: 'object',
  comments: 'boolean',
  attachments: 'boolean',
  max_attachment_mb: 'count',
  mirror_deletions: 'boolean',
  link_note: 'boolean',
  remote_link: 'boolean',
  jira_search_lag_secs: 'count',
  deletion_check_minutes: 'count',
};

const NESTED: Record<string, Record<string, Expect>> = {
  auto_create: { enabled: 'boolean', filter: 'optionalString' },
  status: { enabled: 'boolean', map: 'list', resolution_text: 'optionalString' },
};

/** What in `raw` the form cannot show (wrong types); unknown keys are left to the backend. */
function shapeProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const check = (path: string, value: unknown, expect: Expect): boolean => {
    if (fits(value, expect)) return true;
    problems.push(`${path} must be ${WANTED[expect]}, not ${describe(value)}.`);
    return false;
  };
  for (const [key, expect] of Object.entries(SHAPE)) {
    if (!(key in raw) || !check(key, raw[key], expect)) continue;
    const nested = NESTED[key];
    const value = raw[key];
    if (nested === undefined || !isRecord(value)) continue;
    for (const [inner, innerExpect] of Object.entries(nested)) {
      if (inner in value) check(`${key}.${inner}`, value[inner], innerExpect);
    }
  }
  if ('mode' in raw && typeof raw.mode === 'string' && !MODES.some((mode) => mode.value === raw.mode)) {
    problems.push(`mode must be "display_only", "one_way" or "two_way", not ${describe(raw.mode)}.`);
  }
  if (Array.isArray(raw.fields)) {
    raw.fields.forEach((item: unknown, index) => {
      const path = `fields.${index}`;
      if (!isRecord(item)) {
        problems.push(`${path} must be an object, not ${describe(item)}.`);
        return;
      }
      if ('dataverse' in item) check(`${path}.dataverse`, item.dataverse, 'string');
      if ('jira' in item) check(`${path}.jira`, item.jira, 'string');
      if ('owner' in item && !OWNERS.some((owner) => owner.value === item.owner)) {
        problems.push(`${path}.owner must be "most_recent", "jira" or "dynamics", not ${describe(item.owner)}.`);
      }
      if ('values' in item && check(`${path}.values`, item.values, 'list') && Array.isArray(item.values)) {
        item.values.forEach((pair: unknown, pairIndex) => {
          const ok = isRecord(pair) && typeof pair.dataverse === 'string' && typeof pair.jira === 'string';
          if (!ok) problems.push(`${path}.values.${pairIndex} must be {"dataverse": text, "jira": text}.`);
        });
      }
    });
  }
  const status = raw.status;
  if (isRecord(status) && Array.isArray(status.map)) {
    status.map.forEach((pair: unknown, index) => {
      const ok =
        isRecord(pair) &&
        typeof pair.jira_status === 'string' &&
        Number.isInteger(pair.state) &&
        Number.isInteger(pair.status);
      if (!ok) problems.push(`status.map.${index} must be {"jira_status": text, "state": number, "status": number}.`);
    });
  }
  return problems;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Reads settings JSON into complete settings (missing fields take the defaults). */
export function readDynamicsSettings(text: string): SettingsReading {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error: unknown) {
    const detail = error instanceof Error ? error.message : String(error);
    return { settings: null, problem: `Not valid JSON: ${detail}` };
  }
  if (!isRecord(raw)) return { settings: null, problem: 'The settings must be a JSON object, e.g. {}.' };
  const problems = shapeProblems(raw);
  if (problems.length > 0) return { settings: null, problem: problems.join(' ') };
  const base = defaultDynamicsSettings();
  const given = clone(raw) as Partial<Settings> & Record<string, unknown>;
  const settings: Settings = {
    ...base,
    ...given,
    module: given.module ?? null,
    max_attachment_mb: given.max_attachment_mb ?? null,
    auto_create: { ...base.auto_create, ...given.auto_create },
    status: { ...base.status, ...given.status },
    fields: (given.fields ?? []).map((mapping: Partial<DynamicsFieldMapping>) => ({
      dataverse: '',
      jira: '',
      ...mapping,
      owner: mapping.owner ?? 'most_recent',
      values: mapping.values ?? [],
    })),
  };
  return { settings, problem: null };
}

function nonEmpty(text: string | null | undefined): string | null {
  return text === null || text === undefined || text.trim() === '' ? null : text;
}

/**
 * The settings as the job's JSON: every field spelled out (so the admin sees the effective
 * values); unset optional values (module, filter, attachment limit, resolution text) and empty
 * value maps left out; keys the form does not know kept for the backend to judge.
 */
export function dynamicsSettingsJson(settings: Settings): string {
  const {
    dataverse_connection,
    jira_connection,
    mode,
    jira_project,
    jira_issue_type,
    module,
    table,
    auto_create,
    fields,
    status,
    comments,
    attachments,
    max_attachment_mb,
    mirror_deletions,
    link_note,
    remote_link,
    jira_search_lag_secs,
    deletion_check_minutes,
    ...rest
  } = settings;
  const { enabled: autoEnabled, filter, ...autoRest } = auto_create;
  const { enabled: statusEnabled, map, resolution_text, ...statusRest } = status;
  const out: Record<string, unknown> = {
    dataverse_connection,
    jira_connection,
    mode,
    jira_project,
    jira_issue_type,
    ...(nonEmpty(module) === null ? {} : { module }),
    table,
    auto_create: {
      enabled: autoEnabled,
      ...(nonEmpty(filter) === null ? {} : { filter }),
      ...autoRest,
    },
    fields: fields.map((mapping: DynamicsFieldMapping) => {
      const { dataverse, jira, owner, values, ...mappingRest } = mapping;
      return {
        dataverse,
        jira,
        owner,
        ...(values.length > 0 ? { values } : {}),
        ...mappingRest,
      };
    }),
    status: {
      enabled: statusEnabled,
      map,
      ...(nonEmpty(resolution_text) === null ? {} : { resolution_text }),
      ...statusRest,
    },
    comments,
    attachments,
    ...(max_attachment_mb === null ? {} : { max_attachment_mb }),
    mirror_deletions,
    link_note,
    remote_link,
    jira_search_lag_secs,
    deletion_check_minutes,
    ...rest,
  };
  return JSON.stringify(out, null, 2);
}

/** `text` as `dynamicsSettingsJson` would write it, or null when it cannot be read. */
export function canonicalDynamicsJson(text: string): string | null {
  const reading = readDynamicsSettings(text);
  return reading.settings === null ? null : dynamicsSettingsJson(reading.settings);
}

// Catalogue look-ups

/** The catalogue describes the table, project and issue type the settings name. */
export function catalogueFits(settings: Settings, mapping: DynamicsMappingCatalogue | null): mapping is DynamicsMappingCatalogue {
  return (
    mapping !== null &&
    mapping.table === settings.table &&
    mapping.project === settings.jira_project &&
    mapping.issueType === settings.jira_issue_type
  );
}

export function columnOf(mapping: DynamicsMappingCatalogue, name: string): DynamicsColumnView | undefined {
  return mapping.columns.find((column) => column.name === name);
}

export function fieldOf(mapping: DynamicsMappingCatalogue, id: string): JiraFieldView | undefined {
  return mapping.fields.find((field) => field.id === id);
}

/** How `column` converts to `field`, when both are chosen and the catalogue knows the pair. */
export function compatibilityOf(
  mapping: DynamicsMappingCatalogue,
  column: string,
  field: string,
): DynamicsCompatibilityView | null {
  if (column === '' || field === '') return null;
  return mapping.compatibility.find((entry) => entry.column === column && entry.field === field) ?? null;
}

/** Whether a mapping row offers an explicit value map (choices, yes/no, options, priorities…). */
export function valueMapOffered(
  column: DynamicsColumnView | undefined,
  field: JiraFieldView | undefined,
  mapping: DynamicsFieldMapping,
): boolean {
  return mapping.values.length > 0 || (column?.options.length ?? 0) > 0 || (field?.allowedValues.length ?? 0) > 0;
}

/**
 * Required create-screen fields without a mapping or a default: Jira refuses to create issues
 * without them. `summary` is left out, as Crosswalk fills it from the record's name.
 */
export function unmappedRequiredFields(settings: Settings, mapping: DynamicsMappingCatalogue): JiraFieldView[] {
  const mapped = new Set(settings.fields.map((item) => item.jira));
  return mapping.fields.filter(
    (field) => field.required && !field.hasDefault && field.id !== 'summary' && !mapped.has(field.id),
  );
}

// Status map

export type StatusSourceMark = 'explicit' | 'heuristic' | 'none';

/** One row of the status editor: a Jira status and the Dynamics state/status it stands for. */
export interface StatusEditorRow {
  jiraStatus: string;
  jiraName: string;
  /** `null` when nothing pairs with it. */
  state: number | null;
  status: number | null;
  source: StatusSourceMark;
  direction: DynamicsStatusDirection | null;
  /** False for explicit pairs naming a status the workflow does not have. */
  inWorkflow: boolean;
}

/** `"0:1"`: the select value of a state/status pair. */
export function pairKey(state: number, status: number): string {
  return `${String(state)}:${String(status)}`;
}

export function parsePairKey(key: string): { state: number; status: number } | null {
  const match = /^(-?\d+):(-?\d+)$/.exec(key);
  if (match === null) return null;
  return { state: Number(match[1]), status: Number(match[2]) };
}

/** Every status reason of the table with its state, for the status editor's selects. */
export function statusChoices(mapping: DynamicsMappingCatalogue): { value: string; label: string }[] {
  return mapping.statuses
    .filter((status) => status.state !== null)
    .map((status) => {
      const state = mapping.states.find((option) => option.value === String(status.state));
      return {
        value: pairKey(status.state ?? 0, Number(status.value)),
        label: `${state?.label ?? `State ${String(status.state)}`} › ${status.label}`,
      };
    });
}

/**
 * One row per Jira status of the workflow: the item's explicit pair when it has one, else the
 * heuristic pair Crosswalk would use, else none; then explicit pairs for statuses the
 * workflow does not have (so they can be removed).
 */
export function statusEditorRows(settings: Settings, mapping: DynamicsMappingCatalogue): StatusEditorRow[] {
  const rows: StatusEditorRow[] = mapping.jiraStatuses.map((jira) => {
    const explicit = settings.status.map.find((pair) => pair.jira_status === jira.id);
    if (explicit !== undefined) {
      const heuristic = heuristicRow(mapping, jira.id);
      const same = heuristic?.state === explicit.state && heuristic.status === explicit.status;
      return {
        jiraStatus: jira.id,
        jiraName: jira.name,
        state: explicit.state,
        status: explicit.status,
        source: 'explicit',
        direction: same ? heuristic.direction : 'to_dataverse',
        inWorkflow: true,
      };
    }
    const heuristic = heuristicRow(mapping, jira.id);
    return {
      jiraStatus: jira.id,
      jiraName: jira.name,
      state: heuristic?.state ?? null,
      status: heuristic?.status ?? null,
      source: heuristic === undefined ? 'none' : 'heuristic',
      direction: heuristic?.direction ?? null,
      inWorkflow: true,
    };
  });
  for (const pair of settings.status.map) {
    if (mapping.jiraStatuses.some((jira) => jira.id === pair.jira_status)) continue;
    rows.push({
      jiraStatus: pair.jira_status,
      jiraName: pair.jira_status === '' ? '(no status)' : `Status ${pair.jira_status}`,
      state: pair.state,
      status: pair.status,
      source: 'explicit',
      direction: 'to_dataverse',
      inWorkflow: false,
    });
  }
  return rows;
}

function heuristicRow(mapping: DynamicsMappingCatalogue, jiraStatus: string): DynamicsStatusRow | undefined {
  return mapping.statusRows.find((row) => row.jira_status === jiraStatus && row.direction !== 'to_jira');
}

/** Heuristic rows that only hold from Dynamics to Jira (another reason owns the way back). */
export function reverseOnlyRows(mapping: DynamicsMappingCatalogue): DynamicsStatusRow[] {
  return mapping.statusRows.filter((row) => row.direction === 'to_jira');
}

/** Writes (or replaces) the explicit pair of a Jira status. */
export function setStatusPair(settings: Settings, jiraStatus: string, state: number, status: number): void {
  const others = settings.status.map.filter((pair) => pair.jira_status !== jiraStatus);
  settings.status.map = [...others, { jira_status: jiraStatus, state, status }];
}

/** Drops the explicit pair of a Jira status (the heuristic applies again). */
export function removeStatusPair(settings: Settings, jiraStatus: string): void {
  settings.status.map = settings.status.map.filter((pair) => pair.jira_status !== jiraStatus);
}

/** The label of a state/status pair, from the catalogue. */
export function pairLabel(mapping: DynamicsMappingCatalogue, state: number, status: number): string {
  return statusChoices(mapping).find((choice) => choice.value === pairKey(state, status))?.label ?? pairKey(state, status);
}

// Checks (mirroring crosswalk-dynamics, plus what only the catalogue knows)

const LOGICAL_NAME = /^[a-z0-9_]+$/;
const PROJECT_KEY = /^[A-Z0-9_]+$/;

/** Settings paths shown on step 1 of the wizard; every other path belongs to step 2. */
export const STEP_ONE_PATHS: readonly string[] = [
  'dataverse_connection',
  'jira_connection',
  'mode',
  'jira_project',
  'jira_issue_type',
  'module',
  'table',
];

/**
 * The problems the backend would report, as `settings.<path>` field errors with sentences for
 * the admin; with the catalogue of the chosen table and issue type, unknown columns and fields
 * and incompatible pairs too.
 */
export function validateDynamicsSettings(settings: Settings, catalogue: DynamicsMappingCatalogue | null): FieldError[] {
  const errors: FieldError[] = [];
  const add = (path: string, message: string): void => {
    errors.push({ field: SETTINGS_FIELD + path, message });
  };
  if (settings.dataverse_connection.trim() === '') {
    add('dataverse_connection', 'Choose the Dataverse connection whose records are linked.');
  }
  if (settings.jira_connection.trim() === '') add('jira_connection', 'Choose the Jira connection whose issues are linked.');
  if (settings.jira_project.trim() === '') add('jira_project', 'Choose the Jira project.');
  else if (!PROJECT_KEY.test(settings.jira_project)) {
    add('jira_project', 'Use the project key, e.g. SUP (capital letters, digits, underscore).');
  }
  if (settings.jira_issue_type.trim() === '') add('jira_issue_type', 'Choose the issue type.');
  if (settings.table.trim() === '') add('table', 'Choose the Dynamics table.');
  else if (!LOGICAL_NAME.test(settings.table)) add('table', 'Use the table’s logical name, e.g. incident (lower case).');
  if (settings.mode === 'display_only' && settings.auto_create.enabled) {
    add('auto_create.enabled', 'Display-only items never create issues; choose one-way or two-way sync.');
  }
  const known = catalogueFits(settings, catalogue) ? catalogue : null;
  const seen = new Map<string, number>();
  settings.fields.forEach((mapping, index) => {
    const path = `fields.${String(index)}`;
    if (!LOGICAL_NAME.test(mapping.dataverse)) {
      add(`${path}.dataverse`, 'Choose a Dynamics column.');
    } else if (known !== null && columnOf(known, mapping.dataverse) === undefined) {
      add(`${path}.dataverse`, `The table has no column “${mapping.dataverse}”.`);
    }
    if (mapping.jira.trim() === '') {
      add(`${path}.jira`, 'Choose a Jira field.');
    } else if (seen.has(mapping.jira)) {
      add(`${path}.jira`, `${fieldLabel(known, mapping.jira)} is already mapped in row ${String((seen.get(mapping.jira) ?? 0) + 1)}; a Jira field takes one column.`);
    } else if (known !== null && fieldOf(known, mapping.jira) === undefined) {
      add(`${path}.jira`, `“${mapping.jira}” is not on the create screen of this issue type.`);
    } else if (known !== null) {
      const compatibility = compatibilityOf(known, mapping.dataverse, mapping.jira);
      if (compatibility?.level === 'incompatible') {
        add(`${path}.jira`, `${compatibility.reason ?? 'These types do not convert'}; choose another field or column.`);
      }
    }
    if (mapping.jira.trim() !== '' && !seen.has(mapping.jira)) seen.set(mapping.jira, index);
    if (mapping.values.some((pair) => pair.dataverse.trim() === '' || pair.jira.trim() === '')) {
      add(`${path}.values`, 'Fill in both sides of each value pair, or remove it.');
    }
  });
  settings.status.map.forEach((pair, index) => {
    if (pair.jira_status.trim() === '') add(`status.map.${String(index)}.jira_status`, 'Choose a Jira status.');
  });
  const limit = settings.max_attachment_mb;
  if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
    add('max_attachment_mb', 'Enter a whole number of MB, 1 or more, or leave it empty.');
  }
  const lag = settings.jira_search_lag_secs;
  if (lag === null || !Number.isInteger(lag) || lag < 0) {
    add('jira_search_lag_secs', 'Enter a whole number of seconds, 0 or more.');
  }
  const every = settings.deletion_check_minutes;
  if (every === null || !Number.isInteger(every) || every < 0) {
    add('deletion_check_minutes', 'Enter a whole number of minutes, 0 (every poll) or more.');
  }
  return errors;
}

function fieldLabel(catalogue: DynamicsMappingCatalogue | null, id: string): string {
  const name = catalogue === null ? undefined : fieldOf(catalogue, id)?.name;
  return name === undefined ? `“${id}”` : `“${name}”`;
}

/** Every settings path the form shows a message for (the rest stay with the JSON). */
export function dynamicsFormPaths(settings: Settings): string[] {
  return [
    ...STEP_ONE_PATHS,
    'auto_create.enabled',
    'auto_create.filter',
    'fields',
    ...settings.fields.flatMap((_, index) => [
      `fields.${String(index)}.dataverse`,
      `fields.${String(index)}.jira`,
      `fields.${String(index)}.values`,
      `fields.${String(index)}.owner`,
    ]),
    'status.enabled',
    'status.map',
    ...settings.status.map.map((_, index) => `status.map.${String(index)}.jira_status`),
    'comments',
    'attachments',
    'max_attachment_mb',
    'mirror_deletions',
    'link_note',
    'remote_link',
  ];
}

/** Which wizard step shows a settings path (`settings.` prefix or not). */
export function stepOf(path: string): 1 | 2 {
  const bare = path.startsWith(SETTINGS_FIELD) ? path.slice(SETTINGS_FIELD.length) : path;
  return STEP_ONE_PATHS.includes(bare) ? 1 : 2;
}
