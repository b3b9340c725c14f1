/**
 * CSV export of run events, built in the browser (RFC 4180: CRLF lines, fields quoted when
 * they hold a quote, comma or line break, quotes doubled).
 *
 * Event text comes from remote systems (display names, record titles), so a value that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) gets a leading
 * apostrophe: the admin sees the text, and nothing executes.
 */
import type { RunEventView } from './bindings/RunEventView';

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  } else text = JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly (readonly unknown[])[]): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export const EVENT_CSV_HEADER = [
  'time',
  'level',
  'object_kind',
  'object_id',
  'object_label',
  'action',
  'message',
  'fix',
  'before',
  'after',
] as const;

export function eventsToCsv(events: readonly RunEventView[]): string {
  const rows: unknown[][] = [[...EVENT_CSV_HEADER]];
  for (const event of events) {
    rows.push([
      event.at,
      event.level,
      event.objectKind,
      event.objectId,
      event.objectLabel,
      event.action,
      event.message,
      event.fix,
      event.before ?? null,
      event.after ?? null,
    ]);
  }
  return toCsv(rows);
}

/**
 * Hands `text` to the browser as a file download through a Blob link. A UTF-8 byte order mark
 * goes first so spreadsheet programs read non-ASCII names correctly.
 */
export function downloadText(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const blob = new Blob(['\uFEFF', text], { type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Give the download a moment to start before the URL goes away.
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 10_000);
}
