import { emit } from '@tauri-apps/api/event';
import { describe, expect, it, vi } from 'vitest';
import { fakeBackend, reject } from '../test/backend';
import {
  cancelRun,
  CommandError,
  listConnections,
  listRuns,
  onRunProgress,
  saveConnection,
  testConnection,
  toAppError,
} from './ipc';
import { jiraForm } from '../test/fixtures';

describe('toAppError', () => {
  it('keeps a backend AppError as it is', () => {
    const error = toAppError({
      code: 'authExpired',
      message: 'Jira rejected the API token',
      fix: 'Create a new token at id.atlassian.com',
      fields: [{ field: 'secret', message: 'Expired' }],
    });
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('authExpired');
    expect(error.message).toBe('Jira rejected the API token');
    expect(error.fix).toBe('Create a new token at id.atlassian.com');
    expect(error.fields).toEqual([{ field: 'secret', message: 'Expired' }]);
  });

  it('turns a string rejection into code "unknown"', () => {
    const error = toAppError('command save_thing not found');
    expect(error.code).toBe('unknown');
    expect(error.message).toBe('command save_thing not found');
    expect(error.fix).toBeNull();
    expect(error.fields).toEqual([]);
  });

  it('fills in what a partial or odd object leaves out', () => {
    const error = toAppError({ code: 'somethingNew', message: '', fields: [{ field: 'name' }, 'x'] });
    expect(error.code).toBe('unknown');
    expect(error.message).toBe('Something went wrong.');
    expect(error.fix).toBeNull();
    expect(error.fields).toEqual([]);
  });

  it('uses the message of a thrown Error', () => {
    expect(toAppError(new TypeError('boom')).message).toBe('boom');
  });

  it('copes with null, numbers and other values', () => {
    expect(toAppError(null).message).toBe('Something went wrong.');
    expect(toAppError(42).message).toBe('42');
    expect(toAppError(undefined).code).toBe('unknown');
  });

  it('returns the same CommandError when given one', () => {
    const error = toAppError('x');
    expect(toAppError(error)).toBe(error);
  });
});

describe('command wrappers', () => {
  it('send camelCase arguments under the names the commands expect', async () => {
    const backend = fakeBackend({
      list_runs: () => [],
      cancel_run: () => true,
      save_connection: () => ({}),
    });
    await listRuns('entra-users', 50);
    await cancelRun(7);
    await saveConnection(jiraForm());
    expect(backend.calls.map((call) => call.command)).toEqual(['list_runs', 'cancel_run', 'save_connection']);
    expect(backend.callsOf('list_runs')[0]).toEqual({ jobName: 'entra-users', limit: 50 });
    // Ids go out as JSON numbers whichever way the caller held them.
    expect(backend.callsOf('cancel_run')[0]).toEqual({ runId: 7 });
    expect(backend.callsOf('save_connection')[0]).toEqual({ form: jiraForm() });
  });

  it('reject with a normalised CommandError', async () => {
    fakeBackend({
      list_connections: reject('database is locked'),
      test_connection: reject({ code: 'remoteUnavailable', message: 'Jira did not answer', fix: 'Check the site URL', fields: [] }),
    });
    await expect(listConnections()).rejects.toMatchObject({ code: 'unknown', message: 'database is locked', fields: [] });
    await expect(testConnection('contoso-jira')).rejects.toMatchObject({
      name: 'CommandError',
      code: 'remoteUnavailable',
      fix: 'Check the site URL',
    });
  });

  it('deliver event payloads to subscribers', async () => {
    fakeBackend();
    const handler = vi.fn();
    const unlisten = await onRunProgress(handler);
    await emit('run:progress', { runId: 3, jobName: 'entra-users', done: 5, total: 10, message: 'Users' });
    expect(handler).toHaveBeenCalledWith({ runId: 3, jobName: 'entra-users', done: 5, total: 10, message: 'Users' });
    unlisten();
  });
});
