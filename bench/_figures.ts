/** Figures the benchmarks print: medians of rounds and whole numbers with separators. */

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `1234567.8` → `1,234,568`. */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
