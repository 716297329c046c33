/**
 * What /proc tells about a process of this host.
 *
 * @module
 */

/** The resident set size of `pid` in KiB, or undefined when it is gone. */
export function residentKiB(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kib) ? kib : undefined;
  } catch {
    return undefined;
  }
}
