/**
 * One piece of data fetched from the backend, with its loading and error state.
 *
 * `load()` can be called as often as the UI likes (on mount, on a `run:changed` event, after
 * a save): only the answer to the latest call is kept, so a slow older answer never overwrites
 * a newer one. The fetcher runs untracked, so calling `load()` inside an `$effect` makes the
 * effect depend only on what the effect itself reads; a call can pass its own fetcher when the
 * request depends on state (filters, paging) that the effect read.
 */
import { untrack } from 'svelte';
import { toAppError, type CommandError } from './ipc';

export class Loadable<T> {
  value = $state<T | null>(null);
  error = $state<CommandError | null>(null);
  loading = $state(false);
  private latest = 0;
  private readonly fetcher: (() => Promise<T>) | null;

  constructor(fetcher: (() => Promise<T>) | null = null) {
    this.fetcher = fetcher;
  }

  async load(fetcher: (() => Promise<T>) | null = this.fetcher): Promise<void> {
    if (fetcher === null) throw new Error('Loadable.load needs a fetcher');
    const ticket = ++this.latest;
    this.loading = true;
    try {
      const value = await untrack(fetcher);
      if (ticket === this.latest) {
        this.value = value;
        this.error = null;
      }
    } catch (raw: unknown) {
      if (ticket === this.latest) this.error = toAppError(raw);
    } finally {
      if (ticket === this.latest) this.loading = false;
    }
  }

  /** True only before the first answer (later reloads keep showing the old data). */
  get initialLoading(): boolean {
    return this.value === null && this.error === null;
  }
}
