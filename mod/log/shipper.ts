/**
 * The sending half of cluster logging, as Zeek's ZeroMQ backend does it:
 * records are batched per filter (one batch = one path) and every batch goes
 * out as one `log-write` message over a single PUSH socket connected to every
 * logger's PULL endpoint; libzmq spreads the batches round robin.
 *
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

export interface LogShipperOptions {
  readonly zmq: ZmqContext;
  /** This node's bus id, sent as the second frame. */
  readonly nodeId: string;
  /** Every logger's PULL endpoint (`tcp://127.0.0.1:27762`). */
  readonly endpoints: readonly string[];
  /** A closed bus: this node's keypair and each endpoint's server key, in `endpoints` order. */
  readonly curve?: { readonly keys: CurveKeyPair; readonly serverKeys: readonly string[] };
  readonly flushRecords?: number;
  readonly flushIntervalMs?: number;
  readonly sndHwm?: number;
  readonly maxQueuedBytes?: number;
  readonly reporter?: Reporter;
}

/** What the shipper counts (for metrics and `weir.log`). */
export interface LogShipperCounters {
  batchesSent: number;
  recordsSent: number;
  /** Records in batches dropped because the retry queue was full or the shipper closed. */
  recordsDropped: number;
  /** Batches that had to wait in the retry queue at least once. */
  batchesDeferred: number;
  queuedBatches: number;
  queuedBytes: number;
}

interface Batch {
  readonly filter: LogFilter;
  readonly stream: LogStream;
  rows: (readonly ZeekValue[])[];
}

interface Queued {
  readonly payload: Uint8Array;
  readonly records: number;
}

const encoder = new TextEncoder();

/** Batches log writes and pushes them to the loggers. */
export class LogShipper implements LogSink, AsyncDisposable {
  readonly counters: LogShipperCounters = {
    batchesSent: 0,
    recordsSent: 0,
    recordsDropped: 0,
    batchesDeferred: 0,
    queuedBatches: 0,
    queuedBytes: 0,
  };
  readonly #socket: ZmqSocket;
  readonly #frames: Uint8Array[];
  readonly #writer = new ByteWriter(DEFAULT_LOG_BATCH_CAPACITY);
  readonly #batches = new Map<LogFilter, Batch>();
  readonly #queue: Queued[] = [];
  readonly #flushRecords: number;
  readonly #maxQueuedBytes: number;
  readonly #reporter: Reporter | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastDropReport = -Infinity;
  #closed = false;

  constructor(options: LogShipperOptions) {
    if (options.endpoints.length === 0) {
      throw new RangeError(
        "Cannot ship logs: the layout has no logger endpoint; write locally instead (manager_is_logger)",
      );
    }
    this.#flushRecords = options.flushRecords ?? DEFAULT_FLUSH_RECORDS;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#reporter = options.reporter;
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
    const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (interval > 0) this.#timer = setInterval(() => this.flush(), interval);
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

  /** Sends every partial batch and retries queued ones (the 1 s timer calls it too). */
  flush(): void {
    this.#retryQueued();
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
    if (this.#queue.length > 0) this.#retryQueued();
    if (this.#queue.length === 0 && this.#trySend(payload, rows.length)) return;
    this.#enqueue(payload.slice(), rows.length);
  }

  #trySend(payload: Uint8Array, records: number): boolean {
    this.#frames[3] = payload;
    if (!this.#socket.send(this.#frames)) return false;
    this.counters.batchesSent++;
    this.counters.recordsSent += records;
    return true;
  }

  #enqueue(payload: Uint8Array, records: number): void {
    if (this.counters.queuedBytes + payload.length > this.#maxQueuedBytes) {
      this.#drop(records, "the retry queue is full");
      return;
    }
    this.#queue.push({ payload, records });
    this.counters.batchesDeferred++;
    this.counters.queuedBatches = this.#queue.length;
    this.counters.queuedBytes += payload.length;
  }

  #retryQueued(): void {
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

  #drop(records: number, why: string): void {
    this.counters.recordsDropped += records;
    const now = performance.now();
    if (now - this.#lastDropReport > 10_000) {
      this.#lastDropReport = now;
      this.#reporter?.warning(
        `Dropped log records because ${why} (loggers not keeping up or unreachable); ` +
          `${this.counters.recordsDropped} dropped so far`,
      );
    }
  }

  /**
   * Sends what is left and keeps retrying refused batches for up to
   * `timeoutMs`, but gives up after a second without progress (the loggers
   * are gone too); whatever is still queued then is counted as dropped.
   * Idempotent.
   */
  async close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    clearInterval(this.#timer);
    const deadline = performance.now() + timeoutMs;
    let progressAt = performance.now();
    while (this.#queue.length > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      const before = this.#queue.length;
      this.#retryQueued();
      if (this.#queue.length < before) progressAt = performance.now();
      else if (performance.now() - progressAt > CLOSE_STALL_MS) break;
    }
    for (const item of this.#queue.splice(0)) this.#drop(item.records, "the shipper closed");
    this.counters.queuedBatches = 0;
    this.counters.queuedBytes = 0;
    // What libzmq still holds gets a little longer to go out: a live logger
    // takes it at once, and a dead one would only hold up the exit.
    const left = Math.max(0, Math.round(deadline - performance.now()));
    this.#socket.setOption(ZMQ_OPTION.LINGER, Math.min(FINAL_LINGER_MS, left));
    this.#socket.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
