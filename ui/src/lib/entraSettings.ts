/**
 * The Entra Sync job editor's model: reading the settings JSON into the generated
 * `EntraSyncSettings` (missing fields take the catalogue's defaults, as serde does on the Rust
 * side), writing it back (attribute overrides only), the client-side checks that mirror
 * `crosswalk-entra`'s `EntraSyncSettings::parse` and `Mapping::new`, and placing the backend's
 * settings problems ("schema_key: must be…") next to the field they name.
 *
 * Pure functions over plain objects, so the form's `$state` proxies and tests both use them.
 */
import type { AssetsSchemaView } from './bindings/AssetsSchemaView';
import type { EntraCatalogue } from './bindings/EntraCatalogue';
import type { EntraKindView } from './bindings/EntraKindView';
import type { EntraPropertyView } from './bindings/EntraPropertyView';
import type { EntraRetire } from './bindings/EntraRetire';
import type { EntraSyncSettings } from './bindings/EntraSyncSettings';
import type { FieldError } from './bindings/FieldError';

/** The job kind word of Entra Sync jobs (`crosswalk_entra::KIND`). */
export const ENTRA_SYNC_KIND = 'entra-sync';

/** Graph's `userType` values the filter offers. */
export const USER_TYPES = ['Member', 'Guest'] as const;

/** Operating systems offered as chips; any other value can be typed. */
export const DEVICE_PLATFORMS = ['Windows', 'macOS', 'iOS', 'Android', 'Linux'] as const;

/**
 * The kinds (`kinds.<setting>` words) that take an OData filter, in the backend's order;
 * memberships follow their group and member (`crosswalk-entra`'s `ODataFilters`).
 */
export const ODATA_KINDS = ['users', 'groups', 'applications', 'devices', 'managed_devices'] as const;
export type ODataKind = (typeof ODATA_KINDS)[number];

/**
 * Attribute names Assets manages on every object type, refused as mapping targets besides the
 * catalogue's `fixedAttributes` (mirrors the list in `crosswalk-entra/src/mapping.rs`).
 */
const ASSETS_MANAGED = ['Key', 'Created', 'Updated'];

/** Prefix of the form's field keys for settings problems (`settings.schema_key`). */
export const SETTINGS_FIELD = 'settings.';

/**
 * `EntraSyncSettings` as the form holds it: a number input the admin emptied is `null` until
 * they type again (the checks say so; the backend would refuse it).
 */
export type Settings = Omit<EntraSyncSettings, 'retire'> & {
  retire: Omit<EntraRetire, 'delete_after_days' | 'max_share_percent' | 'guard_floor'> & {
    delete_after_days: number | null;
    max_share_percent: number | null;
    guard_floor: number | null;
  };
};
/** Per kind word and Graph property: a new name, `false`/`null` (not synced) or `true` (default). */
type Overrides = Record<string, Record<string, string | boolean | null>>;

export type SettingsReading = { settings: Settings; problem: null } | { settings: null; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** `count` is a number, or null for an emptied number input (the checks report it). */
type Expect = 'string' | 'boolean' | 'count' | 'strings' | 'object';

function typeProblem(path: string, value: unknown, expect: Expect): string | null {
  const ok =
    expect === 'strings'
      ? Array.isArray(value) && value.every((item) => typeof item === 'string')
      : expect === 'object'
        ? isRecord(value)
        : expect === 'count'
          ? value === null || (typeof value === 'number' && Number.isFinite(value))
          : typeof value === expect;
  if (ok) return null;
  const wanted = {
    string: 'text',
    boolean: 'true or false',
    count: 'a number',
    strings: 'a list of texts',
    object: 'an object',
  }[expect];
  return `${path} must be ${wanted}, not ${describe(value)}.`;
}

const SHAPE: Record<string, Expect> = {
  entra_connection: 'string',
  jira_connection: 'string',
  schema_name: 'string',
  schema_key: 'string',
  kinds: 'object',
  filters: 'object',
  attributes: 'object',
  retire: 'object',
};

const NESTED: Record<string, Record<string, Expect>> = {
  kinds: {
    users: 'boolean',
    groups: 'boolean',
    memberships: 'boolean',
    applications: 'boolean',
    devices: 'boolean',
    managed_devices: 'boolean',
  },
  filters: {
    user_types: 'strings',
    member_of_groups: 'strings',
    skip_disabled_users: 'boolean',
    device_platforms: 'strings',
    odata: 'object',
  },
  retire: { mode: 'string', delete_after_days: 'count', max_share_percent: 'count', guard_floor: 'count' },
};

/** What in `raw` the form cannot show (wrong types); unknown keys are left to the backend. */
function shapeProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, expect] of Object.entries(SHAPE)) {
    if (!(key in raw)) continue;
    const problem = typeProblem(key, raw[key], expect);
    if (problem !== null) {
      problems.push(problem);
      continue;
    }
    const nested = NESTED[key];
    const value = raw[key];
    if (nested === undefined || !isRecord(value)) continue;
    for (const [inner, innerExpect] of Object.entries(nested)) {
      if (!(inner in value)) continue;
      const innerProblem = typeProblem(`${key}.${inner}`, value[inner], innerExpect);
      if (innerProblem !== null) problems.push(innerProblem);
    }
  }
  const odata = isRecord(raw.filters) ? raw.filters.odata : undefined;
  if (isRecord(odata)) {
    for (const [kind, text] of Object.entries(odata)) {
      if (typeof text !== 'string') problems.push(`filters.odata.${kind} must be text, not ${describe(text)}.`);
    }
  }
  const retire = raw.retire;
  if (isRecord(retire) && 'mode' in retire && retire.mode !== 'mark' && retire.mode !== 'delete') {
    problems.push(`retire.mode must be "mark" or "delete", not ${describe(retire.mode)}.`);
  }
  const attributes = raw.attributes;
  if (isRecord(attributes)) {
    for (const [word, map] of Object.entries(attributes)) {
      if (!isRecord(map)) {
        problems.push(`attributes.${word} must be an object, not ${describe(map)}.`);
        continue;
      }
      for (const [graph, name] of Object.entries(map)) {
        if (name !== null && typeof name !== 'string' && typeof name !== 'boolean') {
          problems.push(`attributes.${word}.${graph} must be an attribute name or false, not ${describe(name)}.`);
        }
      }
    }
  }
  return problems;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Reads settings JSON into a complete `EntraSyncSettings` (missing fields from `defaults`).
 * Unknown keys are kept, so writing the settings back never loses what the admin typed; the
 * backend names them when saving.
 */
export function readEntraSettings(text: string, defaults: Settings): SettingsReading {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error: unknown) {
    const detail = error instanceof Error ? error.message : String(error);
    return { settings: null, problem: `Not valid JSON: ${detail}` };
  }
  if (!isRecord(raw)) return { settings: null, problem: 'The settings must be a JSON object, e.g. {}.' };
  const problems = shapeProblems(raw);
  if (problems.length > 0) return { settings: null, problem: problems.join(' ') };
  const base = clone(defaults);
  const given = clone(raw) as Partial<Settings> & Record<string, unknown>;
  const settings: Settings = {
    ...base,
    ...given,
    kinds: { ...base.kinds, ...given.kinds },
    filters: { ...base.filters, ...given.filters },
    retire: { ...base.retire, ...given.retire },
    attributes: { ...given.attributes },
  };
  settings.filters.user_types ??= [];
  settings.filters.member_of_groups ??= [];
  settings.filters.device_platforms ??= [];
  return { settings, problem: null };
}

function byKey([a]: [string, unknown], [b]: [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nonEmptyOverrides(attributes: Overrides | undefined): Overrides | null {
  // Sorted, as the backend's BTreeMap writes them.
  const out: Overrides = {};
  for (const [word, map] of Object.entries(attributes ?? {}).sort(byKey)) {
    // `true` means the default attribute: no override at all.
    const entries = Object.entries(map)
      .filter(([, value]) => value !== true)
      .sort(byKey);
    if (entries.length > 0) out[word] = Object.fromEntries(entries);
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * The settings as the job's JSON: every field spelled out (so the admin sees the effective
 * values), empty filter lists and attribute maps left out as the backend writes them, and
 * `attributes` holding only the overrides.
 */
export function entraSettingsJson(settings: Settings): string {
  const { entra_connection, jira_connection, schema_name, schema_key, kinds, filters, attributes, retire, ...rest } =
    settings;
  const { user_types, member_of_groups, device_platforms, odata, ...otherFilters } = filters;
  const overrides = nonEmptyOverrides(attributes);
  const filterTexts = nonEmptyODataFilters(odata);
  const out: Record<string, unknown> = {
    entra_connection,
    jira_connection,
    schema_name,
    schema_key,
    kinds,
    filters: {
      ...(user_types !== undefined && user_types.length > 0 ? { user_types } : {}),
      ...(member_of_groups !== undefined && member_of_groups.length > 0 ? { member_of_groups } : {}),
      ...otherFilters,
      ...(device_platforms !== undefined && device_platforms.length > 0 ? { device_platforms } : {}),
      ...(filterTexts === null ? {} : { odata: filterTexts }),
    },
    ...(overrides === null ? {} : { attributes: overrides }),
    retire,
    ...rest,
  };
  return JSON.stringify(out, null, 2);
}

/** `text` as `entraSettingsJson` would write it, or null when it cannot be read. */
export function canonicalEntraJson(text: string, defaults: Settings): string | null {
  const reading = readEntraSettings(text, defaults);
  return reading.settings === null ? null : entraSettingsJson(reading.settings);
}

// Attribute overrides

/**
 * The override for one property: a new name, `false` (not synced; `null` is read the same) or
 * `undefined` (the default attribute; `true` is read the same).
 */
export function attributeOverride(settings: Settings, word: string, graph: string): string | false | undefined {
  const value = settings.attributes?.[word]?.[graph];
  if (value === undefined || value === true) return undefined;
  return value ?? false;
}

/** The attribute a property fills (its override, else the catalogue's name). */
export function attributeName(settings: Settings, word: string, property: EntraPropertyView): string {
  const override = attributeOverride(settings, word, property.graph);
  return typeof override === 'string' ? override : property.attribute;
}

export function isSynced(settings: Settings, word: string, graph: string): boolean {
  return attributeOverride(settings, word, graph) !== false;
}

function writeOverride(settings: Settings, word: string, graph: string, value: string | false | undefined): void {
  const attributes = settings.attributes ?? {};
  const map = Object.fromEntries(Object.entries(attributes[word] ?? {}).filter(([key]) => key !== graph));
  if (value !== undefined) map[graph] = value;
  const others = Object.entries(attributes).filter(([key]) => key !== word);
  settings.attributes = Object.fromEntries(Object.keys(map).length === 0 ? others : [...others, [word, map]]);
}

/** Renames a property's attribute; the catalogue's own name removes the override. */
export function setAttributeName(settings: Settings, word: string, property: EntraPropertyView, name: string): void {
  writeOverride(settings, word, property.graph, name === property.attribute ? undefined : name);
}

/**
 * Turns syncing a property on (back to its default name) or off. Off is written `false`, which
 * the backend reads like `null` and which TOML (the config file) can hold.
 */
export function setSynced(settings: Settings, word: string, graph: string, synced: boolean): void {
  writeOverride(settings, word, graph, synced ? undefined : false);
}

/** How many properties of a kind differ from the catalogue (renamed or not synced). */
export function overrideCount(settings: Settings, kind: EntraKindView): number {
  return kind.properties.filter((property) => attributeOverride(settings, kind.word, property.graph) !== undefined)
    .length;
}

// Kinds

/** Whether the kind with this `setting` word (`users`, `managed_devices`…) is synced. */
export function kindEnabled(settings: Settings, setting: string): boolean {
  return (settings.kinds as Record<string, boolean | undefined>)[setting] === true;
}

export function setKindEnabled(settings: Settings, setting: string, enabled: boolean): void {
  (settings.kinds as Record<string, boolean>)[setting] = enabled;
}

// Filters

/**
 * The OData filters as the backend writes them: known kinds in its order, blank ones left out,
 * unknown keys kept (the backend names them when saving).
 */
function nonEmptyODataFilters(odata: Record<string, string | undefined> | undefined): Record<string, string> | null {
  const out: Record<string, string> = {};
  const known: readonly string[] = ODATA_KINDS;
  for (const kind of [...ODATA_KINDS, ...Object.keys(odata ?? {}).filter((key) => !known.includes(key))]) {
    const text = odata?.[kind];
    if (typeof text === 'string' && text.trim() !== '') out[kind] = text;
  }
  return Object.keys(out).length > 0 ? out : null;
}

export function isODataKind(setting: string): setting is ODataKind {
  return (ODATA_KINDS as readonly string[]).includes(setting);
}

/** An example filter per kind, for placeholders. */
export const ODATA_EXAMPLES: Record<ODataKind, string> = {
  users: "department eq 'Sales' and not startswith(jobTitle,'Intern')",
  groups: "groupTypes/any(c:c eq 'Unified')",
  applications: "signInAudience eq 'AzureADMyOrg'",
  devices: "trustType eq 'AzureAd' and accountEnabled eq true",
  managed_devices: "complianceState eq 'compliant'",
};

/** The OData filter of a kind, '' when it has none. */
export function odataFilter(settings: Settings, kind: ODataKind): string {
  return settings.filters.odata?.[kind] ?? '';
}

/** Sets (or, with blank text, removes) the OData filter of a kind. */
export function setODataFilter(settings: Settings, kind: ODataKind, text: string): void {
  const others = Object.entries(settings.filters.odata ?? {}).filter(([key]) => key !== kind);
  settings.filters.odata = Object.fromEntries(text.trim() === '' ? others : [...others, [kind, text]]);
}

export type UserTypeChoice = 'all' | 'Member' | 'Guest' | 'custom';

function includesText(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((item) => item.trim().toLowerCase() === value.toLowerCase());
}

/** Which radio the user-type filter shows; `custom` for lists the radios cannot express. */
export function userTypeChoice(userTypes: readonly string[] | undefined): UserTypeChoice {
  const list = userTypes ?? [];
  if (list.length === 0) return 'all';
  const member = includesText(list, 'Member');
  const guest = includesText(list, 'Guest');
  const others = list.filter((item) => !includesText(USER_TYPES, item));
  if (others.length > 0) return 'custom';
  if (member && guest) return 'all';
  return member ? 'Member' : 'Guest';
}

export function userTypesFor(choice: Exclude<UserTypeChoice, 'custom'>): string[] {
  return choice === 'all' ? [] : [choice];
}

export function hasPlatform(platforms: readonly string[] | undefined, platform: string): boolean {
  return includesText(platforms, platform);
}

/** Adds or removes a platform (case-insensitively); returns the new list. */
export function togglePlatform(platforms: readonly string[] | undefined, platform: string): string[] {
  const list = platforms ?? [];
  const name = platform.trim();
  if (name === '') return [...list];
  return hasPlatform(list, name)
    ? list.filter((item) => item.trim().toLowerCase() !== name.toLowerCase())
    : [...list, name];
}

/** Whether `text` is written like an Entra object ID (the backend's check: 36 hex digits and dashes). */
export function isObjectId(text: string): boolean {
  return /^[0-9a-fA-F-]{36}$/.test(text);
}

/** Adds a group object ID (trimmed, once, case-insensitively); returns the new list. */
export function addGroup(groups: readonly string[] | undefined, id: string): string[] {
  const list = groups ?? [];
  const value = id.trim();
  return value === '' || includesText(list, value) ? [...list] : [...list, value];
}

// Checks (mirroring crosswalk-entra)

function wholeNumber(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Whether any object kind would run (memberships only count with groups, as in Rust). */
export function anyKindEnabled(settings: Settings): boolean {
  const kinds = settings.kinds;
  return kinds.users || kinds.groups || kinds.applications || kinds.devices || kinds.managed_devices;
}

/**
 * The problems the backend would report, as `settings.<path>` field errors with sentences for
 * the admin; attribute names are checked only when the catalogue is known.
 */
export function validateEntraSettings(settings: Settings, catalogue: EntraCatalogue | null): FieldError[] {
  const errors: FieldError[] = [];
  const add = (path: string, message: string): void => {
    errors.push({ field: SETTINGS_FIELD + path, message });
  };
  if (settings.entra_connection.trim() === '') add('entra_connection', 'Choose the Entra connection to read from.');
  if (settings.jira_connection.trim() === '') {
    add('jira_connection', 'Choose the Jira connection whose Assets receives the objects.');
  }
  if (settings.schema_name.trim() === '') add('schema_name', 'Enter the name of the object schema.');
  if (!/^[A-Z0-9]{2,10}$/.test(settings.schema_key)) {
    add('schema_key', 'Use 2 to 10 capital letters or digits, e.g. ENTRA.');
  }
  const badGroups = (settings.filters.member_of_groups ?? []).filter((group) => !isObjectId(group));
  if (badGroups.length > 0) {
    add(
      'filters.member_of_groups',
      `${badGroups.map((group) => `“${group}”`).join(', ')} ${badGroups.length === 1 ? 'is not a group object ID' : 'are not group object IDs'}: paste the Object ID from Entra admin center › Groups › the group › Overview.`,
    );
  }
  if (!anyKindEnabled(settings)) add('kinds', 'Choose at least one kind of object to sync.');
  if (settings.kinds.memberships && !settings.kinds.groups) {
    add('kinds.memberships', 'Group memberships need groups: tick Groups too, or untick memberships.');
  }
  const retire = settings.retire;
  if (!wholeNumber(retire.delete_after_days, 0)) add('retire.delete_after_days', 'Enter a whole number of days.');
  if (!wholeNumber(retire.max_share_percent, 1, 100)) {
    add('retire.max_share_percent', 'Enter a whole percentage from 1 to 100.');
  }
  if (!wholeNumber(retire.guard_floor, 0)) add('retire.guard_floor', 'Enter a whole number of objects, 0 or more.');
  if (catalogue !== null) {
    const managed = [...catalogue.fixedAttributes, ...ASSETS_MANAGED].map((name) => name.toLowerCase());
    for (const kind of catalogue.kinds) {
      const used = new Map<string, string>();
      for (const property of kind.properties) {
        if (!isSynced(settings, kind.word, property.graph)) continue;
        const name = attributeName(settings, kind.word, property).trim();
        const path = `attributes.${kind.word}.${property.graph}`;
        if (name === '') {
          add(path, 'Enter an attribute name, or untick Sync.');
          continue;
        }
        if (managed.includes(name.toLowerCase())) {
          add(path, `“${name}” is an attribute Crosswalk or Assets manages itself; choose another name.`);
          continue;
        }
        const other = used.get(name.toLowerCase());
        if (other !== undefined) {
          add(path, `“${name}” is already filled from ${other}; choose another name.`);
          continue;
        }
        used.set(name.toLowerCase(), property.graph);
      }
    }
  }
  return errors;
}

/** Every settings path the form shows a message for (the rest stay with the JSON). */
export function formPaths(catalogue: EntraCatalogue): string[] {
  return [
    'entra_connection',
    'jira_connection',
    'schema_name',
    'schema_key',
    'kinds',
    ...catalogue.kinds.map((kind) => `kinds.${kind.setting}`),
    'filters.user_types',
    'filters.member_of_groups',
    'filters.device_platforms',
    ...ODATA_KINDS.map((kind) => `filters.odata.${kind}`),
    'retire.delete_after_days',
    'retire.max_share_percent',
    'retire.guard_floor',
    ...catalogue.kinds.flatMap((kind) =>
      kind.properties.map((property) => `attributes.${kind.word}.${property.graph}`),
    ),
  ];
}

function sentence(message: string): string {
  const text = message.trim() === 'is required' ? 'This is required.' : message.trim();
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?)]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/**
 * The backend reports settings problems on `settingsJson` with messages that start with the
 * settings path ("schema_key: must be…"); those the form can show move to `settings.<path>`
 * with the path taken off, the others stay on `settingsJson`.
 */
export function placeSettingsErrors(fields: readonly FieldError[], paths: readonly string[]): FieldError[] {
  return fields.map((item) => {
    if (item.field !== 'settingsJson') return item;
    const match = /^([A-Za-z_][\w]*(?:\.[\w@]+)*): ([\s\S]+)$/.exec(item.message);
    if (match === null) return item;
    const [, path = '', message = ''] = match;
    // A list entry's problem ("filters.member_of_groups.2") belongs to the list's field.
    const field = paths.includes(path) ? path : path.replace(/\.\d+$/, '');
    if (!paths.includes(field)) return item;
    return { field: SETTINGS_FIELD + field, message: sentence(message) };
  });
}

// Schemas

/** Why a schema cannot be chosen, or null when it can. */
export function schemaConflictReason(schema: AssetsSchemaView): string | null {
  if (schema.conflicts.length === 0) return null;
  const names = schema.conflicts.map((name) => `“${name}”`);
  const list =
    names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1] ?? ''}`;
  return `Has its own type${names.length === 1 ? '' : 's'} ${list ?? ''} that Crosswalk did not create; choose a dedicated schema.`;
}

/**
 * Name and key for a new schema: the recommended "Entra ID" / ENTRA unless a schema already
 * uses that name or key (the engine finds schemas by either), then "Entra ID 2" / ENTRA2…
 */
export function newSchemaChoice(
  schemas: readonly AssetsSchemaView[],
  defaults: { name: string; key: string },
): { name: string; key: string } {
  const names = new Set(schemas.map((schema) => schema.name.toLowerCase()));
  const keys = new Set(schemas.map((schema) => schema.key.toUpperCase()));
  for (let n = 1; n < 100; n++) {
    const name = n === 1 ? defaults.name : `${defaults.name} ${n}`;
    const key = n === 1 ? defaults.key : `${defaults.key.slice(0, 10 - String(n).length)}${n}`;
    if (!names.has(name.toLowerCase()) && !keys.has(key)) return { name, key };
  }
  return defaults;
}

// Held-back retirements

/** How the engine's "mass retirement held back" event message starts (a `skipped` event). */
export const HELD_BACK_PREFIX = 'Held back:';

/** The held-back events as one sentence for the confirmation ("300 of 2,500 users (12%)…"). */
export function heldBackSummary(events: readonly { message: string }[]): string {
  return events
    .map((event) =>
      event.message
        .slice(event.message.startsWith(HELD_BACK_PREFIX) ? HELD_BACK_PREFIX.length : 0)
        .replace(/\s*Nothing was retired\.?\s*$/, '')
        .trim(),
    )
    .map((text) => (/[.!?]$/.test(text) ? text : `${text}.`))
    .join(' ');
}

/** What retiring means for a job, from its settings JSON (the default when it cannot be read). */
export function retireModeSentence(settingsJson: string): string {
  let mode: unknown = 'mark';
  let days: unknown = 30;
  try {
    const raw: unknown = JSON.parse(settingsJson);
    if (isRecord(raw) && isRecord(raw.retire)) {
      mode = raw.retire.mode ?? mode;
      days = raw.retire.delete_after_days ?? days;
    }
  } catch {
    // The backend refused unreadable settings when they were saved; describe the default.
  }
  return mode === 'delete'
    ? `they are marked “Removed from Entra” in Assets and deleted ${String(days)} days later.`
    : 'they are marked “Removed from Entra” in Assets (nothing is deleted).';
}
