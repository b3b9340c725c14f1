import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { ConnectionForm } from '../lib/bindings/ConnectionForm';
import { fakeBackend, reject } from '../test/backend';
import { connectionView, jiraForm } from '../test/fixtures';
import ConnectionEditor from './ConnectionEditor.svelte';

function input(id: string): HTMLInputElement {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement)) {
    throw new Error(`no input #${id}`);
  }
  return element as HTMLInputElement;
}

/** Fields on screen: in the document and not folded away in a closed "Advanced" section. */
function present(ids: string[]): string[] {
  return ids.filter((id) => {
    const element = document.getElementById(id);
    return element !== null && element.closest('details:not([open])') === null;
  });
}

const ALL_FIELDS = [
  'conn-site-url',
  'conn-email',
  'conn-tenant-id',
  'conn-client-id',
  'conn-cloud',
  'conn-org-url',
  'conn-secret',
  'conn-authority-url',
  'conn-graph-url',
];

function renderNew(): { onsaved: ReturnType<typeof vi.fn>; oncancel: ReturnType<typeof vi.fn> } {
  const onsaved = vi.fn();
  const oncancel = vi.fn();
  render(ConnectionEditor, { connection: null, onsaved, oncancel });
  return { onsaved, oncancel };
}

describe('ConnectionEditor', () => {
  it('shows the fields of the chosen kind', async () => {
    fakeBackend();
    const user = userEvent.setup();
    renderNew();
    expect(input('conn-name')).toBeInTheDocument();
    expect(present(ALL_FIELDS)).toEqual([]);

    await user.selectOptions(input('conn-kind'), 'jira');
    expect(present(ALL_FIELDS)).toEqual(['conn-site-url', 'conn-email', 'conn-secret']);
    expect(screen.getByLabelText(/API token/)).toHaveAttribute('type', 'password');
    expect(screen.getByText('Create at id.atlassian.com > Security > API tokens.')).toBeInTheDocument();

    await user.selectOptions(input('conn-kind'), 'entra');
    expect(present(ALL_FIELDS)).toEqual(['conn-tenant-id', 'conn-client-id', 'conn-cloud', 'conn-secret']);
    expect(screen.getByText('Entra ID > Overview > Tenant ID.')).toBeInTheDocument();
    expect(screen.getByText(/the secret's Value, not its Secret ID/)).toBeInTheDocument();

    await user.selectOptions(input('conn-cloud'), 'custom');
    expect(present(ALL_FIELDS)).toEqual([
      'conn-tenant-id',
      'conn-client-id',
      'conn-cloud',
      'conn-secret',
      'conn-authority-url',
      'conn-graph-url',
    ]);

    await user.selectOptions(input('conn-kind'), 'dataverse');
    expect(present(ALL_FIELDS)).toEqual([
      'conn-tenant-id',
      'conn-client-id',
      'conn-cloud',
      'conn-org-url',
      'conn-secret',
      'conn-authority-url',
    ]);
  });

  it('offers the five clouds with their names', async () => {
    fakeBackend();
    const user = userEvent.setup();
    renderNew();
    await user.selectOptions(input('conn-kind'), 'entra');
    const options = within(input('conn-cloud') as unknown as HTMLElement).getAllByRole('option');
    expect(options.map((option) => option.textContent)).toEqual([
      'Global',
      'US Government GCC High',
      'US Government DoD',
      'China (21Vianet)',
      'Custom',
    ]);
  });

  it('saves the right ConnectionForm and then forgets the secret', async () => {
    const backend = fakeBackend({
      save_connection: (args) => connectionView({ form: { ...(args.form as ConnectionForm), secret: null } }),
    });
    const user = userEvent.setup();
    const { onsaved } = renderNew();
    await user.type(input('conn-name'), 'contoso-jira');
    await user.selectOptions(input('conn-kind'), 'jira');
    await user.type(input('conn-site-url'), 'https://contoso.atlassian.net');
    await user.type(input('conn-email'), 'admin@contoso.com');
    await user.type(input('conn-secret'), 'tok-123');
    await user.click(screen.getByRole('button', { name: 'Add connection' }));

    await waitFor(() => expect(onsaved).toHaveBeenCalledOnce());
    expect(backend.callsOf('save_connection')).toEqual([
      {
        form: {
          originalName: null,
          name: 'contoso-jira',
          kind: 'jira',
          siteUrl: 'https://contoso.atlassian.net',
          email: 'admin@contoso.com',
          assetsApiUrl: null,
          tenantId: null,
          clientId: null,
          cloud: null,
          authorityUrl: null,
          graphUrl: null,
          orgUrl: null,
          secretEnv: null,
          secret: 'tok-123',
        },
      },
    ]);
    expect(input('conn-secret').value).toBe('');
  });

  it('shows the backend’s field errors next to their fields', async () => {
    fakeBackend({
      save_connection: reject({
        code: 'validation',
        message: 'The connection has problems.',
        fix: 'Correct the marked fields and save again.',
        fields: [
          { field: 'siteUrl', message: 'This is not an Atlassian site.' },
          { field: 'region', message: 'Unknown region.' },
        ],
      }),
    });
    const user = userEvent.setup();
    renderNew();
    await user.type(input('conn-name'), 'contoso-jira');
    await user.selectOptions(input('conn-kind'), 'jira');
    await user.type(input('conn-site-url'), 'https://example.com');
    await user.type(input('conn-email'), 'admin@contoso.com');
    await user.type(input('conn-secret'), 'tok');
    await user.click(screen.getByRole('button', { name: 'Add connection' }));

    const site = input('conn-site-url');
    await waitFor(() => expect(site).toHaveAttribute('aria-invalid', 'true'));
    expect(site).toHaveAccessibleDescription(/This is not an Atlassian site\./);
    expect(document.getElementById('conn-site-url-error')).toHaveTextContent('This is not an Atlassian site.');
    expect(input('conn-email')).not.toHaveAttribute('aria-invalid');
    const banner = screen.getByRole('alert');
    expect(banner).toHaveTextContent('The connection has problems.');
    expect(banner).toHaveTextContent('Fix: Correct the marked fields and save again.');
    // A field no input shows still reaches the admin.
    expect(banner).toHaveTextContent('region: Unknown region.');
    // The typed secret survives a failed save so it need not be typed again.
    expect(input('conn-secret').value).toBe('tok');
    expect(site).toHaveFocus();
  });

  it('checks the obvious before calling the backend', async () => {
    const backend = fakeBackend({ save_connection: () => connectionView() });
    const user = userEvent.setup();
    renderNew();
    await user.type(input('conn-name'), 'contoso-jira');
    await user.selectOptions(input('conn-kind'), 'jira');
    await user.type(input('conn-site-url'), 'https://contoso.atlassian.net');
    await user.type(input('conn-email'), 'admin@contoso.com');
    await user.click(screen.getByRole('button', { name: 'Add connection' }));
    expect(await screen.findByText('Enter the API token.')).toBeInTheDocument();
    expect(input('conn-secret')).toHaveAttribute('aria-invalid', 'true');
    expect(backend.callsOf('save_connection')).toEqual([]);
  });

  it('never pre-fills the secret when editing, and keeps the stored one when left empty', async () => {
    const backend = fakeBackend({ save_connection: () => connectionView() });
    const user = userEvent.setup();
    const onsaved = vi.fn();
    // Even if a secret ever came back from the backend, the editor must not show it.
    const leaky = connectionView({ form: jiraForm({ secret: 'leaked-token' }) });
    render(ConnectionEditor, { connection: leaky, onsaved, oncancel: vi.fn() });

    const secret = input('conn-secret');
    expect(secret.value).toBe('');
    expect(secret).toHaveAttribute('type', 'password');
    expect(secret).toHaveAttribute('placeholder', 'Stored in the OS keychain — leave empty to keep it');
    expect(secret).not.toHaveAttribute('aria-required');
    expect(input('conn-site-url').value).toBe('https://contoso.atlassian.net');
    expect(input('conn-kind')).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(onsaved).toHaveBeenCalledOnce());
    const sent = backend.callsOf('save_connection')[0]?.form as ConnectionForm;
    expect(sent.secret).toBeNull();
    expect(sent.originalName).toBe('contoso-jira');
  });

  it('can read the secret from an environment variable instead', async () => {
    const backend = fakeBackend({ save_connection: () => connectionView() });
    const user = userEvent.setup();
    const onsaved = vi.fn();
    render(ConnectionEditor, { connection: connectionView(), onsaved, oncancel: vi.fn() });
    await user.click(screen.getByText('Advanced'));
    await user.click(screen.getByLabelText('Read secret from environment variable instead of the keychain'));
    expect(document.getElementById('conn-secret')).toBeNull();
    await user.type(input('conn-secret-env'), 'JIRA_TOKEN');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(onsaved).toHaveBeenCalledOnce());
    expect(backend.callsOf('save_connection')[0]?.form).toMatchObject({ secretEnv: 'JIRA_TOKEN', secret: null });
  });

  it('closes on Escape without saving', async () => {
    const backend = fakeBackend();
    const user = userEvent.setup();
    const { oncancel } = renderNew();
    await user.keyboard('{Escape}');
    expect(oncancel).toHaveBeenCalledOnce();
    expect(backend.calls).toEqual([]);
  });
});
