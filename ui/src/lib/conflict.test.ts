import { describe, expect, it } from 'vitest';
import { conflictValue, readConflict } from './conflict';

describe('readConflict', () => {
  it('reads both values, the compared times with their sources, the winner and why', () => {
    const view = readConflict(
      { dynamics: 'Printer offline (Dynamics)', jira: 'Printer offline (Jira)' },
      {
        winner: 'dynamics',
        compared: {
          jira: { at: '2025-03-01T09:00:01Z', source: 'changelog' },
          dynamics: { at: '2025-03-01T09:00:02Z', source: 'modifiedon' },
        },
        why: "Dynamics' value won: it changed later.",
      },
    );
    expect(view).toEqual({
      sides: [
        { side: 'jira', label: 'Jira', value: 'Printer offline (Jira)', changedAt: '2025-03-01T09:00:01Z', source: 'Jira changelog', won: false },
        {
          side: 'dynamics',
          label: 'Dynamics',
          value: 'Printer offline (Dynamics)',
          changedAt: '2025-03-01T09:00:02Z',
          source: 'record modified on',
          won: true,
        },
      ],
      why: "Dynamics' value won: it changed later.",
    });
  });

  it('has no times when a side owns the field', () => {
    const view = readConflict({ dynamics: 'A', jira: 'B' }, { winner: 'jira', compared: null, why: "Jira's value won (the field is owned by Jira)." });
    expect(view?.sides.map((side) => [side.changedAt, side.source, side.won])).toEqual([
      [null, null, true],
      [null, null, false],
    ]);
  });

  it('is null for payloads that are not a conflict', () => {
    expect(readConflict({ title: 'A' }, { title: 'B' })).toBeNull();
    expect(readConflict({ dynamics: 'A', jira: 'B' }, { winner: 'nobody' })).toBeNull();
    expect(readConflict(null, null)).toBeNull();
  });
});

describe('conflictValue', () => {
  it('names options, users and statuses instead of showing their JSON', () => {
    expect(conflictValue({ id: '2', name: 'High' })).toBe('High');
    expect(conflictValue({ accountId: 'x', displayName: 'Ada' })).toBe('Ada');
    expect(conflictValue([{ value: 'EU' }, { value: 'US' }])).toBe('EU, US');
    expect(conflictValue({ statecode: 1, statuscode: 5 })).toBe('state 1, status 5');
    expect(conflictValue({ type: 'doc', version: 1, content: [] })).toBe('(rich text)');
    expect(conflictValue(null)).toBe('(empty)');
    expect(conflictValue(3)).toBe('3');
  });
});
