/**
 * The receiving half of cluster logging: a logger's PULL socket, bound on
 * its layout port, taking `log-write` batches from every node and handing
 * them to the logger's files. A message that is not a well-formed batch is
 * counted, reported and dropped; the logger keeps running.
 *
 * A second socket, a ROUTER on the writer's acknowledgement port, takes
 * weir's acknowledged batches (`mod/log/acked_delivery.ts`): the ledger
 * drops the ones already written, and each batch is acknowledged once the
 * chunk that carries it is in the file. Zeek's PULL path stays as it is,
 * for Zeek's nodes and `LogAcks = no`; its batches are counted as
 * unacknowledged.
 *
 * When the files fall behind (or the disk is full), the receiver stops
 * reading for a while: the batches then wait in libzmq's queues, and the
 * senders see their high-water mark and queue or spool instead of the
 * logger growing without bound.
 *
 * @module
 */

import { bytesEqual } from "../../zeek/mod.ts";
import {
  LOG_ACK_TOPIC,
  LOG_ID_HEADER_BYTES,
  LOG_SERIALIZER_FORMAT,
  LOG_WRITE_TOPIC,
  LOG_ZAP_DOMAIN,
  LogDecodeError,
  type LogReceiverCounters,
  newReceiverCounters,
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
import { batchKey, type BatchMark, type LogLedger } from "./log_ledger.ts";

/** Zeek's `Cluster::Backend::ZeroMQ::log_rcvhwm`. */
export const DEFAULT_LOG_RCVHWM = 1000;
const RECEIVE_BATCH = 256;
/** How long the last acknowledgements may take to leave at close. */
const ACK_LINGER_MS = 1000;
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
  /** Where to bind the ROUTER of acknowledged batches, with the ledger that drops duplicates. */
  readonly acks?: { readonly endpoint: string; readonly ledger: LogLedger };
}

const decoder = new TextDecoder();
const ackTopic = new TextEncoder().encode(LOG_ACK_TOPIC);

function openBound(options: LogReceiverOptions, type: "pull" | "router", endpoint: string) {
  const socket = options.zmq.openSocket(type);
  try {
    // A batch of long rows can be megabytes; it must arrive the first time.
    socket.largeFrames = true;
    socket.setOption(ZMQ_OPTION.RCVHWM, options.rcvHwm ?? DEFAULT_LOG_RCVHWM);
    socket.setOption(ZMQ_OPTION.LINGER, 0);
    if (options.ipv6) socket.setOption(ZMQ_OPTION.IPV6, 1);
    if (options.curveSecretKey !== undefined) {
      socket.setCurveServer(options.curveSecretKey, LOG_ZAP_DOMAIN);
    }
    socket.bind(endpoint);
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

/** A logger's PULL socket and its receive loop. */
export class LogReceiver implements AsyncDisposable {
  readonly counters: LogReceiverCounters = newReceiverCounters();
  readonly endpoint: string;
  /** The bound acknowledgement endpoint, when there is one. */
  readonly ackEndpoint: string | undefined;
  readonly #socket: ZmqSocket;
  readonly #router: ZmqSocket | undefined;
  readonly #ledger: LogLedger | undefined;
  /** Routing ids waiting for a batch's acknowledgement, by mark key. */
  readonly #waiting = new Map<string, Uint8Array[]>();
  readonly #pool: LogWriterPool;
  readonly #reporter: Reporter | undefined;
  readonly #waiter: FdWaiter;
  readonly #loop: Promise<void>;
  #lastMalformedReport = -Infinity;
  #routerClosed = false;
  #closed = false;

  /** Binds the PULL socket and starts receiving. */
  constructor(options: LogReceiverOptions) {
    const socket = openBound(options, "pull", options.endpoint);
    let router: ZmqSocket | undefined;
    try {
      if (options.acks !== undefined) {
        router = openBound(options, "router", options.acks.endpoint);
        // On a closed bus each batch names the node whose key sent it: a node
        // cannot mark another's batches as written.
        router.readUserId = options.curveSecretKey !== undefined;
      }
    } catch (error) {
      socket.close();
      throw error;
    }
    this.#socket = socket;
    this.#router = router;
    this.#ledger = options.acks?.ledger;
    if (this.#ledger !== undefined) {
      this.#ledger.onWritten = (marks) => this.#acknowledge(marks);
      // Not written after all: forget who waits; the senders send them again.
      this.#ledger.onFailed = (marks) => {
        for (const m of marks) this.#waiting.delete(batchKey(m));
      };
    }
    this.endpoint = socket.lastEndpoint;
    this.ackEndpoint = router?.lastEndpoint;
    this.#pool = options.pool;
    this.#reporter = options.reporter;
    this.#waiter = new FdWaiter(router === undefined ? [socket.fd] : [socket.fd, router.fd]);
    this.#loop = this.#run().catch((error) => {
      this.#reporter?.error(
        `The log receiver stopped: ${error instanceof Error ? error.stack : error}`,
      );
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let n = 0;
      let pullEmpty = false;
      let routerEmpty = this.#router === undefined;
      while (
        n < RECEIVE_BATCH && !this.#closed && !this.#pool.congested && !(pullEmpty && routerEmpty)
      ) {
        if (!pullEmpty) {
          const message = this.#socket.receive();
          if (message === null) pullEmpty = true;
          else {
            this.#onMessage(message.frames);
            n++;
          }
        }
        if (!routerEmpty) {
          const message = this.#router!.receive();
          if (message === null) routerEmpty = true;
          else {
            this.#onAcked(message.frames, message.userId);
            n++;
          }
        }
      }
      if (this.#closed) return;
      if (this.#pool.congested) {
        await this.#pool.ready();
        await yieldToEventLoop();
      } else if (n === RECEIVE_BATCH) await yieldToEventLoop();
      else await this.#waiter.wait(IDLE_WAIT_MS);
    }
  }

  /** A batch on Zeek's PULL path. */
  #onMessage(frames: readonly Uint8Array[]): void {
    if (frames.length !== 4) {
      this.#malformed(`${frames.length} frames instead of 4`);
      return;
    }
    const records = this.#write(frames, undefined);
    if (records === undefined) return;
    this.counters.unacknowledgedBatches++;
    this.counters.unacknowledgedRecords += records;
  }

  /** A batch on the acknowledged path: `[routing id, the four log-write frames, id]`. */
  #onAcked(frames: readonly Uint8Array[], userId: string | undefined): void {
    const idFrame = frames[5];
    if (frames.length !== 6 || idFrame!.length < LOG_ID_HEADER_BYTES) {
      this.#malformed(`${frames.length} frames instead of 6 on the acknowledged path`);
      return;
    }
    const view = new DataView(idFrame!.buffer, idFrame!.byteOffset, idFrame!.byteLength);
    const mark: BatchMark = {
      incarnation: view.getFloat64(0, true),
      seq: view.getFloat64(8, true),
      sender: decoder.decode(idFrame!.subarray(LOG_ID_HEADER_BYTES)),
    };
    if (userId && userId !== mark.sender) {
      this.#malformed(`a batch of ${mark.sender.slice(0, 64)} sent with the key of ${userId}`);
      return;
    }
    const low = view.getFloat64(16, true);
    const routingId = frames[0]!.slice();
    const ledger = this.#ledger!;
    const admission = ledger.admit(mark.sender, mark.incarnation, mark.seq, low);
    if (admission === "written") {
      this.counters.duplicateBatches++;
      this.#sendAcks(routingId, [mark]);
      return;
    }
    const key = batchKey(mark);
    const waiting = this.#waiting.get(key);
    if (admission === "in-progress") {
      this.counters.duplicateBatches++;
      if (waiting !== undefined && !waiting.some((id) => bytesEqual(id, routingId))) {
        waiting.push(routingId);
      }
      return;
    }
    this.#waiting.set(key, [routingId]);
    if (this.#write(frames.slice(1, 5), mark) === undefined) {
      // Malformed: it will never be written, so it is acknowledged to end the resends.
      ledger.abandon(mark);
      this.#waiting.delete(key);
      this.#sendAcks(routingId, [mark]);
    }
  }

  /** The ledger says these batches are written: acknowledge each to whoever sent it. */
  #acknowledge(marks: readonly BatchMark[]): void {
    const byPeer = new Map<string, { id: Uint8Array; marks: BatchMark[] }>();
    for (const m of marks) {
      const key = batchKey(m);
      const ids = this.#waiting.get(key);
      this.#waiting.delete(key);
      this.counters.acknowledgedBatches++;
      for (const id of ids ?? []) {
        const peer = decoder.decode(id);
        const entry = byPeer.get(peer) ?? { id, marks: [] };
        entry.marks.push(m);
        byPeer.set(peer, entry);
      }
    }
    for (const { id, marks } of byPeer.values()) this.#sendAcks(id, marks);
  }

  #sendAcks(routingId: Uint8Array, marks: readonly BatchMark[]): void {
    const router = this.#router;
    if (router === undefined || this.#routerClosed) return;
    const pairs = new Uint8Array(marks.length * 16);
    const view = new DataView(pairs.buffer);
    marks.forEach((m, i) => {
      view.setFloat64(i * 16, m.incarnation, true);
      view.setFloat64(i * 16 + 8, m.seq, true);
    });
    // A peer that is gone loses its acknowledgement; it sends the batch again.
    router.send([routingId, ackTopic, pairs]);
    // A send can consume the socket's readable edge (libzmq's ZMQ_FD is
    // edge-triggered): look for batches now rather than at the idle timeout.
    this.#waiter.wake();
  }

  /** Writes the batch in the four log-write frames; returns its record count, or undefined if it was dropped. */
  #write(frames: readonly Uint8Array[], mark: BatchMark | undefined): number | undefined {
    const topic = decoder.decode(frames[0]!);
    const format = decoder.decode(frames[2]!);
    if (topic !== LOG_WRITE_TOPIC || format !== LOG_SERIALIZER_FORMAT) {
      this.#malformed(
        `topic "${topic.slice(0, 64)}" and format "${format.slice(0, 64)}" instead of ` +
          `"${LOG_WRITE_TOPIC}" and "${LOG_SERIALIZER_FORMAT}"`,
      );
      return undefined;
    }
    const payload = frames[3]!;
    let records;
    try {
      const layout = readLogBatchLayout(payload);
      records = layout.recordCount;
      this.#pool.writeEncoded(payload, layout, mark);
    } catch (error) {
      if (error instanceof LogDecodeError) {
        this.#malformed(error.message);
      } else {
        this.#reporter?.error(
          `Cannot write a log batch: ${error instanceof Error ? error.message : error}`,
        );
      }
      return undefined;
    }
    const sender = decoder.decode(frames[1]!);
    this.counters.batches++;
    this.counters.records += records;
    this.counters.bySender.set(sender, (this.counters.bySender.get(sender) ?? 0) + records);
    return records;
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

  /**
   * Closes the acknowledgement socket, after the files are closed (their
   * last chunks acknowledge batches too). Idempotent.
   */
  closeAcks(): void {
    if (this.#routerClosed) return;
    this.#routerClosed = true;
    // The last acknowledgements still go out: a sender without them would
    // send those batches again, perhaps to another logger.
    this.#router?.setOption(ZMQ_OPTION.LINGER, ACK_LINGER_MS);
    this.#router?.close();
    this.#ledger?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
