import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { fakeBackend, reject } from '../test/backend';
import { byId } from '../test/dom';
import { checkReport, connectionView, jiraForm, secretExpiry } from '../test/fixtures';
import Connections from './Connections.svelte';

function row(name: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-connection="${name}"]`);
  if (element === null) throw new Error(`no row for ${name}`);
  return element;
}

describe('Connections screen', () => {
  it('lists connections with kind, target, secret location and a warning when no secret is stored', async () => {
    fakeBackend({
      list_connections: () => [
        connectionView(),
        connectionView({
          name: 'contoso-entra',
          kind: 'entra',
          target: 'tenant 1111',
          secretStored: false,
          secretLocation: 'OS keychain',
          form: { ...jiraForm({ name: 'contoso-entra', kind: 'entra' }) },
        }),
      ],
    });
    render(Connections);
    await screen.findByText('contoso-entra');
    expect(row('contoso-jira')).toHaveTextContent('Jira site');
    expect(row('contoso-jira')).toHaveTextContent('https://contoso.atlassian.net');
    expect(row('contoso-jira')).not.toHaveTextContent('No secret stored');
    expect(row('contoso-entra')).toHaveTextContent('Entra tenant');
    expect(row('contoso-entra')).toHaveTextContent('No secret stored.');
  });

  it('marks a connection whose client secret expires within 30 days', async () => {
    fakeBackend({
      list_connections: () => [
        connectionView(),
        connectionView({ name: 'contoso-entra', kind: 'entra', target: 'tenant 1111' }),
        connectionView({ name: 'dynamics', kind: 'dataverse', target: 'https://contoso.crm.dynamics.com' }),
      ],
      list_secret_expiries: () => [
        secretExpiry({ connection: 'contoso-entra', daysLeft: 6, threshold: 7 }),
        secretExpiry({ connection: 'dynamics', kind: 'dataverse', daysLeft: 200, threshold: null }),
      ],
    });
    render(Connections);
    await screen.findByText('Secret expires in 6 days');
    const badge = row('contoso-entra').querySelector('[data-secret-expiry]');
    expect(badge).toHaveAttribute('data-secret-expiry', 'expiring');
    expect(badge?.getAttribute('title')).toContain('Certificates & secrets');
    expect(row('dynamics').querySelector('[data-secret-expiry]')).toBeNull();
    expect(row('contoso-jira').querySelector('[data-secret-expiry]')).toBeNull();
  });

  it('guides a new admin when there are none', async () => {
    fakeBackend({ list_connections: () => [] });
    render(Connections);
    expect(await screen.findByText('No connections yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add a connection' })).toBeInTheDocument();
  });

  it('tests a connection and shows the checklist', async () => {
    const backend = fakeBackend({
      list_connections: () => [connectionView()],
      test_connection: () =>
        checkReport({
          items: [
            { label: 'Site reachable', status: 'ok', detail: 'HTTP 200', fix: null },
            { label: 'Token', status: 'fail', detail: 'HTTP 401', fix: 'Create a new API token' },
          ],
        }),
    });
    const user = userEvent.setup();
    render(Connections);
    await screen.findByText('contoso-jira');
    await user.click(within(row('contoso-jira')).getByRole('button', { name: 'Test contoso-jira' }));
    const report = await waitFor(() => byId('test-report'));
    expect(backend.callsOf('test_connection')).toEqual([{ name: 'contoso-jira' }]);
    expect(report).toHaveAttribute('data-passed', 'false');
    expect(report).toHaveTextContent('Fix: Create a new API token');
  });

  it('shows a test that could not run as a failed report', async () => {
    fakeBackend({
      list_connections: () => [connectionView()],
      test_connection: reject({ code: 'secretsUnavailable', message: 'No unlocked keyring.', fix: 'Unlock the login keyring.', fields: [] }),
    });
    const user = userEvent.setup();
    render(Connections);
    await screen.findByText('contoso-jira');
    await user.click(screen.getByRole('button', { name: 'Test contoso-jira' }));
    await waitFor(() => expect(document.getElementById('test-report')).toHaveAttribute('data-passed', 'false'));
    expect(screen.getByRole('alert')).toHaveTextContent('Fix: Unlock the login keyring.');
  });

  it('deletes only after confirmation', async () => {
    const backend = fakeBackend({
      list_connections: () => [connectionView()],
      delete_connection: () => null,
    });
    const user = userEvent.setup();
    render(Connections);
    await screen.findByText('contoso-jira');
    await user.click(screen.getByRole('button', { name: 'Delete contoso-jira' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog).toHaveTextContent('“contoso-jira”');
    expect(backend.callsOf('delete_connection')).toEqual([]);
    backend.set({ list_connections: () => [] });
    await user.click(within(dialog).getByRole('button', { name: 'Delete connection' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(backend.callsOf('delete_connection')).toEqual([{ name: 'contoso-jira' }]);
    expect(await screen.findByText('No connections yet')).toBeInTheDocument();
  });

  it('adds a connection through the form and refreshes the list', async () => {
    const backend = fakeBackend({
      list_connections: () => [],
      save_connection: () => connectionView(),
    });
    const user = userEvent.setup();
    render(Connections);
    await screen.findByText('No connections yet');
    await user.click(byId('add-connection'));
    expect(document.getElementById('connection-form')).toBeInTheDocument();
    await user.type(screen.getByLabelText(/^Name/), 'contoso-jira');
    await user.selectOptions(screen.getByLabelText(/^Connects to/), 'jira');
    await user.type(screen.getByLabelText(/^Site URL/), 'https://contoso.atlassian.net');
    await user.type(screen.getByLabelText(/^Account email/), 'admin@contoso.com');
    await user.type(screen.getByLabelText(/^API token/), 'tok');
    backend.set({ list_connections: () => [connectionView()] });
    await user.click(byId('conn-save'));
    await waitFor(() => expect(document.getElementById('connection-form')).toBeNull());
    expect(row('contoso-jira')).toBeInTheDocument();
  });
});
