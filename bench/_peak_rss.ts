/**
 * A process's peak resident set, measured per round: Linux's VmHWM after
 * resetting it through `/proc/self/clear_refs`.
 *
 * @module
 */

/** Resets the kernel's peak-RSS mark for this process; false where that is not possible. */
export function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** The peak resident set since the last reset, in bytes; undefined where Linux does not offer it. */
export function peakRss(): number | undefined {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/^VmHWM:\s+(\d+) kB$/m);
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}
