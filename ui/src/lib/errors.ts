/**
 * How failures are shown: per-field messages next to the inputs they name, and everything
 * else as a banner or toast with the message and a "Fix:" line.
 *
 * Field names are the keys of the generated `ConnectionForm` / `JobForm`, so a backend
 * validation error lands next to the right input without any mapping table.
 */
import type { AppError } from './bindings/AppError';
import type { FieldError } from './bindings/FieldError';
import { toAppError, type CommandError } from './ipc';
import { notices } from './notices.svelte';

export type FieldErrors = Partial<Record<string, string>>;

/** `{ field: message }` for quick lookup in templates; several messages for one field are joined. */
export function fieldErrorMap(fields: readonly FieldError[]): FieldErrors {
  const map: FieldErrors = {};
  for (const { field, message } of fields) {
    const existing = map[field];
    map[field] = existing === undefined ? message : `${existing} ${message}`;
  }
  return map;
}

/** Field errors no visible input can show; the banner lists them so none is lost. */
export function unplacedFieldErrors(
  fields: readonly FieldError[],
  shown: readonly string[],
): FieldError[] {
  return fields.filter((item) => !shown.includes(item.field));
}

/**
 * The backend's error (if any) plus the form's own live checks, as one `AppError` for the
 * banner and the fields; `null` when there is nothing to show.
 */
export function mergeErrors(backend: AppError | null, local: readonly FieldError[]): AppError | null {
  if (backend === null && local.length === 0) return null;
  const seen = new Set((backend?.fields ?? []).map((item) => item.field));
  return {
    code: backend?.code ?? 'validation',
    message: backend?.message ?? 'Some fields need attention.',
    fix: backend?.fix ?? null,
    fields: [...(backend?.fields ?? []), ...local.filter((item) => !seen.has(item.field))],
  };
}

/** One line for logs, toasts and tooltips: "message Fix: fix". */
export function errorText(error: AppError): string {
  return error.fix === null ? error.message : `${error.message} Fix: ${error.fix}`;
}

/** Normalises `raw`, shows it as an error toast and returns it (for inline display too). */
export function showError(raw: unknown, context?: string): CommandError {
  const error = toAppError(raw);
  const message = context === undefined ? error.message : `${context}: ${error.message}`;
  notices.push('error', message, error.fix);
  return error;
}
