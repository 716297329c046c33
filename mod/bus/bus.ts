/**
 * A node's connection to the central forwarder, wire-compatible with Zeek's
 * ZeroMQ backend: an XPUB that publishes 4-frame messages
 * `[topic][sender node id][format][payload]` and learns every node's
 * subscriptions, and an XSUB that subscribes with `0x01‖prefix` frames and
 * receives what matches.
 *
 * @module
 */

import { bytesEqual } from "../../zeek/mod.ts";
import {
  type CurveKeyPair,
  ZMQ_OPTION,
  type ZmqContext,
  ZmqReactor,
  type ZmqSocket,
} from "../../ffi/mod.ts";
import { noteFreedMemory } from "../process/mod.ts";
import { internalReadyTopic } from "./topics.ts";

/** The serialization format of event payloads Zeek uses by default. */
export const FORMAT_BROKER_BIN = "broker-bin-v1";

/** Zeek's node socket defaults (`Cluster::Backend::ZeroMQ` options). */
export const DEFAULT_XPUB_SNDHWM = 1000;
export const DEFAULT_XSUB_RCVHWM = 1000;
export const DEFAULT_LINGER_MS = 500;
/** Zeek's `onloop_queue_hwm`: events received and not yet handled beyond this are dropped. */
export const DEFAULT_ONLOOP_QUEUE_HWM = 10000;

/** An event message as it arrived; `payload` is borrowed until the handler returns. */
export interface BusMessage {
  readonly topic: string;
  readonly sender: string;
  readonly format: string;
  readonly payload: Uint8Array;
}

/** What the bus counts, for metrics (Zeek's names in the comments). */
export interface BusCounters {
  /** zeek_cluster_zeromq_xpub_drops_total */
  xpubDrops: number;
  /** zeek_cluster_zeromq_msg_errors_total */
  messageErrors: number;
  /** zeek_cluster_core_outgoing_events_total */
  published: number;
  /** zeek_cluster_core_incoming_events_total */
  received: number;
  /** messages whose sender was this node (dropped, as Zeek does) */
  ownMessages: number;
}

export interface BusOptions {
  /** This node's id, sent as the second frame and used to drop our own messages. */
  readonly nodeId: string;
  /** The central XSUB endpoint our XPUB connects to (`tcp://host:ZeekPort+1`). */
  readonly connectXpub: string;
  /** The central XPUB endpoint our XSUB connects to (`tcp://host:ZeekPort`). */
  readonly connectXsub: string;
  readonly ipv6?: boolean;
  readonly xpubSndHwm?: number;
  readonly xsubRcvHwm?: number;
  /** A closed bus: this node's keypair and the forwarder's public key. */
  readonly curve?: { readonly keys: CurveKeyPair; readonly serverKey: string };
  /** ZMTP heartbeats, so a silent link ends the connection (and raises node_down). */
  readonly heartbeat?: Heartbeat;
}

/** The forwarder did not confirm subscriptions in time: the manager is not reachable (yet). */
export class ForwarderTimeoutError extends Error {
  override readonly name = "ForwarderTimeoutError";
  constructor(timeoutMs: number) {
    super(`The forwarder did not confirm subscriptions within ${timeoutMs} ms`);
  }
}

/** ZMTP heartbeat timing: ping every `intervalMs`, give up after `timeoutMs` of silence. */
export interface Heartbeat {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** Sets heartbeats on a socket (both ends of a link should, so both notice). */
export function setHeartbeat(socket: ZmqSocket, heartbeat: Heartbeat): void {
  socket.setOption(ZMQ_OPTION.HEARTBEAT_IVL, heartbeat.intervalMs);
  socket.setOption(ZMQ_OPTION.HEARTBEAT_TIMEOUT, heartbeat.timeoutMs);
  // Tells the peer to drop us after this much silence too (libzmq rounds it to 100 ms).
  socket.setOption(ZMQ_OPTION.HEARTBEAT_TTL, heartbeat.timeoutMs);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Bytes of memory a dropped subscription frees per byte of its prefix, about:
 * libzmq keeps prefixes in tries of one small allocation per byte (the
 * XPUB's; in the manager the forwarder's and the WebSocket API's too).
 */
const TRIE_BYTES_PER_PREFIX_BYTE = 35;

/**
 * One node's bus connection. Subscriptions are reference counted, so two
 * parts of a node can subscribe to the same prefix independently.
 */
export class Bus implements AsyncDisposable {
  readonly nodeId: string;
  readonly counters: BusCounters = {
    xpubDrops: 0,
    messageErrors: 0,
    published: 0,
    received: 0,
    ownMessages: 0,
  };
  #xpub: ZmqSocket;
  #xsub: ZmqSocket;
  #reactor: ZmqReactor;
  #nodeIdBytes: Uint8Array;
  #format = encoder.encode(FORMAT_BROKER_BIN);
  #topicCache = new Map<string, Uint8Array>();
  readonly #topics = new RecentTexts();
  readonly #senders = new RecentTexts();
  readonly #formats = new RecentTexts();
  #subscriptions = new Map<string, number>();
  #messageHandlers: ((message: BusMessage) => void)[] = [];
  #subscriptionHandlers: ((topic: string, subscribed: boolean) => void)[] = [];
  #readyWaiters = new Map<string, () => void>();
  #readyCount = 0;
  #started = false;
  #closed = false;
  #onError: (error: unknown) => void;

  private constructor(
    nodeId: string,
    xpub: ZmqSocket,
    xsub: ZmqSocket,
    reactor: ZmqReactor,
    onError: (error: unknown) => void,
  ) {
    this.nodeId = nodeId;
    this.#onError = onError;
    this.#nodeIdBytes = encoder.encode(nodeId);
    this.#xpub = xpub;
    this.#xsub = xsub;
    this.#reactor = reactor;
  }

  /**
   * Connects to the forwarder. Nothing is received until `start()`, so
   * handlers registered in between miss nothing: the forwarder replays
   * every node's subscriptions within milliseconds of the connect.
   * `onError` hears about failures of the receive loop itself.
   */
  static open(ctx: ZmqContext, options: BusOptions, onError: (error: unknown) => void): Bus {
    const stack = new DisposableStack();
    try {
      const xpub = stack.use(ctx.openSocket("xpub"));
      const xsub = stack.use(ctx.openSocket("xsub"));
      xpub.setOption(ZMQ_OPTION.XPUB_VERBOSE, 1);
      xpub.setOption(ZMQ_OPTION.XPUB_NODROP, 1);
      xpub.setOption(ZMQ_OPTION.SNDHWM, options.xpubSndHwm ?? DEFAULT_XPUB_SNDHWM);
      xpub.setOption(ZMQ_OPTION.LINGER, DEFAULT_LINGER_MS);
      xsub.setOption(ZMQ_OPTION.RCVHWM, options.xsubRcvHwm ?? DEFAULT_XSUB_RCVHWM);
      // What an XSUB sends is subscriptions only; at a high-water mark libzmq
      // would drop them silently (a burst of WebSocket clients leaving lost
      // unsubscriptions, which then stayed in the forwarder).
      xsub.setOption(ZMQ_OPTION.SNDHWM, 0);
      xsub.setOption(ZMQ_OPTION.LINGER, 0);
      if (options.ipv6) {
        xpub.setOption(ZMQ_OPTION.IPV6, 1);
        xsub.setOption(ZMQ_OPTION.IPV6, 1);
      }
      for (const socket of [xpub, xsub]) {
        if (options.curve !== undefined) {
          socket.setCurveClient(options.curve.keys, options.curve.serverKey);
        }
        if (options.heartbeat !== undefined) setHeartbeat(socket, options.heartbeat);
      }
      xpub.connect(options.connectXpub);
      xsub.connect(options.connectXsub);
      const reactor = stack.use(new ZmqReactor());
      const bus = new Bus(options.nodeId, xpub, xsub, reactor, onError);
      reactor.watch(xsub, (frames) => bus.#onEventFrames(frames));
      reactor.watch(xpub, (frames) => bus.#onSubscriptionFrames(frames));
      stack.move();
      return bus;
    } finally {
      stack.dispose();
    }
  }

  /** Starts the receive loop, which runs until `close()`. Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#reactor.start(this.#onError);
  }

  /** Runs `handler` for every message received from another node. */
  onMessage(handler: (message: BusMessage) => void): void {
    this.#messageHandlers.push(handler);
  }

  /**
   * Runs `handler` for every subscription change any node (this one
   * included) makes, as the forwarder reports them.
   */
  onSubscriptionChange(handler: (topic: string, subscribed: boolean) => void): void {
    this.#subscriptionHandlers.push(handler);
  }

  /** Subscribes to a topic prefix; returns false when it was already subscribed. */
  subscribe(prefix: string): boolean {
    const n = this.#subscriptions.get(prefix) ?? 0;
    this.#subscriptions.set(prefix, n + 1);
    if (n > 0) return false;
    this.#sendSubscription(prefix, 1);
    return true;
  }

  /** Drops one subscription to `prefix`; returns false when it was not subscribed. */
  unsubscribe(prefix: string): boolean {
    const n = this.#subscriptions.get(prefix) ?? 0;
    if (n === 0) return false;
    if (n > 1) {
      this.#subscriptions.set(prefix, n - 1);
      return true;
    }
    this.#subscriptions.delete(prefix);
    this.#sendSubscription(prefix, 0);
    return true;
  }

  /** The prefixes this node subscribes to. */
  get subscriptions(): readonly string[] {
    return [...this.#subscriptions.keys()];
  }

  #sendSubscription(prefix: string, op: 0 | 1): void {
    const bytes = encoder.encode(prefix);
    const frame = new Uint8Array(bytes.length + 1);
    frame[0] = op;
    frame.set(bytes, 1);
    // An XSUB never blocks on subscription frames, and with SNDHWM 0 it drops none.
    this.#xsub.send([frame]);
    this.#reactor.noteSend(this.#xsub);
  }

  /**
   * Resolves once this node's subscriptions made so far have reached the
   * forwarder and come back, i.e. publishing to subscribers is now safe.
   * This is Zeek's `zeek.zeromq.internal.<id>.<n>.` round trip.
   */
  async ready(timeoutMs = 10000): Promise<void> {
    if (!this.#started) throw new Error("Bus.ready() needs the receive loop: call start() first");
    const topic = internalReadyTopic(this.nodeId, this.#readyCount++);
    const seen = new Promise<void>((resolve) => this.#readyWaiters.set(topic, resolve));
    this.subscribe(topic);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ForwarderTimeoutError(timeoutMs)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([seen, timeout]);
    } finally {
      clearTimeout(timer);
      this.#readyWaiters.delete(topic);
      this.unsubscribe(topic);
    }
  }

  /**
   * Publishes one message. Returns false when the XPUB's high-water mark is
   * reached: the message is dropped and counted, as Zeek does.
   */
  publish(topic: string, payload: Uint8Array, format?: Uint8Array): boolean {
    return this.publishAs(this.#nodeIdBytes, topic, payload, format);
  }

  /**
   * Publishes on behalf of another sender id (a WebSocket client has its own
   * id, so it does not receive its own publications).
   */
  publishAs(sender: Uint8Array, topic: string, payload: Uint8Array, format?: Uint8Array): boolean {
    if (this.#closed) return false;
    let topicBytes = this.#topicCache.get(topic);
    if (topicBytes === undefined) {
      topicBytes = encoder.encode(topic);
      if (this.#topicCache.size < 4096) this.#topicCache.set(topic, topicBytes);
    }
    const ok = this.#xpub.send([topicBytes, sender, format ?? this.#format, payload]);
    this.#reactor.noteSend(this.#xpub);
    if (ok) this.counters.published++;
    else this.counters.xpubDrops++;
    return ok;
  }

  #onEventFrames(frames: readonly Uint8Array[]): void {
    if (frames.length !== 4) {
      this.counters.messageErrors++;
      return;
    }
    const sender = frames[1]!;
    if (bytesEqual(sender, this.#nodeIdBytes)) {
      this.counters.ownMessages++;
      return;
    }
    this.counters.received++;
    const message: BusMessage = {
      topic: this.#topics.decode(frames[0]!),
      sender: this.#senders.decode(sender),
      format: this.#formats.decode(frames[2]!),
      payload: frames[3]!,
    };
    for (const handler of this.#messageHandlers) handler(message);
  }

  #onSubscriptionFrames(frames: readonly Uint8Array[]): void {
    const frame = frames[0];
    if (frames.length !== 1 || frame === undefined || frame.length === 0 || frame[0]! > 1) {
      this.counters.messageErrors++;
      return;
    }
    const topic = decoder.decode(frame.subarray(1));
    const subscribed = frame[0] === 1;
    if (subscribed) this.#readyWaiters.get(topic)?.();
    else noteFreedMemory(frame.length * TRIE_BYTES_PER_PREFIX_BYTE);
    for (const handler of this.#subscriptionHandlers) handler(topic, subscribed);
  }

  /** Stops receiving and closes both sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reactor.close();
    await this.#reactor.closed();
    this.#xpub.close();
    this.#xsub.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Decodes frames that repeat from message to message (topics, sender ids,
 * the format name) by comparing them with the last few seen, instead of
 * decoding each: a third of a busy receiver's time went to decoding them.
 */
class RecentTexts {
  readonly #bytes: Uint8Array[] = [];
  readonly #texts: string[] = [];
  #next = 0;

  decode(frame: Uint8Array): string {
    const bytes = this.#bytes;
    for (let i = 0; i < bytes.length; i++) {
      if (bytesEqual(bytes[i]!, frame)) return this.#texts[i]!;
    }
    const text = decoder.decode(frame);
    if (frame.length <= RECENT_TEXT_MAX_BYTES) {
      const slot = this.#next;
      bytes[slot] = frame.slice();
      this.#texts[slot] = text;
      this.#next = (slot + 1) % RECENT_TEXT_SLOTS;
    }
    return text;
  }
}

const RECENT_TEXT_SLOTS = 8;
const RECENT_TEXT_MAX_BYTES = 256;
