/**
 * The receiving half of cluster logging: a logger's PULL socket, bound on
 * its layout port, taking `log-write` batches from every node and handing
 * them to the logger's files. A message that is not a well-formed batch is
 * counted, reported and dropped; the logger keeps running.
 *
 * When the files fall behind, the receiver stops reading for a while: the
 * batches then wait in libzmq's queues, and the senders see their
 * high-water mark and queue (see shipper.ts) instead of the logger growing
 * without bound.
 *
 * @module
 */

import {
  LOG_SERIALIZER_FORMAT,
  LOG_WRITE_TOPIC,
  LOG_ZAP_DOMAIN,
  LogDecodeError,
  type LogReceiverCounters,
  readLogBatchLayout,
} from "../log/mod.ts";
import {
  FdWaiter,
  yieldToEventLoop,
  ZMQ_OPTION,
  type ZmqContext,
  type ZmqSocket,
} from "../../ffi/mod.ts";
import type { Reporter } from "../process/mod.ts";
import type { LogWriterPool } from "./log_writer_pool.ts";

/** Zeek's `Cluster::Backend::ZeroMQ::log_rcvhwm`. */
export const DEFAULT_LOG_RCVHWM = 1000;
const RECEIVE_BATCH = 256;
const IDLE_WAIT_MS = 200;

export interface LogReceiverOptions {
  readonly zmq: ZmqContext;
  /** Where to bind the PULL socket (`tcp://127.0.0.1:27762`). */
  readonly endpoint: string;
  readonly pool: LogWriterPool;
  readonly reporter?: Reporter;
  readonly rcvHwm?: number;
  readonly ipv6?: boolean;
  /** A closed bus: the logger's secret key; the ZAP handler of `zmq` checks the senders. */
  readonly curveSecretKey?: string;
}

const decoder = new TextDecoder();

/** A logger's PULL socket and its receive loop. */
export class LogReceiver implements AsyncDisposable {
  readonly counters: LogReceiverCounters = {
    batches: 0,
    records: 0,
    malformed: 0,
    bySender: new Map(),
  };
  readonly endpoint: string;
  readonly #socket: ZmqSocket;
  readonly #pool: LogWriterPool;
  readonly #reporter: Reporter | undefined;
  readonly #waiter: FdWaiter;
  readonly #loop: Promise<void>;
  #lastMalformedReport = -Infinity;
  #closed = false;

  /** Binds the PULL socket and starts receiving. */
  constructor(options: LogReceiverOptions) {
    const socket = options.zmq.openSocket("pull");
    try {
      // A batch of long rows can be megabytes; it must arrive the first time.
      socket.largeFrames = true;
      socket.setOption(ZMQ_OPTION.RCVHWM, options.rcvHwm ?? DEFAULT_LOG_RCVHWM);
      socket.setOption(ZMQ_OPTION.LINGER, 0);
      if (options.ipv6) socket.setOption(ZMQ_OPTION.IPV6, 1);
      if (options.curveSecretKey !== undefined) {
        socket.setCurveServer(options.curveSecretKey, LOG_ZAP_DOMAIN);
      }
      socket.bind(options.endpoint);
    } catch (error) {
      socket.close();
      throw error;
    }
    this.#socket = socket;
    this.endpoint = socket.lastEndpoint;
    this.#pool = options.pool;
    this.#reporter = options.reporter;
    this.#waiter = new FdWaiter([socket.fd]);
    this.#loop = this.#run().catch((error) => {
      this.#reporter?.error(
        `The log receiver stopped: ${error instanceof Error ? error.stack : error}`,
      );
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let n = 0;
      for (; n < RECEIVE_BATCH && !this.#closed && !this.#pool.congested; n++) {
        const message = this.#socket.receive();
        if (message === null) break;
        this.#onMessage(message.frames);
      }
      if (this.#closed) return;
      if (this.#pool.congested) {
        await this.#pool.ready();
        await yieldToEventLoop();
      } else if (n === RECEIVE_BATCH) await yieldToEventLoop();
      else await this.#waiter.wait(IDLE_WAIT_MS);
    }
  }

  #onMessage(frames: readonly Uint8Array[]): void {
    if (frames.length !== 4) {
      this.#malformed(`${frames.length} frames instead of 4`);
      return;
    }
    const topic = decoder.decode(frames[0]!);
    const format = decoder.decode(frames[2]!);
    if (topic !== LOG_WRITE_TOPIC || format !== LOG_SERIALIZER_FORMAT) {
      this.#malformed(
        `topic "${topic.slice(0, 64)}" and format "${format.slice(0, 64)}" instead of ` +
          `"${LOG_WRITE_TOPIC}" and "${LOG_SERIALIZER_FORMAT}"`,
      );
      return;
    }
    const payload = frames[3]!;
    let records;
    try {
      const layout = readLogBatchLayout(payload);
      records = layout.recordCount;
      this.#pool.writeEncoded(payload, layout);
    } catch (error) {
      if (error instanceof LogDecodeError) {
        this.#malformed(error.message);
      } else {
        this.#reporter?.error(
          `Cannot write a log batch: ${error instanceof Error ? error.message : error}`,
        );
      }
      return;
    }
    const sender = decoder.decode(frames[1]!);
    this.counters.batches++;
    this.counters.records += records;
    this.counters.bySender.set(sender, (this.counters.bySender.get(sender) ?? 0) + records);
  }

  #malformed(why: string): void {
    this.counters.malformed++;
    const now = performance.now();
    if (now - this.#lastMalformedReport < 1000) return;
    this.#lastMalformedReport = now;
    this.#reporter?.warning(
      `Dropped a malformed log-write message (${why}); ${this.counters.malformed} so far`,
    );
  }

  /** Stops receiving and closes the socket (the pool belongs to the caller). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter.close();
    await this.#loop;
    // Take what already arrived: on shutdown the senders stop first and
    // flush on their way out.
    for (let m = this.#socket.receive(); m !== null; m = this.#socket.receive()) {
      this.#onMessage(m.frames);
    }
    this.#socket.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
