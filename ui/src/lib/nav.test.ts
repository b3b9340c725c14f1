import { describe, expect, it } from 'vitest';
import { parseHash, routeHref } from './nav.svelte';

describe('hash routes', () => {
  it('parse screens, run ids, job filters and the add intent', () => {
    expect(parseHash('')).toEqual({ screen: 'dashboard', runId: null, job: null, adding: false });
    expect(parseHash('#/runs/42')).toMatchObject({ screen: 'runs', runId: 42 });
    expect(parseHash('#/runs?job=entra%20users')).toMatchObject({ screen: 'runs', job: 'entra users' });
    expect(parseHash('#/connections/new')).toMatchObject({ screen: 'connections', adding: true });
    expect(parseHash('#/nowhere')).toMatchObject({ screen: 'dashboard' });
  });

  it('round-trip through routeHref', () => {
    for (const hash of ['#/runs/7', '#/runs?job=a%26b', '#/jobs/new', '#/settings']) {
      const route = parseHash(hash);
      expect(routeHref(route.screen, route)).toBe(hash);
    }
  });
});
