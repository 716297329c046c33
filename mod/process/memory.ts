/**
 * Giving freed memory back to the system after a burst. Two things keep it:
 * V8 frees the backing stores of dropped buffers (a WebSocket client's
 * large messages) only at its next full collection, which a quiet process
 * may not run for minutes; and glibc keeps what is freed in many small
 * chunks (libzmq's subscription tries: one allocation per byte of a
 * prefix). Callers say what they freed; past a threshold, once the frees
 * have stopped for a moment, a full collection runs and the C heap is
 * trimmed.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";
import { releaseFreeMemory } from "../../ffi/mod.ts";

/** Bytes freed after which the heap is trimmed. */
export const TRIM_AFTER_FREED_BYTES = 8 * 1024 * 1024;
/** Frees must have stopped this long before the trim, so a burst is done first. */
export const TRIM_QUIET_MS = 1000;

let freed = 0;
let lastFreeAt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let trims = 0;

/**
 * Notes `bytes` freed (an estimate is fine); past `TRIM_AFTER_FREED_BYTES`
 * the C heap is trimmed `TRIM_QUIET_MS` after the last such note. The timer
 * never keeps the process alive.
 */
export function noteFreedMemory(bytes: number): void {
  freed += bytes;
  lastFreeAt = performance.now();
  if (freed >= TRIM_AFTER_FREED_BYTES && timer === undefined) arm(TRIM_QUIET_MS);
}

/** How many trims this process made (for tests and metrics). */
export function memoryTrims(): number {
  return trims;
}

function arm(delayMs: number): void {
  const t = setTimeout(() => {
    timer = undefined;
    const quiet = performance.now() - lastFreeAt;
    if (quiet < TRIM_QUIET_MS) return arm(TRIM_QUIET_MS - quiet);
    freed = 0;
    trims++;
    collectGarbage();
    releaseFreeMemory();
  }, delayMs);
  Deno.unrefTimer(t);
  timer = t;
}

let gc: (() => void) | null | undefined;

/** A full V8 collection, through `gc` exposed for this one purpose (nothing where that fails). */
function collectGarbage(): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
