/**
 * The sending half of cluster logging. `LogShipper` batches records per
 * filter (one batch = one path, Zeek's `Log::write_buffer_size` and
 * `Log::flush_interval`) and hands each encoded batch to a `LogDelivery`:
 *
 * - `PushDelivery` (here) is Zeek's ZeroMQ backend: every batch goes out as
 *   one `log-write` message over a single PUSH socket connected to every
 *   logger's PULL endpoint; libzmq spreads the batches round robin, and
 *   nothing comes back.
 * - `AckedDelivery` (acked_delivery.ts) numbers the batches, keeps each
 *   until a logger says it is written, resends and spools to disk; weir's
 *   own loggers take it.
 * - `JetStreamDelivery` (jetstream_delivery.ts) publishes to NATS JetStream.
 *
 * For `PushDelivery`:
 * What happens when the loggers cannot keep up: Zeek drops the batch the
 * moment the PUSH socket's high-water mark is reached ("Failed to send log
 * write. HWM reached?"). Blocking instead would stall the worker's packet
 * loop, which costs more than logs. So weir keeps Zeek's non-blocking send
 * but parks a refused batch in a bounded queue (64 MiB by default) and
 * retries it, in order, before anything newer: a logger restart or a short
 * burst loses nothing. Only when that queue is full is a batch dropped, and
 * then every dropped record is counted (`counters.recordsDropped`, exported
 * as a metric) and reported, and the logger-side `weir.log` carries the
 * totals (see `WEIR_STATS` in node_logging.ts).
 *
 * @module
 */

import { type CurveKeyPair, ZMQ_OPTION, type ZmqContext, type ZmqSocket } from "../../ffi/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { ByteWriter, type ZeekValue } from "../../zeek/mod.ts";
import { LOG_SERIALIZER_FORMAT } from "./log_batch_format.ts";
import { DEFAULT_LOG_BATCH_CAPACITY, encodeLogBatch } from "./log_batch_encoder.ts";
import type { LogFilter, LogSink, LogStream } from "./stream.ts";

/** First frame of every log message (Zeek's topic slot). */
export const LOG_WRITE_TOPIC = "log-write";
/** Zeek's `Log::write_buffer_size`. */
export const DEFAULT_FLUSH_RECORDS = 1000;
/** Zeek's `Log::flush_interval`. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** Zeek's `Cluster::Backend::ZeroMQ::log_sndhwm`. */
export const DEFAULT_LOG_SNDHWM = 1000;
/** Bytes of refused batches kept for retry before batches are dropped. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** `close()` stops retrying after this long without a batch going out. */
const CLOSE_STALL_MS = 1000;
/** Longest time libzmq may keep sending after `close()`. */
const FINAL_LINGER_MS = 500;
/** How long `close()` keeps retrying queued batches. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** Where encoded batches go. */
export interface LogDelivery {
  readonly counters: LogShipperCounters;
  /** Takes one encoded batch of `path`; `payload` is only borrowed during the call. */
  deliver(path: string, records: number, payload: Uint8Array): void;
  /** Called on the shipper's flush timer: retries, resends, drains. */
  tick(): void;
  /** Sends or keeps (spools) what is left within `timeoutMs`; counts the rest as dropped. */
  close(timeoutMs: number): Promise<void>;
  /** Where reports of dropped records also go (the node's `cluster.log`). */
  reportTo(sink: (message: string) => void): void;
}

/** What a delivery counts (for metrics and `weir.log`). */
export interface LogShipperCounters {
  batchesSent: number;
  recordsSent: number;
  /** Records in batches dropped (queue and spool full, or the shipper closed). */
  recordsDropped: number;
  /** The same, per log path. */
  readonly droppedByPath: Map<string, number>;
  /** Batches that had to wait in a queue at least once. */
  batchesDeferred: number;
  queuedBatches: number;
  queuedBytes: number;
  /** Records whose batch a logger (or NATS) acknowledged. */
  recordsAcked: number;
  /** Batches sent again after their acknowledgement did not come. */
  batchesResent: number;
  /** Batches sent and not acknowledged yet. */
  unackedBatches: number;
  /** The disk spool: batches, bytes now, and its peak. */
  spooledBatches: number;
  spoolBytes: number;
  spoolPeakBytes: number;
}

/** Fresh counters, all zero. */
export function newShipperCounters(): LogShipperCounters {
  return {
    batchesSent: 0,
    recordsSent: 0,
    recordsDropped: 0,
    droppedByPath: new Map(),
    batchesDeferred: 0,
    queuedBatches: 0,
    queuedBytes: 0,
    recordsAcked: 0,
    batchesResent: 0,
    unackedBatches: 0,
    spooledBatches: 0,
    spoolBytes: 0,
    spoolPeakBytes: 0,
  };
}

/** Counts dropped records and says so at most every 10 s (stderr, and `sink`). */
export class DropReport {
  #last = -Infinity;
  sink: ((message: string) => void) | undefined;
  constructor(
    private readonly counters: LogShipperCounters,
    private readonly reporter: Reporter | undefined,
  ) {}

  drop(path: string, records: number, why: string): void {
    const c = this.counters;
    c.recordsDropped += records;
    c.droppedByPath.set(path, (c.droppedByPath.get(path) ?? 0) + records);
    const now = performance.now();
    if (now - this.#last > 10_000) {
      this.#last = now;
      const message = `Dropped ${records} ${path}.log records because ${why}; ` +
        `${c.recordsDropped} dropped so far (${
          [...c.droppedByPath].map(([p, n]) => `${p} ${n}`).join(", ")
        })`;
      this.reporter?.warning(message);
      this.sink?.(message);
    }
  }
}

/** How a LogShipper batches. */
export interface LogBatchingOptions {
  readonly flushRecords?: number;
  readonly flushIntervalMs?: number;
}

/** Zeek's PUSH path. */
export interface PushDeliveryOptions {
  readonly zmq: ZmqContext;
  /** This node's bus id, sent as the second frame. */
  readonly nodeId: string;
  /** Every logger's PULL endpoint (`tcp://127.0.0.1:27762`). */
  readonly endpoints: readonly string[];
  /** A closed bus: this node's keypair and each endpoint's server key, in `endpoints` order. */
  readonly curve?: { readonly keys: CurveKeyPair; readonly serverKeys: readonly string[] };
  readonly sndHwm?: number;
  readonly maxQueuedBytes?: number;
  readonly reporter?: Reporter;
}

export type LogShipperOptions =
  & LogBatchingOptions
  & ({ readonly delivery: LogDelivery } | PushDeliveryOptions);

interface Batch {
  readonly filter: LogFilter;
  readonly stream: LogStream;
  rows: (readonly ZeekValue[])[];
}

interface Queued {
  readonly path: string;
  readonly payload: Uint8Array;
  readonly records: number;
}

const encoder = new TextEncoder();

/** Batches log writes and hands them to a delivery. */
export class LogShipper implements LogSink, AsyncDisposable {
  readonly delivery: LogDelivery;
  readonly #writer = new ByteWriter(DEFAULT_LOG_BATCH_CAPACITY);
  readonly #batches = new Map<LogFilter, Batch>();
  readonly #flushRecords: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: LogShipperOptions) {
    this.delivery = "delivery" in options ? options.delivery : new PushDelivery(options);
    this.#flushRecords = options.flushRecords ?? DEFAULT_FLUSH_RECORDS;
    const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (interval > 0) this.#timer = setInterval(() => this.flush(), interval);
  }

  get counters(): LogShipperCounters {
    return this.delivery.counters;
  }

  /** Queues one row of `stream` for `filter`'s path; sends the batch when it is full. */
  write(stream: LogStream, filter: LogFilter, values: readonly ZeekValue[]): void {
    if (this.#closed) {
      this.counters.recordsDropped++;
      return;
    }
    let batch = this.#batches.get(filter);
    if (batch === undefined) {
      batch = { filter, stream, rows: [] };
      this.#batches.set(filter, batch);
    }
    batch.rows.push(values);
    if (batch.rows.length >= this.#flushRecords) this.#sendBatch(batch);
  }

  /** Sends every partial batch and lets the delivery retry (the timer calls it too). */
  flush(): void {
    this.delivery.tick();
    for (const batch of this.#batches.values()) {
      if (batch.rows.length > 0) this.#sendBatch(batch);
    }
  }

  #sendBatch(batch: Batch): void {
    const { filter, stream } = batch;
    const rows = batch.rows;
    batch.rows = [];
    const payload = encodeLogBatch(
      this.#writer,
      {
        streamId: stream.id,
        writerName: filter.writer,
        filterName: filter.name,
        path: filter.path,
      },
      filter.fields,
      rows,
      filter.indices,
    );
    this.delivery.deliver(filter.path, rows.length, payload);
  }

  /** Sends what is left and closes the delivery (see its `close`). Idempotent. */
  async close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    clearInterval(this.#timer);
    await this.delivery.close(timeoutMs);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Zeek's path: one PUSH socket to every logger, no acknowledgements. */
export class PushDelivery implements LogDelivery {
  readonly counters = newShipperCounters();
  readonly #socket: ZmqSocket;
  readonly #frames: Uint8Array[];
  readonly #queue: Queued[] = [];
  readonly #maxQueuedBytes: number;
  readonly #drops: DropReport;

  constructor(options: PushDeliveryOptions) {
    if (options.endpoints.length === 0) {
      throw new RangeError(
        "Cannot ship logs: the layout has no logger endpoint; write locally instead (manager_is_logger)",
      );
    }
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#drops = new DropReport(this.counters, options.reporter);
    const socket = options.zmq.openSocket("push");
    try {
      socket.setOption(ZMQ_OPTION.SNDHWM, options.sndHwm ?? DEFAULT_LOG_SNDHWM);
      socket.setOption(ZMQ_OPTION.LINGER, DEFAULT_CLOSE_TIMEOUT_MS);
      options.endpoints.forEach((endpoint, i) => {
        if (options.curve !== undefined) {
          socket.setCurveClient(options.curve.keys, options.curve.serverKeys[i]!);
        }
        socket.connect(endpoint);
      });
    } catch (error) {
      socket.close();
      throw error;
    }
    this.#socket = socket;
    this.#frames = [
      encoder.encode(LOG_WRITE_TOPIC),
      encoder.encode(options.nodeId),
      encoder.encode(LOG_SERIALIZER_FORMAT),
      new Uint8Array(0),
    ];
  }

  reportTo(sink: (message: string) => void): void {
    this.#drops.sink = sink;
  }

  deliver(path: string, records: number, payload: Uint8Array): void {
    if (this.#queue.length > 0) this.tick();
    if (this.#queue.length === 0 && this.#trySend(payload, records)) return;
    this.#enqueue({ path, payload: payload.slice(), records });
  }

  tick(): void {
    let sent = 0;
    while (sent < this.#queue.length) {
      const item = this.#queue[sent]!;
      if (!this.#trySend(item.payload, item.records)) break;
      this.counters.queuedBytes -= item.payload.length;
      sent++;
    }
    if (sent > 0) this.#queue.splice(0, sent);
    this.counters.queuedBatches = this.#queue.length;
  }

  #trySend(payload: Uint8Array, records: number): boolean {
    this.#frames[3] = payload;
    if (!this.#socket.send(this.#frames)) return false;
    this.counters.batchesSent++;
    this.counters.recordsSent += records;
    return true;
  }

  #enqueue(item: Queued): void {
    if (this.counters.queuedBytes + item.payload.length > this.#maxQueuedBytes) {
      this.#drops.drop(
        item.path,
        item.records,
        "the retry queue is full (loggers not keeping up or unreachable)",
      );
      return;
    }
    this.#queue.push(item);
    this.counters.batchesDeferred++;
    this.counters.queuedBatches = this.#queue.length;
    this.counters.queuedBytes += item.payload.length;
  }

  /**
   * Keeps retrying refused batches for up to `timeoutMs`, but gives up
   * after a second without progress (the loggers are gone too); whatever
   * is still queued then is counted as dropped.
   */
  async close(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let progressAt = performance.now();
    while (this.#queue.length > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      const before = this.#queue.length;
      this.tick();
      if (this.#queue.length < before) progressAt = performance.now();
      else if (performance.now() - progressAt > CLOSE_STALL_MS) break;
    }
    for (const item of this.#queue.splice(0)) {
      this.#drops.drop(item.path, item.records, "the shipper closed before a logger took them");
    }
    this.counters.queuedBatches = 0;
    this.counters.queuedBytes = 0;
    // What libzmq still holds gets a little longer to go out: a live logger
    // takes it at once, and a dead one would only hold up the exit.
    const left = Math.max(0, Math.round(deadline - performance.now()));
    this.#socket.setOption(ZMQ_OPTION.LINGER, Math.min(FINAL_LINGER_MS, left));
    this.#socket.close();
  }
}
