import { describe, expect, it } from 'vitest';
import { compactDiff, showValue } from './diff';

describe('compactDiff', () => {
  it('lists only the fields that changed, with dotted paths', () => {
    expect(
      compactDiff(
        { name: 'Ada', title: 'Analyst', manager: { id: 'm1', name: 'Bob' } },
        { name: 'Ada', title: 'Engineer', manager: { id: 'm2', name: 'Bob' } },
      ),
    ).toEqual([
      { path: 'title', kind: 'changed', before: 'Analyst', after: 'Engineer' },
      { path: 'manager.id', kind: 'changed', before: 'm1', after: 'm2' },
    ]);
  });

  it('shows a created record as added fields and a removed one as removed fields', () => {
    expect(compactDiff(null, { name: 'Ada' })).toEqual([{ path: 'name', kind: 'added', before: null, after: 'Ada' }]);
    expect(compactDiff({ name: 'Ada' }, null)).toEqual([{ path: 'name', kind: 'removed', before: 'Ada', after: null }]);
  });

  it('compares arrays and scalars as whole values', () => {
    expect(compactDiff({ groups: ['a'] }, { groups: ['a', 'b'] })).toEqual([
      { path: 'groups', kind: 'changed', before: '["a"]', after: '["a","b"]' },
    ]);
    expect(compactDiff('Open', 'Closed')).toEqual([{ path: '', kind: 'changed', before: 'Open', after: 'Closed' }]);
    expect(compactDiff(3, 3)).toEqual([]);
    expect(compactDiff(null, undefined)).toEqual([]);
  });
});

describe('showValue', () => {
  it('shortens long values and marks empty ones', () => {
    expect(showValue('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(showValue(null)).toBe('∅');
    expect(showValue('')).toBe('""');
    expect(showValue(true)).toBe('true');
  });
});
