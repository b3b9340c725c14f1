import { describe, expect, it } from 'vitest';
import { draftFrom, newDraft, toSubmission, validateConnection } from './connectionForm';
import { jiraForm } from '../test/fixtures';

describe('toSubmission', () => {
  it('keeps only the chosen kind’s fields, trimmed, with empty text as null', () => {
    const draft = {
      ...newDraft(),
      name: '  contoso-entra ',
      kind: 'entra' as const,
      siteUrl: 'https://left-over.atlassian.net',
      tenantId: ' 1111 ',
      clientId: '2222',
      cloud: 'us_gov' as const,
      graphUrl: '   ',
    };
    const form = toSubmission(draft, 's3cret', false);
    expect(form).toEqual({
      originalName: null,
      name: 'contoso-entra',
      kind: 'entra',
      siteUrl: null,
      email: null,
      assetsApiUrl: null,
      tenantId: '1111',
      clientId: '2222',
      cloud: 'us_gov',
      authorityUrl: null,
      graphUrl: null,
      orgUrl: null,
      secretEnv: null,
      secret: 's3cret',
    });
  });

  it('sends no secret when none was typed or when it comes from the environment', () => {
    const draft = draftFrom(jiraForm({ secretEnv: 'JIRA_TOKEN' }), 'contoso-jira');
    expect(toSubmission(draft, '', false).secret).toBeNull();
    const fromEnv = toSubmission(draft, 'typed anyway', true);
    expect(fromEnv.secret).toBeNull();
    expect(fromEnv.secretEnv).toBe('JIRA_TOKEN');
  });
});

describe('validateConnection', () => {
  const fieldsOf = (errors: { field: string }[]): string[] => errors.map((error) => error.field);

  it('asks for the kind first', () => {
    const form = toSubmission({ ...newDraft(), name: 'x' }, '', false);
    expect(fieldsOf(validateConnection(form, { secretRequired: true, useSecretEnv: false }))).toEqual(['kind']);
  });

  it('needs each kind’s required fields and a secret for a new connection', () => {
    const jira = toSubmission({ ...newDraft(), name: 'j', kind: 'jira', siteUrl: 'contoso' }, '', false);
    expect(fieldsOf(validateConnection(jira, { secretRequired: true, useSecretEnv: false }))).toEqual([
      'siteUrl',
      'email',
      'secret',
    ]);
    const dataverse = toSubmission({ ...newDraft(), name: 'd', kind: 'dataverse', cloud: 'custom' }, 'x', false);
    expect(fieldsOf(validateConnection(dataverse, { secretRequired: true, useSecretEnv: false }))).toEqual([
      'orgUrl',
      'tenantId',
      'clientId',
      'authorityUrl',
    ]);
  });

  it('accepts an edit without a secret and checks the variable name instead of one', () => {
    const draft = draftFrom(jiraForm(), 'contoso-jira');
    expect(validateConnection(toSubmission(draft, '', false), { secretRequired: false, useSecretEnv: false })).toEqual([]);
    const env = toSubmission({ ...draft, secretEnv: '1BAD' }, '', true);
    expect(fieldsOf(validateConnection(env, { secretRequired: true, useSecretEnv: true }))).toEqual(['secretEnv']);
  });
});
