import { render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { checkReport } from '../test/fixtures';
import CheckReportView from './CheckReportView.svelte';

describe('CheckReportView', () => {
  it('renders every check with its status in words, its detail and its fix', () => {
    render(CheckReportView, {
      report: checkReport({
        elapsedMs: 2500,
        items: [
          { label: 'Sign-in', status: 'ok', detail: 'Token issued', fix: null },
          { label: 'Graph permissions', status: 'fail', detail: 'User.Read.All is missing', fix: 'Grant admin consent for User.Read.All' },
          { label: 'Intune devices', status: 'warn', detail: 'No devices found', fix: null },
          { label: 'Assets schema', status: 'skipped', detail: 'Needs the permissions above', fix: null },
        ],
      }),
    });
    const report = document.getElementById('test-report');
    expect(report).toHaveAttribute('data-passed', 'false');
    const items = within(screen.getByRole('list')).getAllByRole('listitem');
    expect(items.map((item) => item.getAttribute('data-status'))).toEqual(['ok', 'fail', 'warn', 'skipped']);
    expect(items[0]).toHaveTextContent('Sign-in');
    expect(items[0]).toHaveTextContent('OK');
    expect(items[1]).toHaveTextContent('Failed');
    expect(items[1]).toHaveTextContent('User.Read.All is missing');
    expect(items[1]).toHaveTextContent('Fix: Grant admin consent for User.Read.All');
    expect(items[2]).toHaveTextContent('Warning');
    expect(items[3]).toHaveTextContent('Skipped');
    expect(screen.getByRole('status')).toHaveTextContent('1 check of 4 failed');
    expect(screen.getByRole('status')).toHaveTextContent('Checked in 2.5 s');
  });

  it('passes when nothing failed, even with warnings', () => {
    render(CheckReportView, {
      report: checkReport({ items: [{ label: 'Site', status: 'warn', detail: 'Slow', fix: null }] }),
    });
    expect(document.getElementById('test-report')).toHaveAttribute('data-passed', 'true');
    expect(screen.getByRole('status')).toHaveTextContent('Passed with 1 warning');
  });
});
