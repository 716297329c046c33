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

/** `2.31 s = 1,234,567 pps, 1,234 MB/s`: a timed run over a trace file. */
export function speed(seconds: number, pps: number, bytesPerSecond: number): string {
  return `${seconds.toFixed(2)} s = ${fmt(pps)} pps, ${fmt(bytesPerSecond / 1e6)} MB/s`;
}

/** `, peak RSS 192 MiB` (nothing when unknown). */
export function peakRss(bytes: number | undefined): string {
  return bytes === undefined ? "" : `, peak RSS ${(bytes / 1048576).toFixed(0)} MiB`;
}

/** `0.35` → `35 %`. */
export function percent(share: number): string {
  return `${Math.round(100 * share)} %`;
}
