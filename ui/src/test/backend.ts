/**
 * A fake backend for component tests: `mockIPC` with one handler per command, a log of every
 * call (command + camelCase arguments, exactly as Tauri would receive them), and event mocking
 * so tests can `emit` what the Rust side pushes.
 */
import { mockIPC } from '@tauri-apps/api/mocks';

export type Handler = (args: Record<string, unknown>) => unknown;

export interface Call {
  command: string;
  args: Record<string, unknown>;
}

export interface FakeBackend {
  calls: Call[];
  /** Calls of one command, in order. */
  callsOf(command: string): Record<string, unknown>[];
  /** Replaces or adds handlers while a test runs. */
  set(handlers: Record<string, Handler>): void;
}

export function fakeBackend(initial: Record<string, Handler> = {}): FakeBackend {
  const handlers: Record<string, Handler> = { ...initial };
  const calls: Call[] = [];
  mockIPC(
    (command, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ command, args });
      const handler = handlers[command];
      if (handler === undefined) {
        return Promise.reject(new Error(`no fake for command ${command}`));
      }
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  return {
    calls,
    callsOf: (command) => calls.filter((call) => call.command === command).map((call) => call.args),
    set: (more) => Object.assign(handlers, more),
  };
}

/** Rejects the way Tauri does when a command returns `Err(AppError)`. */
export function reject(error: unknown): () => Promise<never> {
  // Tauri rejects with the serialised AppError object (or a string), not an Error.
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
  return () => Promise.reject(error);
}
