import { describe, expect, it } from 'vitest';
import type { DynamicsMappingCatalogue } from './bindings/DynamicsMappingCatalogue';
import { dynamicsMappingFixture } from '../test/fixtures';
import {
  compatibilityOf,
  defaultDynamicsSettings,
  dynamicsSettingsJson,
  readDynamicsSettings,
  removeStatusPair,
  setStatusPair,
  statusChoices,
  statusEditorRows,
  stepOf,
  unmappedRequiredFields,
  validateDynamicsSettings,
  type Settings,
} from './dynamicsSettings';

const mapping = dynamicsMappingFixture();

function read(json: string): Settings {
  const reading = readDynamicsSettings(json);
  if (reading.settings === null) throw new Error(reading.problem);
  return reading.settings;
}

function scoped(overrides: Partial<Settings> = {}): Settings {
  return {
    ...defaultDynamicsSettings(),
    dataverse_connection: 'dv',
    jira_connection: 'jira',
    jira_project: 'SUP',
    jira_issue_type: '10004',
    table: 'incident',
    ...overrides,
  };
}

function problems(settings: Settings, catalogue: DynamicsMappingCatalogue | null = mapping): Record<string, string> {
  return Object.fromEntries(validateDynamicsSettings(settings, catalogue).map((item) => [item.field, item.message]));
}

describe('Smart Connected Item settings', () => {
  it('reads minimal settings with the defaults serde applies, keeping unknown keys', () => {
    const settings = read(
      '{"dataverse_connection": "dv", "jira_connection": "j", "jira_project": "SUP", "jira_issue_type": "1", "table": "incident", "colour": 1, "fields": [{"dataverse": "title", "jira": "summary"}]}',
    );
    expect(settings).toMatchObject({
      mode: 'one_way',
      module: null,
      auto_create: { enabled: false },
      status: { enabled: false, map: [] },
      comments: false,
      attachments: false,
      max_attachment_mb: null,
      mirror_deletions: false,
      link_note: true,
      remote_link: true,
      jira_search_lag_secs: 120,
      deletion_check_minutes: 15,
      fields: [{ dataverse: 'title', jira: 'summary', owner: 'most_recent', values: [] }],
      colour: 1,
    });
  });

  it('writes every effective value, leaving unset optional values and empty value maps out', () => {
    const settings = scoped({ module: 'Dynamics 365 Customer Service' });
    settings.fields = [
      { dataverse: 'title', jira: 'summary', owner: 'most_recent', values: [] },
      { dataverse: 'prioritycode', jira: 'priority', owner: 'dynamics', values: [{ dataverse: '1', jira: 'Highest' }] },
    ];
    settings.auto_create = { enabled: true, filter: '  ' };
    expect(JSON.parse(dynamicsSettingsJson(settings))).toEqual({
      dataverse_connection: 'dv',
      jira_connection: 'jira',
      mode: 'one_way',
      jira_project: 'SUP',
      jira_issue_type: '10004',
      module: 'Dynamics 365 Customer Service',
      table: 'incident',
      auto_create: { enabled: true },
      fields: [
        { dataverse: 'title', jira: 'summary', owner: 'most_recent' },
        { dataverse: 'prioritycode', jira: 'priority', owner: 'dynamics', values: [{ dataverse: '1', jira: 'Highest' }] },
      ],
      status: { enabled: false, map: [] },
      comments: false,
      attachments: false,
      mirror_deletions: false,
      link_note: true,
      remote_link: true,
      jira_search_lag_secs: 120,
      deletion_check_minutes: 15,
    });
  });

  it('refuses JSON the form cannot show, saying where', () => {
    expect(readDynamicsSettings('{"mode": "both"}').problem).toBe(
      'mode must be "display_only", "one_way" or "two_way", not string "both".',
    );
    expect(readDynamicsSettings('{"fields": [{"dataverse": 3}]}').problem).toBe(
      'fields.0.dataverse must be text, not number 3.',
    );
    expect(readDynamicsSettings('{"status": {"map": [{"jira_status": "1"}]}}').problem).toMatch(/status\.map\.0 must be/);
    expect(readDynamicsSettings('[]').problem).toMatch(/must be a JSON object/);
    expect(readDynamicsSettings('{').problem).toMatch(/^Not valid JSON/);
  });

  it('checks what the backend checks, each problem on its field', () => {
    const settings = scoped({
      jira_project: 'sup',
      table: 'Incident',
      mode: 'display_only',
      max_attachment_mb: 0,
      deletion_check_minutes: null,
    });
    settings.auto_create.enabled = true;
    settings.fields = [
      { dataverse: 'title', jira: 'summary', owner: 'most_recent', values: [] },
      { dataverse: 'description', jira: 'summary', owner: 'most_recent', values: [{ dataverse: 'x', jira: '' }] },
    ];
    settings.dataverse_connection = '';
    expect(problems(settings, null)).toEqual({
      'settings.dataverse_connection': 'Choose the Dataverse connection whose records are linked.',
      'settings.jira_project': 'Use the project key, e.g. SUP (capital letters, digits, underscore).',
      'settings.table': 'Use the table’s logical name, e.g. incident (lower case).',
      'settings.auto_create.enabled': 'Display-only items never create issues; choose one-way or two-way sync.',
      'settings.fields.1.jira': '“summary” is already mapped in row 1; a Jira field takes one column.',
      'settings.fields.1.values': 'Fill in both sides of each value pair, or remove it.',
      'settings.max_attachment_mb': 'Enter a whole number of MB, 1 or more, or leave it empty.',
      'settings.deletion_check_minutes': 'Enter a whole number of minutes, 0 (every poll) or more.',
    });
  });

  it('with the catalogue, refuses unknown columns and fields and incompatible pairs', () => {
    const settings = scoped();
    settings.fields = [
      { dataverse: 'createdon', jira: 'labels', owner: 'most_recent', values: [] },
      { dataverse: 'nosuch', jira: 'summary', owner: 'most_recent', values: [] },
      { dataverse: 'title', jira: 'customfield_99', owner: 'most_recent', values: [] },
      { dataverse: 'prioritycode', jira: 'priority', owner: 'most_recent', values: [] },
    ];
    expect(problems(settings)).toEqual({
      'settings.fields.0.jira':
        'Date and time → Labels: dates go to Jira date, date-time or text fields; choose another field or column.',
      'settings.fields.1.dataverse': 'The table has no column “nosuch”.',
      'settings.fields.2.jira': '“customfield_99” is not on the create screen of this issue type.',
    });
    // A catalogue of another table says nothing about these columns.
    expect(problems(settings, dynamicsMappingFixture({ table: 'task' }))).toEqual({});
  });

  it('looks up compatibility and the required fields auto-create needs', () => {
    expect(compatibilityOf(mapping, 'title', 'summary')).toMatchObject({ level: 'exact', reason: null });
    expect(compatibilityOf(mapping, 'title', 'labels')?.level).toBe('lossy');
    expect(compatibilityOf(mapping, '', 'labels')).toBeNull();
    const settings = scoped();
    // Summary is filled from the record's name; Impact has no default; Priority has one.
    expect(unmappedRequiredFields(settings, mapping).map((field) => field.id)).toEqual(['customfield_10014']);
    settings.fields = [{ dataverse: 'prioritycode', jira: 'customfield_10014', owner: 'most_recent', values: [] }];
    expect(unmappedRequiredFields(settings, mapping)).toEqual([]);
  });

  it('shows heuristic status rows until the admin changes or confirms one, and saves only those', () => {
    const settings = scoped();
    const rows = statusEditorRows(settings, mapping);
    expect(rows.map((row) => [row.jiraName, row.source, row.state, row.status])).toEqual([
      ['Open', 'heuristic', 0, 1],
      ['In Progress', 'heuristic', 0, 1],
      ['Waiting for customer', 'heuristic', 0, 3],
      ['Resolved', 'heuristic', 1, 5],
      ['Cancelled', 'heuristic', 2, 6],
    ]);
    expect(statusChoices(mapping)[2]).toEqual({ value: '1:5', label: 'Resolved › Problem Solved' });

    setStatusPair(settings, '10002', 0, 1);
    setStatusPair(settings, '5', 1, 5);
    const after = statusEditorRows(settings, mapping);
    expect(after.find((row) => row.jiraStatus === '10002')).toMatchObject({ source: 'explicit', state: 0, status: 1 });
    expect(after.find((row) => row.jiraStatus === '5')).toMatchObject({ source: 'explicit', direction: 'both' });
    expect(after.filter((row) => row.source === 'heuristic')).toHaveLength(3);
    expect(JSON.parse(dynamicsSettingsJson(settings))).toMatchObject({
      status: {
        map: [
          { jira_status: '10002', state: 0, status: 1 },
          { jira_status: '5', state: 1, status: 5 },
        ],
      },
    });

    removeStatusPair(settings, '10002');
    expect(settings.status.map).toEqual([{ jira_status: '5', state: 1, status: 5 }]);
    // A pair for a status the workflow lacks stays visible so it can be removed.
    setStatusPair(settings, '999', 0, 1);
    expect(statusEditorRows(settings, mapping).at(-1)).toMatchObject({ jiraStatus: '999', inWorkflow: false });
  });

  it('knows which wizard step shows a path', () => {
    expect(stepOf('settings.table')).toBe(1);
    expect(stepOf('jira_project')).toBe(1);
    expect(stepOf('settings.fields.0.jira')).toBe(2);
    expect(stepOf('settings.max_attachment_mb')).toBe(2);
  });
});
