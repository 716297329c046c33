/**
 * A logger fed by NATS JetStream (`LogTransport = nats`): it pulls log
 * batches from the stream through a durable consumer that every logger of
 * the cluster shares (JetStream hands each message to one of them), writes
 * them into its files as batches from the bus are written, and acknowledges
 * each message once the chunk that carries it is in the file.
 *
 * The ledger (see log_ledger.ts) keeps the stream sequence of every message
 * written, so a message JetStream delivers again (its acknowledgement was
 * lost: NATS restarted, or the logger was killed after writing) is
 * acknowledged without being written twice. Its low-water mark is the
 * consumer's acknowledgement floor, read every 10 s.
 *
 * @module
 */

import type { NatsSettings } from "../../config/mod.ts";
import {
  type JetStreamConnection,
  loadJetStream,
  LogDecodeError,
  type LogReceiverCounters,
  readLogBatchLayout,
} from "../log/mod.ts";
import type { Reporter } from "../process/mod.ts";
import type { BatchMark, LogLedger } from "./log_ledger.ts";
import type { LogWriterPool } from "./log_writer_pool.ts";

/** Messages a logger holds unacknowledged at most (the consumer's `max_ack_pending` is per logger times this). */
const PULL_BATCH = 256;
/** JetStream delivers a message again when it is not acknowledged within this. */
const ACK_WAIT_SEC = 60;
const FLOOR_EVERY_MS = 10_000;

export interface JetStreamSourceOptions {
  readonly nodeName: string;
  readonly nats: NatsSettings;
  readonly pool: LogWriterPool;
  readonly ledger: LogLedger;
  /** Counted like batches from the bus. */
  readonly counters: LogReceiverCounters;
  readonly reporter?: Reporter;
}

interface Acker {
  ack(): void;
  nak(): void;
}

/** A logger's pull from the log stream. */
export class JetStreamSource implements AsyncDisposable {
  readonly #options: JetStreamSourceOptions;
  readonly #sender: string;
  /** Deliveries of a message being written, acknowledged together once it is. */
  readonly #waiting = new Map<number, Acker[]>();
  readonly #loop: Promise<void>;
  #conn: JetStreamConnection | undefined;
  #stop: (() => void) | undefined;
  #low = 0;
  #closed = false;

  constructor(options: JetStreamSourceOptions) {
    this.#options = options;
    this.#sender = `nats:${options.nats.stream}`;
    options.ledger.onWritten = (marks) => this.#written(marks);
    // Not written after all (the file failed): JetStream delivers them again.
    options.ledger.onFailed = (marks) => {
      for (const mark of marks) {
        for (const d of this.#waiting.get(mark.seq) ?? []) d.nak();
        this.#waiting.delete(mark.seq);
      }
    };
    this.#loop = this.#run().catch((error) => {
      options.reporter?.error(`Consuming logs from NATS stopped: ${messageOf(error)}`);
    });
  }

  async #run(): Promise<void> {
    const { nats, reporter, nodeName } = this.#options;
    const js = await loadJetStream();
    while (!this.#closed) {
      try {
        this.#conn = await js.openLogStream(nats, nodeName, reporter);
        break;
      } catch (error) {
        reporter?.warning(`Cannot consume logs from NATS yet: ${messageOf(error)}; retrying`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    const conn = this.#conn;
    if (conn === undefined) return;
    // The consumer can go (deleted by hand, a NATS cluster change): make it again and go on.
    while (!this.#closed) {
      try {
        await this.#consume(js, conn);
      } catch (error) {
        if (this.#closed) return;
        reporter?.warning(`Consuming logs from NATS failed: ${messageOf(error)}; retrying`);
      }
      if (!this.#closed) await new Promise((r) => setTimeout(r, 2000));
    }
  }

  /** Pulls from the shared durable consumer until it ends or the source closes. */
  async #consume(
    js: Awaited<ReturnType<typeof loadJetStream>>,
    conn: JetStreamConnection,
  ): Promise<void> {
    const { nats, reporter, pool } = this.#options;
    await js.ensureLogStream(conn.jsm, js.logStreamOptions(nats));
    await js.ensureLogConsumer(conn.jsm, {
      stream: nats.stream,
      consumer: nats.consumer,
      subjectPrefix: nats.subjectPrefix,
      ackWaitSec: ACK_WAIT_SEC,
    });
    const consumer = await conn.js.consumers.get(nats.stream, nats.consumer);
    reporter?.info(
      `consuming ${nats.subjectPrefix}.> from stream ${nats.stream} as ${nats.consumer} at ${nats.url}`,
    );
    const floor = setInterval(() => {
      consumer.info().then((info) => {
        this.#low = info.ack_floor.stream_seq + 1;
      }, () => {});
    }, FLOOR_EVERY_MS);
    try {
      const messages = await consumer.consume({ max_messages: PULL_BATCH });
      this.#stop = () => void messages.stop();
      if (this.#closed) messages.stop();
      // nats.js keeps pulling from a consumer that is gone: end this round instead.
      void (async () => {
        for await (const status of messages.status()) {
          if (
            status.type === "consumer_deleted" || status.type === "consumer_not_found" ||
            status.type === "stream_not_found"
          ) {
            reporter?.warning(
              `The NATS consumer ${nats.consumer} of ${nats.stream} is gone (${status.type}); making it again`,
            );
            messages.stop();
            return;
          }
        }
      })();
      for await (const m of messages) {
        this.#onMessage(m, js.logPathFromSubject(nats.subjectPrefix, m.subject));
        if (pool.congested) await pool.ready();
      }
    } finally {
      clearInterval(floor);
    }
  }

  #onMessage(
    m: Acker & {
      readonly seq: number;
      readonly data: Uint8Array;
      readonly headers?: { get(k: string): string } | undefined;
      term(): void;
    },
    path: string | undefined,
  ): void {
    const c = this.#options.counters;
    const format = m.headers?.get("Zeek-Log-Format") ?? "zeek-bin";
    if (path === undefined || format !== "zeek-bin") {
      c.malformed++;
      this.#options.reporter?.warning(
        `Skipped stream message ${m.seq}: ${
          path === undefined ? "its subject names no log" : `it is ${format}, loggers read zeek-bin`
        } (NatsFormat = zeek-bin for loggers)`,
      );
      m.term();
      return;
    }
    const ledger = this.#options.ledger;
    const admission = ledger.admit(this.#sender, 0, m.seq, this.#low);
    if (admission === "written") {
      c.duplicateBatches++;
      m.ack();
      return;
    }
    if (admission === "in-progress") {
      c.duplicateBatches++;
      this.#waiting.get(m.seq)?.push(m);
      return;
    }
    const mark: BatchMark = { sender: this.#sender, incarnation: 0, seq: m.seq };
    try {
      const layout = readLogBatchLayout(m.data);
      this.#waiting.set(m.seq, [m]);
      this.#options.pool.writeEncoded(m.data, layout, mark);
      c.batches++;
      c.records += layout.recordCount;
      const node = m.headers?.get("Weir-Node") || this.#sender;
      c.bySender.set(node, (c.bySender.get(node) ?? 0) + layout.recordCount);
    } catch (error) {
      ledger.abandon(mark);
      this.#waiting.delete(m.seq);
      if (!(error instanceof LogDecodeError)) throw error;
      c.malformed++;
      this.#options.reporter?.warning(`Skipped stream message ${m.seq}: ${error.message}`);
      m.term();
    }
  }

  #written(marks: readonly BatchMark[]): void {
    for (const mark of marks) {
      const deliveries = this.#waiting.get(mark.seq);
      this.#waiting.delete(mark.seq);
      this.#options.counters.acknowledgedBatches++;
      for (const d of deliveries ?? []) d.ack();
    }
  }

  /**
   * Stops pulling; call it before the pool closes, and `disconnect` after
   * (the files' last chunks acknowledge their messages).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop?.();
    await this.#loop;
  }

  /** Flushes the last acknowledgements and closes the connection. */
  async disconnect(): Promise<void> {
    await this.close();
    await this.#conn?.nc.flush().catch(() => {});
    await this.#conn?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
