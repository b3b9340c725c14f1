/**
 * Words and numbers as the console shows them: labels for generated enums, dates, durations.
 * Pure functions, so they are easy to test and safe to call from templates.
 */
import type { Cloud } from './bindings/Cloud';
import type { ConnectionKind } from './bindings/ConnectionKind';
import type { RunCounts } from './bindings/RunCounts';
import type { RunStatus } from './bindings/RunStatus';
import type { Trigger } from './bindings/Trigger';
import { toNumber } from './ids';

export const KIND_LABELS: Record<ConnectionKind, string> = {
  jira: 'Jira site',
  entra: 'Entra tenant',
  dataverse: 'Dataverse environment',
};

export const CLOUD_LABELS: Record<Cloud, string> = {
  global: 'Global',
  us_gov: 'US Government GCC High',
  us_gov_dod: 'US Government DoD',
  china: 'China (21Vianet)',
  custom: 'Custom',
};

export const RUN_STATUS_LABELS: Record<RunStatus, string> = {
  running: 'Running',
  succeeded: 'Succeeded',
  completed_with_errors: 'Completed with errors',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};

export const TRIGGER_LABELS: Record<Trigger, string> = {
  schedule: 'Schedule',
  missed: 'Missed schedule',
  sync_now: 'Sync now',
  cli: 'Command line',
};

/** Labels for unknown enum values (a newer backend) fall back to the raw value. */
export function runStatusLabel(status: RunStatus): string {
  return RUN_STATUS_LABELS[status] ?? status; // eslint-disable-line @typescript-eslint/no-unnecessary-condition
}

export function triggerLabel(trigger: Trigger): string {
  return TRIGGER_LABELS[trigger] ?? trigger; // eslint-disable-line @typescript-eslint/no-unnecessary-condition
}

export function kindLabel(kind: ConnectionKind): string {
  return KIND_LABELS[kind] ?? kind; // eslint-disable-line @typescript-eslint/no-unnecessary-condition
}

function parseDate(iso: string | null | undefined): Date | null {
  if (iso === null || iso === undefined || iso === '') return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** "14:03:05": for events within one run, where the date is in the header. */
export function formatTime(iso: string | null | undefined): string {
  const date = parseDate(iso);
  return date === null ? '—' : timeFormat.format(date);
}

const shortDateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** "21 Nov 2025, 14:03" in the admin's locale; "—" when missing or unparsable. */
export function formatDateTime(iso: string | null | undefined): string {
  const date = parseDate(iso);
  return date === null ? '—' : dateTimeFormat.format(date);
}

export function formatShortDate(iso: string | null | undefined): string {
  const date = parseDate(iso);
  return date === null ? '—' : shortDateFormat.format(date);
}

/** "just now", "5 min ago", "in 3 h", "2 days ago". */
export function formatRelative(iso: string | null | undefined, now: number, past = false): string {
  const date = parseDate(iso);
  if (date === null) return '—';
  const deltaSeconds = Math.round((date.getTime() - now) / 1000);
  // A time that already happened (`past`) cannot be ahead of now: only a stale `now` or clock
  // skew makes it look so, and "in a moment" would be nonsense for it.
  if (past && deltaSeconds > 0) return 'just now';
  const future = deltaSeconds > 0;
  const seconds = Math.abs(deltaSeconds);
  const phrase = (amount: string): string => (future ? `in ${amount}` : `${amount} ago`);
  if (seconds < 45) return future ? 'in a moment' : 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return phrase(`${minutes} min`);
  const hours = Math.round(minutes / 60);
  if (hours < 24) return phrase(`${hours} h`);
  const days = Math.round(hours / 24);
  if (days < 14) return phrase(days === 1 ? '1 day' : `${days} days`);
  return formatDateTime(iso);
}

/** "0.4 s", "12 s", "3 min 4 s", "1 h 2 min"; "—" when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds} s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 60) {
    const seconds = totalSeconds % 60;
    return seconds === 0 ? `${totalMinutes} min` : `${totalMinutes} min ${seconds} s`;
  }
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

const countFormat = new Intl.NumberFormat();

export function formatCount(value: bigint | number | null | undefined): string {
  return countFormat.format(toNumber(value));
}

/** Records a run changed in Jira (created + updated + retired + deleted). */
export function changedCount(totals: RunCounts): number {
  return (
    toNumber(totals.created) +
    toNumber(totals.updated) +
    toNumber(totals.retired) +
    toNumber(totals.deleted)
  );
}

export function plural(count: number, one: string, many: string): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}
