import { render, screen, waitFor } from '@testing-library/svelte';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import { startLive } from '../lib/live.svelte';
import { fakeBackend, reject } from '../test/backend';
import { secretExpiry } from '../test/fixtures';
import SecretExpiryBanner from './SecretExpiryBanner.svelte';

function banner(): HTMLElement | null {
  return document.querySelector<HTMLElement>('.secret-expiry');
}

describe('SecretExpiryBanner', () => {
  it('names each connection whose secret expires within 30 days, with the fix', async () => {
    fakeBackend({
      list_secret_expiries: () => [
        secretExpiry({ connection: 'contoso-entra', daysLeft: 5, threshold: 7 }),
        secretExpiry({ connection: 'dynamics', kind: 'dataverse', daysLeft: 20, threshold: 30 }),
        secretExpiry({ connection: 'fabrikam', daysLeft: 45, threshold: null }),
      ],
    });
    render(SecretExpiryBanner);
    const status = await screen.findByRole('status', { name: 'Client secrets expire soon' });
    expect(status).toHaveClass('banner-warn');
    const items = Array.from(status.querySelectorAll('li')).map((li) => li.dataset.connection);
    expect(items).toEqual(['contoso-entra', 'dynamics']);
    expect(status).toHaveTextContent('Client secret of connection contoso-entra expires in 5 days (on 2025-12-10).');
    expect(status).toHaveTextContent('App registrations › Crosswalk Sync › Certificates & secrets');
    expect(status).toHaveTextContent('crosswalk secret set dynamics');
    expect(status).not.toHaveTextContent('fabrikam');
    expect(screen.getByRole('link', { name: 'Open Connections' })).toHaveAttribute('href', '#/connections');
  });

  it('is an alert once a secret has expired', async () => {
    fakeBackend({
      list_secret_expiries: () => [
        secretExpiry({
          daysLeft: -2,
          threshold: 0,
          expired: true,
          message: 'Client secret of connection contoso-entra expired on 2025-11-18.',
        }),
      ],
    });
    render(SecretExpiryBanner);
    const alert = await screen.findByRole('alert', { name: 'A client secret has expired' });
    expect(alert).toHaveClass('banner-error');
    expect(alert).toHaveTextContent('expired on 2025-11-18');
  });

  it('shows nothing while every secret has more than 30 days left', async () => {
    const backend = fakeBackend({
      list_secret_expiries: () => [secretExpiry({ daysLeft: 45, threshold: null })],
    });
    render(SecretExpiryBanner);
    await waitFor(() => expect(backend.callsOf('list_secret_expiries')).toHaveLength(1));
    expect(banner()).toBeNull();
  });

  it('shows nothing when the expiries cannot be read', async () => {
    const backend = fakeBackend({
      list_secret_expiries: reject({ code: 'unknown', message: 'database error', fix: null, fields: [] }),
    });
    render(SecretExpiryBanner);
    await waitFor(() => expect(backend.callsOf('list_secret_expiries')).toHaveLength(1));
    expect(banner()).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('appears after a health check run finds an expiring secret', async () => {
    const backend = fakeBackend({ list_secret_expiries: () => [] });
    await startLive();
    render(SecretExpiryBanner);
    await waitFor(() => expect(backend.callsOf('list_secret_expiries')).toHaveLength(1));
    expect(banner()).toBeNull();
    backend.set({ list_secret_expiries: () => [secretExpiry({ daysLeft: 13, threshold: 14 })] });
    await emit('run:changed', { runId: 9, jobName: 'health', status: 'succeeded' });
    expect(await screen.findByRole('status', { name: 'A client secret expires soon' })).toHaveTextContent(
      'contoso-entra expires in 13 days',
    );
  });
});
