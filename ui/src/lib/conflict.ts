/**
 * A Smart Connected Item's `conflict` run event read as "both values, which won, why".
 *
 * The connector logs `before: { dynamics, jira }` (each side's value) and `after: { winner,
 * compared, why }`; `compared` holds each side's change time and where it came from for "most
 * recent wins", and is null when a side owns the field.
 */

import { showValue } from './diff';

export type ConflictSide = 'jira' | 'dynamics';

export interface ConflictSideView {
  side: ConflictSide;
  label: string;
  value: string;
  /** When that side changed the field, if it was compared. */
  changedAt: string | null;
  /** Where that time came from, in words ("changelog", "audit history"…). */
  source: string | null;
  won: boolean;
}

export interface ConflictView {
  sides: [ConflictSideView, ConflictSideView];
  why: string | null;
}

const SIDE_LABELS: Record<ConflictSide, string> = { jira: 'Jira', dynamics: 'Dynamics' };

const SOURCES: Record<string, string> = {
  changelog: 'Jira changelog',
  updated: 'issue updated time',
  audit: 'Dynamics audit history',
  modifiedon: 'record modified on',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field value as admins know it: option/user/priority names rather than their JSON. */
export function conflictValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(empty)';
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : value.map(conflictValue).join(', ');
  if (isObject(value)) {
    if (value.type === 'doc') return '(rich text)';
    for (const key of ['displayName', 'name', 'value', 'label']) {
      if (typeof value[key] === 'string') return value[key];
    }
    if ('statecode' in value && 'statuscode' in value) {
      return `state ${showValue(value.statecode)}, status ${showValue(value.statuscode)}`;
    }
  }
  return showValue(value, 120);
}

/** The conflict view of an event, or null when the payload is not a conflict's. */
export function readConflict(before: unknown, after: unknown): ConflictView | null {
  if (!isObject(before) || !isObject(after)) return null;
  if (!('jira' in before) || !('dynamics' in before)) return null;
  const winner = after.winner;
  if (winner !== 'jira' && winner !== 'dynamics') return null;
  const compared = isObject(after.compared) ? after.compared : null;
  const side = (name: ConflictSide): ConflictSideView => {
    const time = compared !== null && isObject(compared[name]) ? compared[name] : null;
    const at = time !== null && typeof time.at === 'string' ? time.at : null;
    const source = time !== null && typeof time.source === 'string' ? time.source : null;
    return {
      side: name,
      label: SIDE_LABELS[name],
      value: conflictValue(before[name]),
      changedAt: at,
      source: source === null ? null : (SOURCES[source] ?? source),
      won: winner === name,
    };
  };
  return {
    sides: [side('jira'), side('dynamics')],
    why: typeof after.why === 'string' && after.why !== '' ? after.why : null,
  };
}
