/**
 * Acknowledged log delivery: at least once to the loggers, exactly once in
 * their files (the loggers drop duplicates, see `mod/logger/log_ledger.ts`).
 *
 * Each batch gets an id: this node's name, the shipper's incarnation (its
 * start, in microseconds) and a sequence number. It goes to one logger over
 * a DEALER socket connected to that logger's acknowledgement port, as
 * Zeek's four `log-write` frames plus a fifth with the id:
 *
 * ```
 * f64 incarnation | f64 sequence | f64 low | node name (UTF-8)       (little endian)
 * ```
 *
 * where every sequence number below `low` is finished (acknowledged or
 * dropped), so the logger can forget them. The logger answers, once the
 * batch is in its file and handed to the OS, with `["log-ack", pairs]`,
 * `pairs` being (incarnation, sequence) as f64 pairs. Until then the shipper
 * keeps the batch:
 *
 * - A batch unacknowledged for `ackTimeoutMs` is sent again: to the same
 *   logger when it is connected (it may have written it and restarted; its
 *   ledger then recognises it), else to another one.
 * - A batch no logger takes (none connected, every window full) waits in a
 *   bounded memory queue, then in the disk spool (`LogSpool`), and goes out
 *   as soon as a logger takes batches again. Only a full spool drops
 *   records, counted per path and reported.
 * - On close, what is unacknowledged or queued is spooled for the node's
 *   next run, with its id.
 *
 * @module
 */

import { type CurveKeyPair, ZMQ_OPTION, type ZmqContext, type ZmqSocket } from "../../ffi/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { LOG_SERIALIZER_FORMAT } from "./log_batch_format.ts";
import type { LogSpool, ShippedBatch } from "./log_spool.ts";
import { WaitingBatches } from "./waiting_batches.ts";
import { DropReport, LOG_WRITE_TOPIC, type LogDelivery, newShipperCounters } from "./shipper.ts";

/** First frame of an acknowledgement. */
export const LOG_ACK_TOPIC = "log-ack";
/** Bytes of the id frame before the node name. */
export const LOG_ID_HEADER_BYTES = 24;
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
/** Batches one logger may hold unacknowledged. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

/** How often acknowledgements are read and the queue drained. */
const POLL_MS = 5;
/** After a spooled batch found no logger, the spool is tried again this much later. */
const SPOOL_RETRY_MS = 250;
/** `close()` stops waiting for acknowledgements after this long without one. */
const CLOSE_STALL_MS = 1000;
/** How often `close()` sends everything unacknowledged again before it spools it. */
const CLOSE_RESENDS = 3;

/** A log writer's acknowledgement endpoint. */
export interface AckedWriter {
  readonly name: string;
  /** `tcp://address:ackPort`. */
  readonly endpoint: string;
  /** A closed bus: its server key. */
  readonly serverKey?: string;
}

export interface AckedDeliveryOptions {
  readonly zmq: ZmqContext;
  /** This node's bus id (the second frame, as on Zeek's path). */
  readonly nodeId: string;
  /** This node's name: batch ids, and so duplicates, are per name. */
  readonly nodeName: string;
  readonly writers: readonly AckedWriter[];
  /** A closed bus: this node's keypair. */
  readonly curveKeys?: CurveKeyPair;
  readonly ackTimeoutMs?: number;
  readonly maxInFlight?: number;
  /** Bytes of batches kept in memory before the spool takes them. */
  readonly maxQueuedBytes?: number;
  /** Where batches wait when no logger takes them; without it they are dropped. */
  readonly spool?: LogSpool;
  /** ZMTP heartbeats, so a dead logger is noticed (ms). */
  readonly heartbeat?: { readonly intervalMs: number; readonly timeoutMs: number };
  readonly reporter?: Reporter;
}

interface Writer {
  readonly name: string;
  readonly socket: ZmqSocket;
  inFlight: number;
}

interface Flight {
  readonly batch: ShippedBatch;
  writer: number;
  sentAt: number;
}

const encoder = new TextEncoder();

/** Numbered batches to the loggers' acknowledgement ports, kept until acknowledged. */
export class AckedDelivery implements LogDelivery {
  readonly counters = newShipperCounters();
  /** This shipper's incarnation: its start in microseconds. */
  readonly incarnation: number;
  readonly #writers: Writer[] = [];
  readonly #flights = new Map<string, Flight>();
  /** What no logger takes now: in memory, then spooled. */
  readonly #waiting: WaitingBatches;
  readonly #frames: Uint8Array[];
  readonly #name: Uint8Array;
  readonly #ackTimeoutMs: number;
  readonly #maxInFlight: number;
  readonly #drops: DropReport;
  readonly #reporter: Reporter | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  #seq = 0;
  /** Every sequence number below it is finished; `#finished` holds those above. */
  #low = 1;
  readonly #finished = new Set<number>();
  #next = 0;
  #spoolRetryAt = 0;
  #closed = false;

  constructor(options: AckedDeliveryOptions) {
    if (options.writers.length === 0) {
      throw new RangeError(
        "Cannot ship logs: the layout has no log writer; write locally instead (manager_is_logger)",
      );
    }
    this.incarnation = Date.now() * 1000 + Math.floor(Math.random() * 1000);
    this.#ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#drops = new DropReport(this.counters, options.reporter);
    this.#waiting = new WaitingBatches({
      counters: this.counters,
      drops: this.#drops,
      spool: options.spool,
      maxMemoryBytes: options.maxQueuedBytes,
      nobody: "no logger takes batches",
      onDrop: (batch) => this.#finish(batch),
    });
    this.#reporter = options.reporter;
    this.#name = encoder.encode(options.nodeName);
    this.#frames = [
      encoder.encode(LOG_WRITE_TOPIC),
      encoder.encode(options.nodeId),
      encoder.encode(LOG_SERIALIZER_FORMAT),
      new Uint8Array(0),
      new Uint8Array(0),
    ];
    try {
      for (const w of options.writers) this.#writers.push(this.#connect(w, options));
    } catch (error) {
      for (const w of this.#writers) w.socket.close();
      throw error;
    }
    this.#timer = setInterval(() => this.tick(), POLL_MS);
  }

  #connect(w: AckedWriter, options: AckedDeliveryOptions): Writer {
    const socket = options.zmq.openSocket("dealer");
    try {
      // Only a connected logger takes a batch: a send with none fails at once.
      socket.setOption(ZMQ_OPTION.IMMEDIATE, 1);
      socket.setOption(ZMQ_OPTION.SNDHWM, this.#maxInFlight * 2);
      socket.setOption(ZMQ_OPTION.LINGER, 0);
      socket.setOption(ZMQ_OPTION.RECONNECT_IVL, 100);
      socket.setOption(ZMQ_OPTION.RECONNECT_IVL_MAX, 1000);
      if (options.heartbeat !== undefined) {
        socket.setOption(ZMQ_OPTION.HEARTBEAT_IVL, options.heartbeat.intervalMs);
        socket.setOption(ZMQ_OPTION.HEARTBEAT_TIMEOUT, options.heartbeat.timeoutMs);
        socket.setOption(ZMQ_OPTION.HEARTBEAT_TTL, options.heartbeat.timeoutMs);
      }
      if (options.curveKeys !== undefined) {
        if (w.serverKey === undefined) {
          throw new RangeError(`Cannot ship logs to ${w.name}: no server key for it`);
        }
        socket.setCurveClient(options.curveKeys, w.serverKey);
      }
      socket.connect(w.endpoint);
    } catch (error) {
      socket.close();
      throw error;
    }
    return { name: w.name, socket, inFlight: 0 };
  }

  reportTo(sink: (message: string) => void): void {
    this.#drops.sink = sink;
  }

  deliver(path: string, records: number, payload: Uint8Array): void {
    const batch: ShippedBatch = {
      incarnation: this.incarnation,
      seq: ++this.#seq,
      records,
      path,
      payload: payload.slice(),
    };
    if (this.#closed) {
      this.#finish(batch);
      this.#drops.drop(path, records, "the shipper is closed");
      return;
    }
    if (this.#waiting.size > 0) this.tick();
    if (this.#waiting.size === 0 && this.#send(batch)) return;
    this.#waiting.add(batch);
  }

  /** Reads acknowledgements, resends what timed out, sends what waits. */
  tick(): void {
    this.#readAcks();
    this.#resendExpired();
    this.#drain();
    this.counters.unackedBatches = this.#flights.size;
  }

  /** Sends `batch` to a logger with room, starting with `prefer`; false when none takes it. */
  #send(batch: ShippedBatch, prefer?: number): boolean {
    const n = this.#writers.length;
    const first = prefer ?? this.#next;
    for (let k = 0; k < n; k++) {
      const i = (first + k) % n;
      const w = this.#writers[i]!;
      // A resend to the logger that has it takes no more room in its window.
      if (w.inFlight >= this.#maxInFlight && !(prefer === i && k === 0)) continue;
      this.#frames[3] = batch.payload;
      this.#frames[4] = this.#idFrame(batch);
      if (!w.socket.send(this.#frames)) continue;
      if (prefer === undefined) this.#next = (i + 1) % n;
      const key = flightKey(batch.incarnation, batch.seq);
      const flight = this.#flights.get(key);
      if (flight === undefined) {
        this.#flights.set(key, { batch, writer: i, sentAt: performance.now() });
        this.counters.batchesSent++;
        this.counters.recordsSent += batch.records;
      } else {
        this.#writers[flight.writer]!.inFlight--;
        // Re-inserted at the end: the map stays in order of sending.
        this.#flights.delete(key);
        flight.writer = i;
        flight.sentAt = performance.now();
        this.#flights.set(key, flight);
        this.counters.batchesResent++;
      }
      w.inFlight++;
      return true;
    }
    return false;
  }

  #idFrame(batch: ShippedBatch): Uint8Array {
    const frame = new Uint8Array(LOG_ID_HEADER_BYTES + this.#name.length);
    const view = new DataView(frame.buffer);
    view.setFloat64(0, batch.incarnation, true);
    view.setFloat64(8, batch.seq, true);
    view.setFloat64(16, batch.incarnation === this.incarnation ? this.#low : 0, true);
    frame.set(this.#name, LOG_ID_HEADER_BYTES);
    return frame;
  }

  #readAcks(): void {
    for (const w of this.#writers) {
      for (let m = w.socket.receive(); m !== null; m = w.socket.receive()) {
        const [topic, pairs] = m.frames;
        if (topic === undefined || pairs === undefined || pairs.length % 16 !== 0) continue;
        const view = new DataView(pairs.buffer, pairs.byteOffset, pairs.byteLength);
        for (let off = 0; off < pairs.length; off += 16) {
          this.#acked(view.getFloat64(off, true), view.getFloat64(off + 8, true));
        }
      }
    }
  }

  #acked(incarnation: number, seq: number): void {
    const key = flightKey(incarnation, seq);
    const flight = this.#flights.get(key);
    if (flight === undefined) return; // acknowledged twice (a resent batch)
    this.#flights.delete(key);
    this.#writers[flight.writer]!.inFlight--;
    this.counters.recordsAcked += flight.batch.records;
    this.#finish(flight.batch);
  }

  /** Moves the low-water mark of this incarnation past `batch`. */
  #finish(batch: ShippedBatch): void {
    if (batch.incarnation !== this.incarnation) return;
    if (batch.seq !== this.#low) {
      this.#finished.add(batch.seq);
      return;
    }
    this.#low++;
    while (this.#finished.delete(this.#low)) this.#low++;
  }

  #resendExpired(): void {
    const due = performance.now() - this.#ackTimeoutMs;
    const expired: Flight[] = [];
    for (const flight of this.#flights.values()) {
      if (flight.sentAt > due) break;
      expired.push(flight);
    }
    for (const flight of expired) {
      if (this.#send(flight.batch, flight.writer)) continue;
      // Nobody took it: it waits another timeout, in its new place in the order.
      const key = flightKey(flight.batch.incarnation, flight.batch.seq);
      this.#flights.delete(key);
      flight.sentAt = performance.now();
      this.#flights.set(key, flight);
    }
  }

  /** Sends what waits, oldest first (memory, then the spool; at close only memory). */
  #drain(memoryOnly = false): void {
    // Reading the spool while no logger takes batches would only cut its
    // segments short: after a refusal it waits a moment.
    const memory = memoryOnly || performance.now() < this.#spoolRetryAt;
    for (let b = this.#waiting.peek(memory); b !== undefined; b = this.#waiting.peek(memory)) {
      if (!this.#send(b)) {
        if (this.#waiting.inMemory === 0) this.#spoolRetryAt = performance.now() + SPOOL_RETRY_MS;
        return;
      }
      this.#waiting.shift();
    }
  }

  /**
   * Waits up to `timeoutMs` for the acknowledgements of what is in flight
   * (sending what is queued meanwhile, not the spool), then spools what is
   * still unacknowledged or queued for the next run; without a spool that
   * is counted as dropped.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    const deadline = performance.now() + timeoutMs;
    let progressAt = performance.now();
    let outstanding = Infinity;
    let resends = 0;
    while (performance.now() < deadline) {
      this.#readAcks();
      this.#resendExpired();
      this.#drain(true);
      const now = this.#flights.size + this.#waiting.inMemory;
      if (now === 0) break;
      if (now < outstanding) progressAt = performance.now();
      else if (performance.now() - progressAt > CLOSE_STALL_MS) {
        // The loggers are gone too: keep the rest in the spool.
        if (resends === CLOSE_RESENDS) break;
        // A logger that was restarted lost what it held: send it all again
        // now rather than after the acknowledgement timeout.
        resends++;
        progressAt = performance.now();
        for (const flight of [...this.#flights.values()]) this.#send(flight.batch, flight.writer);
      }
      outstanding = now;
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#closed = true;
    const unacknowledged = [...this.#flights.values()].map((f) => f.batch);
    this.#flights.clear();
    const kept = this.#waiting.keep(unacknowledged, "the shipper closed before a logger took them");
    if (kept > 0) {
      this.#reporter?.warning(
        `No logger acknowledged ${kept} log batches before the stop; they are kept in ` +
          `${this.#waiting.spoolDir} and sent at the next start`,
      );
    }
    this.counters.unackedBatches = 0;
    for (const w of this.#writers) w.socket.close();
  }
}

function flightKey(incarnation: number, seq: number): string {
  return `${incarnation}:${seq}`;
}
