import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { counts, runSummary } from '../test/fixtures';
import RunHistoryChart from './RunHistoryChart.svelte';

function bars(): Element[] {
  return Array.from(document.querySelectorAll('[data-chart-bar]'));
}

describe('RunHistoryChart', () => {
  it('draws one bar per finished run, oldest first, and skips running ones', () => {
    const runs = [
      runSummary({ id: 3, startedAt: '2025-11-20T12:00:00Z', status: 'failed', totals: counts({ failed: 2 }) }),
      runSummary({ id: 1, startedAt: '2025-11-20T10:00:00Z' }),
      runSummary({ id: 4, startedAt: '2025-11-20T13:00:00Z', status: 'running', finishedAt: null, durationMs: null }),
      runSummary({ id: 2, startedAt: '2025-11-20T11:00:00Z', totals: counts() }),
    ];
    render(RunHistoryChart, { runs });
    expect(bars().map((bar) => bar.getAttribute('data-run-id'))).toEqual(['1', '2', '3']);
    // A run with no changes still gets a visible stub.
    expect(bars()[1]?.querySelectorAll('rect.seg-none')).toHaveLength(1);
    // Failure is marked by a symbol, not only by colour.
    expect(bars()[2]?.querySelector('.chart-marker')).toHaveTextContent('×');
    expect(document.querySelectorAll('.chart-duration-dot')).toHaveLength(3);
  });

  it('is an image with a text summary', () => {
    render(RunHistoryChart, {
      runs: [runSummary({ id: 1 }), runSummary({ id: 2, status: 'completed_with_errors', durationMs: 125_000 })],
      scope: 'job entra-users',
    });
    // The accessible name carries the whole summary, so every screen reader reads it.
    expect(screen.getByRole('img')).toHaveAccessibleName(
      /^Run history 2 runs of job entra-users .*1 succeeded, 1 completed with errors, 0 failed\. Most records changed in one run: 8\. Longest run: 2 min 5 s\.$/,
    );
  });

  it('caps the number of bars, keeping the most recent runs', () => {
    const runs = Array.from({ length: 50 }, (_, index) =>
      runSummary({
        id: index + 1,
        startedAt: new Date(Date.UTC(2025, 10, 1, index)).toISOString(),
        totals: counts({ created: 1 }),
      }),
    );
    render(RunHistoryChart, { runs, max: 30 });
    expect(bars()).toHaveLength(30);
    expect(bars()[0]).toHaveAttribute('data-run-id', '21');
  });

  it('says so when there is nothing to draw', () => {
    render(RunHistoryChart, { runs: [] });
    expect(bars()).toHaveLength(0);
    expect(screen.getByRole('img')).toHaveAccessibleName('Run history No finished runs of all jobs yet.');
  });
});
