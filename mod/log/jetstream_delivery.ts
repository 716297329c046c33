/**
 * Log batches straight to NATS JetStream (`LogTransport = nats`): no
 * logger in the path. Each batch is one message on `<prefix>.<path>`, with
 * `Nats-Msg-Id` = node, incarnation and sequence number (`logMessageId`),
 * so a batch published twice (its `PubAck` was lost, NATS restarted) is
 * stored once within the stream's duplicate window.
 *
 * Backpressure: at most `maxPending` publishes wait for their `PubAck` at
 * once; further batches wait in memory (up to 8 MiB), then in the node's
 * disk spool, as they do while NATS is unreachable. A publish that fails is
 * tried again, under the same id, after a short pause. Only a full spool
 * drops records, counted per path and reported.
 *
 * The message is the zeek-bin batch (`NatsFormat = zeek-bin`, what weir's
 * loggers consume) or its records as JSON lines (`json`, Zeek's JSON
 * writer, for other consumers). Headers name the node, path, format and
 * record count.
 *
 * The NATS client is loaded when the first delivery opens, so nodes that
 * do not use NATS do not pay for it.
 *
 * @module
 */

import type { NatsSettings } from "../../config/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { RowBuffer } from "./ascii_values.ts";
import type { JetStreamConnection } from "./jetstream.ts";
import { decodeLogBatch } from "./log_batch_decoder.ts";
import type { LogSpool, ShippedBatch } from "./log_spool.ts";
import { type JsonTimestamps, JsonWriter } from "./json_writer.ts";
import { DropReport, type LogDelivery, newShipperCounters } from "./shipper.ts";

/** Memory kept for batches that wait, before the spool takes them. */
const MAX_MEMORY_QUEUE_BYTES = 8 * 1024 * 1024;
/** A publish without its `PubAck` after this long is tried again. */
const PUBLISH_TIMEOUT_MS = 5000;
/** Pause after a failed publish before the next try. */
const RETRY_PAUSE_MS = 250;

export interface JetStreamDeliveryOptions {
  readonly nodeName: string;
  readonly nats: NatsSettings;
  /** `NatsFormat = json`: how timestamps are written. */
  readonly jsonTimestamps?: JsonTimestamps;
  readonly spool?: LogSpool;
  readonly reporter?: Reporter;
  /** Connects (tests pass one); default: `connectJetStream` with `nats`. */
  readonly connect?: () => Promise<JetStreamConnection>;
}

/** Publishes log batches to JetStream and keeps each until its `PubAck`. */
export class JetStreamDelivery implements LogDelivery {
  readonly counters = newShipperCounters();
  /** Publishes JetStream answered as duplicates (stored once). */
  duplicates = 0;
  readonly incarnation = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  readonly #options: JetStreamDeliveryOptions;
  readonly #queue: ShippedBatch[] = [];
  readonly #spool: LogSpool | undefined;
  readonly #drops: DropReport;
  /** Publishes awaiting their `PubAck`. */
  readonly #pending = new Map<ShippedBatch, Promise<void>>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #connected: Promise<JetStreamConnection | undefined>;
  #conn: JetStreamConnection | undefined;
  #seq = 0;
  #pausedUntil = 0;
  #closed = false;
  #lastFailure = -Infinity;
  #subject: ((path: string) => string) | undefined;
  #messageId: ((seq: number, batch: ShippedBatch) => string) | undefined;
  #headers: ((batch: ShippedBatch) => unknown) | undefined;
  readonly #json = new Map<string, JsonWriter>();

  constructor(options: JetStreamDeliveryOptions) {
    this.#options = options;
    this.#spool = options.spool;
    this.#drops = new DropReport(this.counters, options.reporter);
    this.#syncSpoolCounters();
    this.#connected = this.#connect();
    this.#timer = setInterval(() => this.tick(), 50);
  }

  async #connect(): Promise<JetStreamConnection | undefined> {
    const { nats, reporter, nodeName } = this.#options;
    const js = await import("./jetstream.ts");
    this.#subject = (path) => js.logSubject(nats.subjectPrefix, path);
    this.#messageId = (seq, batch) => js.logMessageId(nodeName, String(batch.incarnation), seq);
    this.#headers = (batch) =>
      js.logHeaders({
        node: nodeName,
        path: batch.path,
        format: nats.format,
        records: batch.records,
      });
    while (!this.#closed) {
      try {
        const conn = this.#options.connect !== undefined
          ? await this.#options.connect()
          : await js.connectJetStream({
            url: nats.url,
            name: nodeName,
            ...(nats.credentialsFile === "" ? {} : { credsFile: nats.credentialsFile }),
            ...(reporter === undefined ? {} : { reporter }),
          });
        await js.ensureLogStream(conn.jsm, {
          stream: nats.stream,
          subjectPrefix: nats.subjectPrefix,
          storage: nats.storage,
          replicas: nats.replicas,
          duplicateWindowSec: nats.duplicateWindowSec,
          maxAgeSec: nats.maxAgeSec,
        }).catch(async (error) => {
          await conn.close();
          throw error;
        });
        if (this.#closed) {
          await conn.close();
          return undefined;
        }
        this.#conn = conn;
        this.tick();
        return conn;
      } catch (error) {
        this.#failure(`Cannot publish logs to NATS yet: ${messageOf(error)}; spooling meanwhile`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    return undefined;
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
    this.counters.batchesSent++;
    this.counters.recordsSent += records;
    this.#enqueue(batch);
    this.tick();
  }

  /** Publishes what waits, as far as the window allows. */
  tick(): void {
    const conn = this.#conn;
    if (conn === undefined || this.#closed || performance.now() < this.#pausedUntil) return;
    const max = this.#options.nats.maxPending;
    while (this.#pending.size < max) {
      let batch = this.#queue.shift();
      if (batch !== undefined) this.counters.queuedBytes -= batch.payload.length;
      else {
        batch = this.#spool?.shift();
        if (batch === undefined) break;
        this.#syncSpoolCounters();
      }
      this.#publish(conn, batch);
    }
    this.counters.queuedBatches = this.#queue.length;
    this.counters.unackedBatches = this.#pending.size;
  }

  #publish(conn: JetStreamConnection, batch: ShippedBatch): void {
    let data: Uint8Array;
    try {
      data = this.#options.nats.format === "json" ? this.#jsonLines(batch) : batch.payload;
    } catch (error) {
      this.#drops.drop(batch.path, batch.records, `it cannot be rendered (${messageOf(error)})`);
      return;
    }
    const done: Promise<void> = conn.js.publish(this.#subject!(batch.path), data, {
      msgID: this.#messageId!(batch.seq, batch),
      timeout: PUBLISH_TIMEOUT_MS,
      headers: this.#headers!(batch) as never,
    }).then((ack) => {
      if (ack.duplicate) this.duplicates++;
      this.counters.recordsAcked += batch.records;
    }, (error) => {
      if (this.#closed) return; // spooled by close()
      this.counters.batchesResent++;
      this.#pausedUntil = performance.now() + RETRY_PAUSE_MS;
      this.#failure(`Publishing logs to NATS failed: ${messageOf(error)}; trying again`);
      this.#enqueue(batch, true);
    }).finally(() => {
      this.#pending.delete(batch);
      this.counters.unackedBatches = this.#pending.size;
    });
    this.#pending.set(batch, done);
  }

  #jsonLines(batch: ShippedBatch): Uint8Array {
    const decoded = decodeLogBatch(batch.payload);
    const shape = decoded.fields.map((f) => f.name).join("\t") + `\n${decoded.path}`;
    let writer = this.#json.get(shape);
    if (writer === undefined) {
      writer = new JsonWriter(decoded.fields, {
        ...(this.#options.jsonTimestamps === undefined
          ? {}
          : { timestamps: this.#options.jsonTimestamps }),
      });
      this.#json.set(shape, writer);
    }
    const buf = new RowBuffer(batch.payload.length * 2 + 1024);
    for (const row of decoded.rows) writer.appendRow(buf, row);
    return buf.detach();
  }

  /** Queues in memory while there is room, else spools; `first` puts it back at the front. */
  #enqueue(batch: ShippedBatch, first = false): void {
    if (this.counters.queuedBytes + batch.payload.length <= MAX_MEMORY_QUEUE_BYTES) {
      if (first) this.#queue.unshift(batch);
      else this.#queue.push(batch);
      this.counters.queuedBytes += batch.payload.length;
      this.counters.queuedBatches = this.#queue.length;
      return;
    }
    this.counters.batchesDeferred++;
    if (this.#spool?.append(batch)) {
      this.#syncSpoolCounters();
      return;
    }
    this.#drops.drop(
      batch.path,
      batch.records,
      this.#spool === undefined
        ? "NATS does not take them and the queue is full"
        : `NATS does not take them and the spool is full (LogSpoolSize, ${this.#spool.maxBytes} bytes)`,
    );
  }

  #syncSpoolCounters(): void {
    const spool = this.#spool;
    if (spool === undefined) return;
    this.counters.spooledBatches = spool.batches;
    this.counters.spoolBytes = spool.bytes;
    this.counters.spoolPeakBytes = spool.peakBytes;
  }

  #failure(message: string): void {
    const now = performance.now();
    if (now - this.#lastFailure < 10_000) return;
    this.#lastFailure = now;
    this.#options.reporter?.warning(message);
  }

  /**
   * Publishes what waits in memory for up to `timeoutMs`, then spools what
   * is still unpublished (or unacknowledged) for the next run.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && this.#conn !== undefined) {
      this.#pausedUntil = Math.min(this.#pausedUntil, performance.now());
      this.#publishMemoryOnly();
      if (this.#pending.size === 0 && this.#queue.length === 0) break;
      await Promise.race([
        Promise.all(this.#pending.values()),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now()))),
      ]);
      if (this.#pending.size === 0 && this.#queue.length > 0) {
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
    this.#closed = true;
    let kept = 0;
    // Unacknowledged publishes may be stored already: the next run's
    // resend has the same id, which JetStream recognises.
    const left = [...this.#pending.keys(), ...this.#queue.splice(0)];
    this.#pending.clear();
    for (const batch of left) {
      if (this.#spool?.append(batch)) kept++;
      else this.#drops.drop(batch.path, batch.records, "the node stopped before NATS took them");
    }
    this.counters.queuedBatches = 0;
    this.counters.queuedBytes = 0;
    if (kept > 0) {
      this.#options.reporter?.warning(
        `NATS did not take ${kept} log batches before the stop; they are kept in ` +
          `${this.#spool!.dir} and published at the next start`,
      );
    }
    this.#syncSpoolCounters();
    this.#spool?.close();
    const conn = this.#conn ?? await Promise.race([
      this.#connected,
      Promise.resolve(undefined),
    ]);
    await conn?.close();
  }

  /** `tick` without the spool: at close, the spool stays for the next run. */
  #publishMemoryOnly(): void {
    const conn = this.#conn!;
    while (this.#pending.size < this.#options.nats.maxPending && this.#queue.length > 0) {
      const batch = this.#queue.shift()!;
      this.counters.queuedBytes -= batch.payload.length;
      this.#publish(conn, batch);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
