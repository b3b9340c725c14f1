/** Distinct values, sorted (for filter options built from what a run logged). */
export function uniqueSorted(values: Iterable<string>): string[] {
  return Array.from(new Set(values)).sort((a, b) => a.localeCompare(b));
}
