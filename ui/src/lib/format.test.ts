import { describe, expect, it } from 'vitest';
import { changedCount, formatDuration, formatRelative, runStatusLabel } from './format';
import { counts } from '../test/fixtures';

describe('formatDuration', () => {
  it('reads naturally at every scale', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(184_000)).toBe('3 min 4 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(3_720_000)).toBe('1 h 2 min');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2025-11-20T12:00:00Z');
  it('says how long ago or how soon', () => {
    expect(formatRelative('2025-11-20T11:59:50Z', now)).toBe('just now');
    expect(formatRelative('2025-11-20T11:55:00Z', now)).toBe('5 min ago');
    expect(formatRelative('2025-11-20T15:00:00Z', now)).toBe('in 3 h');
    expect(formatRelative('2025-11-18T12:00:00Z', now)).toBe('2 days ago');
    expect(formatRelative('not a date', now)).toBe('—');
  });
  it('never puts a time that already happened in the future', () => {
    expect(formatRelative('2025-11-20T12:00:20Z', now)).toBe('in a moment');
    expect(formatRelative('2025-11-20T12:00:20Z', now, true)).toBe('just now');
    expect(formatRelative('2025-11-20T11:55:00Z', now, true)).toBe('5 min ago');
  });
});

describe('labels and counts', () => {
  it('spells statuses in words and adds up changes', () => {
    expect(runStatusLabel('completed_with_errors')).toBe('Completed with errors');
    expect(changedCount(counts({ created: 1, updated: 2, retired: 3, deleted: 4, unchanged: 100 }))).toBe(10);
  });
});
