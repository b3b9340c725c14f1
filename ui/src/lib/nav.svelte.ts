/**
 * Hash-based navigation: `#/dashboard`, `#/connections`, `#/connections/new`, `#/jobs`,
 * `#/jobs/new`, `#/runs`, `#/runs?job=<name>`, `#/runs/<id>`, `#/settings`.
 *
 * The hash keeps the place across reloads and makes every screen linkable without a router.
 */

export type Screen = 'dashboard' | 'connections' | 'jobs' | 'runs' | 'settings';

export const SCREENS: readonly Screen[] = ['dashboard', 'connections', 'jobs', 'runs', 'settings'];

export interface Route {
  screen: Screen;
  /** `runs/<id>`: the run to drill into. */
  runId: number | null;
  /** `runs?job=<name>`: the job filter. */
  job: string | null;
  /** `connections/new`, `jobs/new`: open the add form on arrival. */
  adding: boolean;
}

function queryParam(query: string, key: string): string | null {
  for (const part of query.split('&')) {
    const [name, value = ''] = part.split('=', 2);
    if (name !== key) continue;
    try {
      return decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      return value;
    }
  }
  return null;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  const [first = '', second = ''] = path.split('/');
  const screen = SCREENS.find((item) => item === first) ?? 'dashboard';
  const runId = screen === 'runs' && /^\d+$/.test(second) ? Number(second) : null;
  return {
    screen,
    runId,
    job: screen === 'runs' ? queryParam(query, 'job') : null,
    adding: (screen === 'connections' || screen === 'jobs') && second === 'new',
  };
}

export function routeHref(screen: Screen, options: Partial<Omit<Route, 'screen'>> = {}): string {
  let hash = `#/${screen}`;
  if (options.runId !== null && options.runId !== undefined) hash += `/${options.runId}`;
  else if (options.adding === true) hash += '/new';
  if (options.job !== null && options.job !== undefined && options.job !== '') {
    hash += `?job=${encodeURIComponent(options.job)}`;
  }
  return hash;
}

class Nav {
  route = $state<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));

  /** Follows `hashchange`; returns the function that stops following it. */
  start(): () => void {
    const sync = (): void => {
      this.route = parseHash(location.hash);
    };
    sync();
    window.addEventListener('hashchange', sync);
    return () => {
      window.removeEventListener('hashchange', sync);
    };
  }

  go(screen: Screen, options: Partial<Omit<Route, 'screen'>> = {}): void {
    const hash = routeHref(screen, options);
    if (location.hash !== hash) location.hash = hash;
    // Update at once too: `hashchange` is asynchronous and absent in some test setups.
    this.route = parseHash(hash);
  }

  /** Changes the address without a history entry (a consumed `/new`, a filter). */
  replace(screen: Screen, options: Partial<Omit<Route, 'screen'>> = {}): void {
    const hash = routeHref(screen, options);
    history.replaceState(history.state, '', hash);
    this.route = parseHash(hash);
  }
}

export const nav = new Nav();
