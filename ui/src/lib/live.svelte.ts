/**
 * Live updates pushed by the backend, subscribed to once for the whole app.
 *
 * - `run:progress` updates `live.progress` (keyed by run id) so progress bars move.
 * - `run:changed` (a run started or finished) bumps `live.revision`; screens reload their
 *   lists in an `$effect` that reads it, and a finished run's progress entry is dropped.
 * - `schedules:paused` keeps the "schedules paused" banner in step with the settings.
 */
import type { RunChanged } from './bindings/RunChanged';
import type { RunProgress } from './bindings/RunProgress';
import type { RunSummary } from './bindings/RunSummary';
import { idKey, toNumber, type Int } from './ids';
import { onRunChanged, onRunProgress, onSchedulesPaused, type UnlistenFn } from './ipc';

export interface ProgressView {
  done: number;
  total: number;
  message: string | null;
}

class Live {
  progress = $state<Record<string, RunProgress>>({});
  revision = $state(0);
  lastChange = $state<RunChanged | null>(null);
  /** `null` until the settings or an event told us. */
  schedulesPaused = $state<boolean | null>(null);

  applyProgress(progress: RunProgress): void {
    this.progress = { ...this.progress, [idKey(progress.runId)]: progress };
  }

  applyChange(change: RunChanged): void {
    if (change.status !== 'running') {
      const finished = idKey(change.runId);
      this.progress = Object.fromEntries(
        Object.entries(this.progress).filter(([key]) => key !== finished),
      );
    }
    this.lastChange = change;
    this.revision += 1;
  }

  /** Live progress of a run, if an event for it has arrived. */
  progressOf(runId: Int | null | undefined): RunProgress | null {
    if (runId === null || runId === undefined) return null;
    return this.progress[idKey(runId)] ?? null;
  }

  /** Live progress of whatever run of `jobName` is reporting, if any. */
  progressOfJob(jobName: string): RunProgress | null {
    return Object.values(this.progress).find((item) => item.jobName === jobName) ?? null;
  }

  /** The freshest progress for a run: the live event if any, else what the list said. */
  progressFor(run: RunSummary): ProgressView {
    const current = this.progressOf(run.id);
    if (current !== null) {
      return { done: current.done, total: current.total, message: current.message };
    }
    return {
      done: toNumber(run.progressDone),
      total: toNumber(run.progressTotal),
      message: run.progressMessage,
    };
  }

  reset(): void {
    this.progress = {};
    this.revision = 0;
    this.lastChange = null;
    this.schedulesPaused = null;
  }
}

export const live = new Live();

let subscription: Promise<UnlistenFn[]> | null = null;

/** Subscribes to the backend's events; later calls reuse the first subscription. */
export function startLive(): Promise<void> {
  subscription ??= Promise.all([
    onRunProgress((progress) => {
      live.applyProgress(progress);
    }),
    onRunChanged((change) => {
      live.applyChange(change);
    }),
    onSchedulesPaused((paused) => {
      live.schedulesPaused = paused;
    }),
  ]);
  return subscription.then(() => undefined);
}

/** Unsubscribes and forgets everything (tests, hot reload). */
export async function stopLive(): Promise<void> {
  const current = subscription;
  subscription = null;
  live.reset();
  if (current === null) return;
  try {
    for (const unlisten of await current) unlisten();
  } catch {
    // Subscribing failed in the first place; there is nothing to undo.
  }
}
