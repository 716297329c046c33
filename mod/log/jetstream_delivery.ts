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
import { WaitingBatches } from "./waiting_batches.ts";
import { type JsonTimestamps, JsonWriter } from "./json_writer.ts";
import { DropReport, type LogDelivery, newShipperCounters } from "./shipper.ts";

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
}

/** Publishes log batches to JetStream and keeps each until its `PubAck`. */
export class JetStreamDelivery implements LogDelivery {
  readonly counters = newShipperCounters();
  /** Publishes JetStream answered as duplicates (stored once). */
  duplicates = 0;
  readonly incarnation = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  readonly #options: JetStreamDeliveryOptions;
  /** What NATS does not take now: in memory, then spooled. */
  readonly #waiting: WaitingBatches;
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
  /** The NATS helpers, loaded with the first connection. */
  #js: typeof import("./jetstream.ts") | undefined;
  #ensuringSince = -Infinity;
  readonly #json = new Map<string, JsonWriter>();

  constructor(options: JetStreamDeliveryOptions) {
    this.#options = options;
    this.#drops = new DropReport(this.counters, options.reporter);
    this.#waiting = new WaitingBatches({
      counters: this.counters,
      drops: this.#drops,
      spool: options.spool,
      nobody: "NATS does not take them",
    });
    this.#connected = this.#connect();
    this.#timer = setInterval(() => this.tick(), 50);
  }

  async #connect(): Promise<JetStreamConnection | undefined> {
    const { nats, reporter, nodeName } = this.#options;
    const js = await import("./jetstream.ts");
    this.#js = js;
    while (!this.#closed) {
      try {
        const conn = await js.openLogStream(nats, nodeName, reporter);
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
    const conn = this.#conn;
    const open = conn !== undefined && !this.#closed && performance.now() >= this.#pausedUntil &&
      this.#pending.size < this.#options.nats.maxPending;
    if (open && this.#waiting.size === 0) {
      this.#publish(conn, batch);
      return;
    }
    this.#waiting.add(batch);
    this.tick();
  }

  /** Publishes what waits, as far as the window allows. */
  tick(): void {
    if (this.#closed || performance.now() < this.#pausedUntil) return;
    this.#publishWaiting(false);
  }

  /** Publishes what waits (at close only what is in memory), as far as the window allows. */
  #publishWaiting(memoryOnly: boolean): void {
    const conn = this.#conn;
    if (conn === undefined) return;
    const max = this.#options.nats.maxPending;
    while (this.#pending.size < max) {
      const batch = this.#waiting.peek(memoryOnly);
      if (batch === undefined) break;
      this.#waiting.shift();
      this.#publish(conn, batch);
    }
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
    const js = this.#js!;
    const { nodeName, nats } = this.#options;
    const done: Promise<void> = conn.js.publish(
      js.logSubject(nats.subjectPrefix, batch.path),
      data,
      {
        msgID: js.logMessageId(nodeName, String(batch.incarnation), batch.seq),
        timeout: PUBLISH_TIMEOUT_MS,
        headers: js.logHeaders({
          node: nodeName,
          path: batch.path,
          format: nats.format,
          records: batch.records,
        }),
      },
    ).then((ack) => {
      if (ack.duplicate) this.duplicates++;
      this.counters.recordsAcked += batch.records;
    }, (error) => {
      if (this.#closed) return; // spooled by close()
      this.counters.batchesResent++;
      this.#pausedUntil = performance.now() + RETRY_PAUSE_MS;
      this.#failure(`Publishing logs to NATS failed: ${messageOf(error)}; trying again`);
      this.#waiting.add(batch, true);
      this.#ensureStream(conn);
    }).finally(() => {
      this.#pending.delete(batch);
      this.counters.unackedBatches = this.#pending.size;
    });
    this.#pending.set(batch, done);
  }

  /** After a failed publish: the stream may be gone (deleted by hand); make it again, at most every 5 s. */
  #ensureStream(conn: JetStreamConnection): void {
    const now = performance.now();
    if (now - this.#ensuringSince < 5000) return;
    this.#ensuringSince = now;
    const js = this.#js!;
    js.ensureLogStream(conn.jsm, js.logStreamOptions(this.#options.nats)).catch(() => {});
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
      this.#publishWaiting(true);
      if (this.#pending.size === 0 && this.#waiting.inMemory === 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(this.#pending.values()),
        new Promise((r) => timer = setTimeout(r, Math.max(0, deadline - performance.now()))),
      ]);
      clearTimeout(timer);
      if (this.#pending.size === 0 && this.#waiting.inMemory > 0) {
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
    this.#closed = true;
    // Unacknowledged publishes may be stored already: the next run's
    // resend has the same id, which JetStream recognises.
    const kept = this.#waiting.keep(this.#pending.keys(), "the node stopped before NATS took them");
    this.#pending.clear();
    if (kept > 0) {
      this.#options.reporter?.warning(
        `NATS did not take ${kept} log batches before the stop; they are kept in ` +
          `${this.#waiting.spoolDir} and published at the next start`,
      );
    }
    const conn = this.#conn ?? await Promise.race([
      this.#connected,
      Promise.resolve(undefined),
    ]);
    await conn?.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
