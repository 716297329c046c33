/**
 * Giving freed memory back to the system after a burst. Two things keep it:
 * V8 frees the backing stores of dropped buffers (a WebSocket client's
 * large messages) only at its next full collection, which a quiet process
 * may not run for minutes; and glibc keeps what is freed in many small
 * chunks (libzmq's subscription tries: one allocation per byte of a
 * prefix). Callers say what they freed; past a threshold, once the frees
 * have stopped for a moment, the C heap is trimmed, after a full
 * collection when JS buffers were among what was freed.
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
let buffersDropped = false;
let lastFreeAt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

/**
 * Notes `bytes` the C heap freed (an estimate is fine); past
 * `TRIM_AFTER_FREED_BYTES` the heap is trimmed `TRIM_QUIET_MS` after the
 * last such note. The timer never keeps the process alive.
 */
export function noteFreedMemory(bytes: number): void {
  note(bytes);
}

/**
 * Notes `bytes` of JS buffers dropped: as `noteFreedMemory`, and a full
 * collection frees them before the trim. Only for buffers worth a pause
 * (the collection stops the process for as long as its heap takes).
 */
export function noteDroppedBuffers(bytes: number): void {
  buffersDropped = true;
  note(bytes);
}

function note(bytes: number): void {
  freed += bytes;
  lastFreeAt = performance.now();
  if (freed >= TRIM_AFTER_FREED_BYTES && timer === undefined) arm(TRIM_QUIET_MS);
}

function arm(delayMs: number): void {
  const t = setTimeout(() => {
    timer = undefined;
    const quiet = performance.now() - lastFreeAt;
    if (quiet < TRIM_QUIET_MS) return arm(TRIM_QUIET_MS - quiet);
    if (buffersDropped) collectGarbage();
    freed = 0;
    buffersDropped = false;
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
