/**
 * 64-bit integers across the IPC boundary (run ids, counts).
 *
 * Tauri serialises to JSON, so these arrive as plain numbers (far below 2^53), and the Rust
 * DTOs tell ts-rs to type them as `number`. ts-rs' own default for `i64` is `bigint`, though;
 * code that compares, adds or sends such values goes through these helpers, which accept both
 * spellings, so a binding regenerated without the override cannot silently break `===` or
 * `JSON.stringify`.
 */

export type Int = bigint | number;

/** The value as a JS number; `null`/`undefined` count as 0. */
export function toNumber(value: Int | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'bigint' ? Number(value) : value;
}

/** True when both ids are present and equal, whichever way each is spelled. */
export function sameId(a: Int | null | undefined, b: Int | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  return toNumber(a) === toNumber(b);
}

/** A stable string key for maps and `{#each}` blocks. */
export function idKey(value: Int): string {
  return String(value);
}
