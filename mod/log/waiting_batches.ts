/**
 * Batches that wait to be sent: in memory up to a bound, then in the
 * node's disk spool, and only past the spool's bound dropped (counted per
 * path and reported). Both acknowledged deliveries (to the loggers, to
 * JetStream) keep what nobody takes now here.
 *
 * @module
 */

import type { LogSpool, ShippedBatch } from "./log_spool.ts";
import type { DropReport, LogShipperCounters } from "./shipper.ts";

/** Memory kept for waiting batches before the spool takes them. */
export const DEFAULT_MAX_MEMORY_QUEUE_BYTES = 8 * 1024 * 1024;

/** The memory queue and the spool of one delivery, with its counters. */
export class WaitingBatches {
  readonly #memory: ShippedBatch[] = [];
  readonly #spool: LogSpool | undefined;
  readonly #counters: LogShipperCounters;
  readonly #drops: DropReport;
  readonly #maxMemoryBytes: number;
  /** Says who does not take the batches, for the drop report ("no logger takes batches"). */
  readonly #nobody: string;
  readonly #onDrop: ((batch: ShippedBatch) => void) | undefined;

  constructor(options: {
    readonly counters: LogShipperCounters;
    readonly drops: DropReport;
    readonly spool?: LogSpool | undefined;
    readonly maxMemoryBytes?: number | undefined;
    readonly nobody: string;
    /** Told of each batch dropped. */
    readonly onDrop?: (batch: ShippedBatch) => void;
  }) {
    this.#counters = options.counters;
    this.#drops = options.drops;
    this.#spool = options.spool;
    this.#maxMemoryBytes = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_QUEUE_BYTES;
    this.#nobody = options.nobody;
    this.#onDrop = options.onDrop;
    this.#sync();
  }

  /** Batches waiting, in memory and spooled. */
  get size(): number {
    return this.#memory.length + (this.#spool?.batches ?? 0);
  }

  /** Batches waiting in memory. */
  get inMemory(): number {
    return this.#memory.length;
  }

  /** Keeps `batch` (in memory while there is room, else spooled, else dropped); `first` puts it at the front. */
  add(batch: ShippedBatch, first = false): void {
    const c = this.#counters;
    c.batchesDeferred++;
    if (c.queuedBytes + batch.payload.length <= this.#maxMemoryBytes) {
      if (first) this.#memory.unshift(batch);
      else this.#memory.push(batch);
      c.queuedBytes += batch.payload.length;
      this.#sync();
      return;
    }
    if (this.#spool?.append(batch)) {
      this.#sync();
      return;
    }
    this.#onDrop?.(batch);
    this.#drops.drop(
      batch.path,
      batch.records,
      this.#spool === undefined
        ? `${this.#nobody} and the queue is full`
        : `${this.#nobody} and the spool is full (LogSpoolSize, ${this.#spool.maxBytes} bytes)`,
    );
  }

  /** The oldest waiting batch, left in place; `memoryOnly` leaves the spool out. */
  peek(memoryOnly = false): ShippedBatch | undefined {
    return this.#memory[0] ?? (memoryOnly ? undefined : this.#spool?.peek());
  }

  /** Takes out the batch `peek` returned. */
  shift(): void {
    const batch = this.#memory.shift();
    if (batch !== undefined) this.#counters.queuedBytes -= batch.payload.length;
    else this.#spool?.shift();
    this.#sync();
  }

  /**
   * At close: spools what waits in memory and `unacknowledged` (with their
   * ids, for the node's next run), dropping what does not fit; returns how
   * many batches were kept.
   */
  keep(unacknowledged: Iterable<ShippedBatch>, why: string): number {
    let kept = 0;
    for (const batch of [...unacknowledged, ...this.#memory.splice(0)]) {
      if (this.#spool?.append(batch)) kept++;
      else this.#drops.drop(batch.path, batch.records, why);
    }
    this.#counters.queuedBytes = 0;
    this.#sync();
    this.#spool?.close();
    return kept;
  }

  /** Where the spool is (for messages). */
  get spoolDir(): string | undefined {
    return this.#spool?.dir;
  }

  #sync(): void {
    const c = this.#counters;
    c.queuedBatches = this.#memory.length;
    const spool = this.#spool;
    if (spool === undefined) return;
    c.spooledBatches = spool.batches;
    c.spoolBytes = spool.bytes;
    c.spoolPeakBytes = spool.peakBytes;
  }
}
