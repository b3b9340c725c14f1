/**
 * A compact, flat diff of an event's `before` and `after` values (arbitrary JSON).
 *
 * Objects are flattened to dotted paths (`manager.displayName`); arrays and scalars are
 * compared as whole values. Only differing paths are listed, in a stable order.
 */

export type DiffKind = 'added' | 'removed' | 'changed';

export interface DiffLine {
  path: string;
  kind: DiffKind;
  before: string | null;
  after: string | null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix !== '') out.set(prefix, value);
    for (const key of keys) flatten(value[key], prefix === '' ? key : `${prefix}.${key}`, out);
    return;
  }
  out.set(prefix, value);
}

/** One value as short text: strings unquoted, everything else as JSON, long text cut. */
export function showValue(value: unknown, max = 80): string {
  let text: string;
  if (value === null || value === undefined) text = '∅';
  else if (typeof value === 'string') text = value === '' ? '""' : value;
  else text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export function compactDiff(before: unknown, after: unknown): DiffLine[] {
  const hasBefore = before !== null && before !== undefined;
  const hasAfter = after !== null && after !== undefined;
  if (!hasBefore && !hasAfter) return [];
  if (!isPlainObject(before) && !isPlainObject(after)) {
    if (same(before, after)) return [];
    return [
      {
        path: '',
        kind: !hasBefore ? 'added' : !hasAfter ? 'removed' : 'changed',
        before: hasBefore ? showValue(before) : null,
        after: hasAfter ? showValue(after) : null,
      },
    ];
  }
  const beforeFlat = new Map<string, unknown>();
  const afterFlat = new Map<string, unknown>();
  if (hasBefore) flatten(before, '', beforeFlat);
  if (hasAfter) flatten(after, '', afterFlat);
  const paths = new Set([...beforeFlat.keys(), ...afterFlat.keys()]);
  const lines: DiffLine[] = [];
  for (const path of paths) {
    const inBefore = beforeFlat.has(path);
    const inAfter = afterFlat.has(path);
    const oldValue = beforeFlat.get(path);
    const newValue = afterFlat.get(path);
    if (inBefore && inAfter) {
      if (!same(oldValue, newValue)) {
        lines.push({ path, kind: 'changed', before: showValue(oldValue), after: showValue(newValue) });
      }
    } else if (inAfter) {
      lines.push({ path, kind: 'added', before: null, after: showValue(newValue) });
    } else {
      lines.push({ path, kind: 'removed', before: showValue(oldValue), after: null });
    }
  }
  return lines;
}
