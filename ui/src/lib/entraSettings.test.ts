import { describe, expect, it } from 'vitest';
import { entraCatalogueFixture, assetsSchema } from '../test/fixtures';
import {
  attributeName,
  entraSettingsJson,
  isSynced,
  heldBackSummary,
  formPaths,
  newSchemaChoice,
  odataFilter,
  placeSettingsErrors,
  readEntraSettings,
  retireModeSentence,
  schemaConflictReason,
  setAttributeName,
  setODataFilter,
  setSynced,
  togglePlatform,
  userTypeChoice,
  validateEntraSettings,
  type Settings,
} from './entraSettings';

const catalogue = entraCatalogueFixture();

function read(json: string): Settings {
  const reading = readEntraSettings(json, catalogue.defaults);
  if (reading.settings === null) throw new Error(reading.problem);
  return reading.settings;
}

function fields(settings: Settings): Record<string, string> {
  return Object.fromEntries(validateEntraSettings(settings, catalogue).map((item) => [item.field, item.message]));
}

const USER = catalogue.kinds[0]!; // eslint-disable-line @typescript-eslint/no-non-null-assertion
const MAIL = USER.properties[1]!; // eslint-disable-line @typescript-eslint/no-non-null-assertion

describe('Entra Sync settings', () => {
  it('reads minimal settings with the defaults the backend applies, keeping unknown keys', () => {
    const settings = read('{"entra_connection": "e", "jira_connection": "j", "colour": 1, "kinds": {"devices": false}}');
    expect(settings).toMatchObject({
      entra_connection: 'e',
      schema_name: 'Entra ID',
      schema_key: 'ENTRA',
      kinds: { users: true, devices: false, managed_devices: true },
      filters: { user_types: [], skip_disabled_users: false, device_platforms: [] },
      retire: { mode: 'mark', max_share_percent: 10 },
      colour: 1,
    });
  });

  it('reads an emptied number input, which only the checks refuse', () => {
    const settings = read('{"retire": {"guard_floor": null}}');
    expect(settings.retire.guard_floor).toBeNull();
    expect(fields(settings)['settings.retire.guard_floor']).toBe('Enter a whole number of objects, 0 or more.');
  });

  it('refuses JSON the form cannot show, saying where', () => {
    expect(readEntraSettings('{"kinds": {"users": "yes"}}', catalogue.defaults).problem).toBe(
      'kinds.users must be true or false, not string "yes".',
    );
    expect(readEntraSettings('[1]', catalogue.defaults).problem).toMatch(/must be a JSON object/);
    expect(readEntraSettings('{"retire": {"mode": "shred"}}', catalogue.defaults).problem).toMatch(/retire.mode/);
    expect(readEntraSettings('{', catalogue.defaults).problem).toMatch(/^Not valid JSON/);
  });

  it('writes only attribute overrides, sorted, and leaves empty lists out', () => {
    const settings = read('{"entra_connection": "e", "jira_connection": "j"}');
    setAttributeName(settings, 'user', MAIL, 'Work email');
    setSynced(settings, 'user', 'jobTitle', false);
    setSynced(settings, 'group', 'description', false);
    setSynced(settings, 'group', 'description', true);
    const json = JSON.parse(entraSettingsJson(settings)) as { attributes: Record<string, object>; filters: object };
    expect(json.attributes).toEqual({ user: { jobTitle: false, mail: 'Work email' } });
    expect(Object.keys(json.attributes)).toEqual(['user']);
    expect(Object.keys(json.attributes.user ?? {})).toEqual(['jobTitle', 'mail']);
    expect(json.filters).toEqual({ skip_disabled_users: false });

    setAttributeName(settings, 'user', MAIL, 'Email');
    setSynced(settings, 'user', 'jobTitle', true);
    expect(JSON.parse(entraSettingsJson(settings))).not.toHaveProperty('attributes');
  });

  it('reads `null` as not synced and `true` as the default attribute, writing no `true`', () => {
    const settings = read('{"attributes": {"user": {"jobTitle": null, "mail": true}, "group": {"mail": true}}}');
    expect(isSynced(settings, 'user', 'jobTitle')).toBe(false);
    expect(isSynced(settings, 'user', 'mail')).toBe(true);
    expect(attributeName(settings, 'user', MAIL)).toBe('Email');
    expect(JSON.parse(entraSettingsJson(settings))).toMatchObject({ attributes: { user: { jobTitle: null } } });
    expect(JSON.parse(entraSettingsJson(settings))).not.toHaveProperty('attributes.group');
  });

  it('checks what the backend checks', () => {
    const settings = read('{"entra_connection": " ", "jira_connection": "j", "schema_key": "entra id"}');
    settings.kinds.groups = false;
    settings.retire.max_share_percent = 0;
    settings.retire.guard_floor = null;
    setAttributeName(settings, 'user', MAIL, 'Department');
    setAttributeName(settings, 'user', USER.properties[3]!, 'entra status'); // eslint-disable-line @typescript-eslint/no-non-null-assertion
    expect(fields(settings)).toEqual({
      'settings.entra_connection': 'Choose the Entra connection to read from.',
      'settings.schema_key': 'Use 2 to 10 capital letters or digits, e.g. ENTRA.',
      'settings.kinds.memberships': 'Group memberships need groups: tick Groups too, or untick memberships.',
      'settings.retire.max_share_percent': 'Enter a whole percentage from 1 to 100.',
      'settings.retire.guard_floor': 'Enter a whole number of objects, 0 or more.',
      'settings.attributes.user.department': '“Department” is already filled from mail; choose another name.',
      'settings.attributes.user.jobTitle':
        '“entra status” is an attribute Crosswalk or Assets manages itself; choose another name.',
    });
    for (const kind of ['users', 'groups', 'memberships', 'applications', 'devices', 'managed_devices'] as const) {
      settings.kinds[kind] = kind === 'memberships';
    }
    expect(fields(settings)['settings.kinds']).toBe('Choose at least one kind of object to sync.');

    settings.filters.member_of_groups = ['2f1c0e4e-8c47-4b0a-9e3c-5d7f1a2b3c4d', 'Sales team'];
    expect(fields(settings)['settings.filters.member_of_groups']).toMatch(/^“Sales team” is not a group object ID/);
  });

  it('places backend settings problems next to the field their path names', () => {
    const placed = placeSettingsErrors(
      [
        { field: 'settingsJson', message: 'schema_key: must be 2 to 10 capital letters or digits (Assets object schema key)' },
        { field: 'settingsJson', message: 'jira_connection: is required' },
        { field: 'settingsJson', message: 'attributes.user.nope: unknown property; mappable: mail' },
        { field: 'settingsJson', message: 'settings: unknown field `colour`' },
        { field: 'settingsJson', message: "filters.member_of_groups.1: must be a group's object ID" },
        { field: 'name', message: 'taken' },
      ],
      ['schema_key', 'jira_connection', 'attributes.user.mail', 'filters.member_of_groups'],
    );
    expect(placed).toEqual([
      { field: 'settings.schema_key', message: 'Must be 2 to 10 capital letters or digits (Assets object schema key)' },
      { field: 'settings.jira_connection', message: 'This is required.' },
      { field: 'settingsJson', message: 'attributes.user.nope: unknown property; mappable: mail' },
      { field: 'settingsJson', message: 'settings: unknown field `colour`' },
      { field: 'settings.filters.member_of_groups', message: "Must be a group's object ID." },
      { field: 'name', message: 'taken' },
    ]);
  });

  it('OData filters: blank ones left out, written in the backend’s order, errors placed by kind', () => {
    const settings = read(`{"filters": {"odata": {"devices": "isManaged eq true", "users": "department eq 'Sales'", "groups": "  "}}}`);
    expect(odataFilter(settings, 'users')).toBe("department eq 'Sales'");
    expect(odataFilter(settings, 'applications')).toBe('');
    setODataFilter(settings, 'managed_devices', "complianceState eq 'compliant'");
    setODataFilter(settings, 'devices', ' ');
    const written = JSON.parse(entraSettingsJson(settings)) as { filters: { odata: Record<string, string> } };
    expect(Object.entries(written.filters.odata)).toEqual([
      ['users', "department eq 'Sales'"],
      ['managed_devices', "complianceState eq 'compliant'"],
    ]);
    setODataFilter(settings, 'users', '');
    setODataFilter(settings, 'managed_devices', '');
    expect(JSON.parse(entraSettingsJson(settings))).toMatchObject({ filters: { skip_disabled_users: false } });
    expect(JSON.parse(entraSettingsJson(settings))).not.toHaveProperty('filters.odata');
    expect(readEntraSettings('{"filters": {"odata": {"users": 5}}}', catalogue.defaults).problem).toBe(
      'filters.odata.users must be text, not number 5.',
    );
    const message = "filters.odata.users: Filter for users: expected ')' at character 43, found the end of the filter";
    expect(placeSettingsErrors([{ field: 'settingsJson', message }], formPaths(catalogue))).toEqual([
      {
        field: 'settings.filters.odata.users',
        message: "Filter for users: expected ')' at character 43, found the end of the filter.",
      },
    ]);
  });

  it('filters: user types as a choice, platforms toggled case-insensitively', () => {
    expect(userTypeChoice([])).toBe('all');
    expect(userTypeChoice(['member', 'Guest'])).toBe('all');
    expect(userTypeChoice(['Guest'])).toBe('Guest');
    expect(userTypeChoice(['Contractor'])).toBe('custom');
    expect(togglePlatform(['windows'], 'Windows')).toEqual([]);
    expect(togglePlatform(['iOS'], ' ChromeOS ')).toEqual(['iOS', 'ChromeOS']);
  });

  it('explains schema conflicts and proposes a free name and key for a new schema', () => {
    expect(schemaConflictReason(assetsSchema())).toBeNull();
    expect(schemaConflictReason(assetsSchema({ conflicts: ['Entra User'] }))).toBe(
      'Has its own type “Entra User” that Crosswalk did not create; choose a dedicated schema.',
    );
    expect(schemaConflictReason(assetsSchema({ conflicts: ['Entra User', 'Entra Group', 'Entra Device'] }))).toBe(
      'Has its own types “Entra User”, “Entra Group” and “Entra Device” that Crosswalk did not create; choose a dedicated schema.',
    );
    const defaults = { name: 'Entra ID', key: 'ENTRA' };
    expect(newSchemaChoice([assetsSchema()], defaults)).toEqual(defaults);
    expect(newSchemaChoice([assetsSchema({ name: 'Directory', key: 'ENTRA' }), assetsSchema({ name: 'Entra ID 2' })], defaults)).toEqual({
      name: 'Entra ID 3',
      key: 'ENTRA3',
    });
  });

  it('words held-back retirements and what confirming them does', () => {
    expect(
      heldBackSummary([
        {
          message:
            'Held back: 300 of 2500 users (12%) are gone from Entra, more than the 10% this job may retire in one run. Nothing was retired.',
        },
      ]),
    ).toBe('300 of 2500 users (12%) are gone from Entra, more than the 10% this job may retire in one run.');
    expect(retireModeSentence('{}')).toMatch(/nothing is deleted/);
    expect(retireModeSentence('{"retire": {"mode": "delete", "delete_after_days": 7}}')).toMatch(/deleted 7 days later/);
  });
});
