/**
 * The central XSUB⇄XPUB forwarder, as Zeek's manager runs it: nodes' XPUBs
 * connect to the XSUB, nodes' XSUBs connect to the XPUB. `ZmqForwarder`
 * hands both sockets to `zmq_proxy_steerable` on a native thread;
 * `ZmqCheckedForwarder` runs the same loop on a Worker thread
 * (`_forwarder_worker.ts`) and checks each message's sender id against the
 * key of the peer that sent it.
 *
 * @module
 */

import { zmq, ZMQ_OPTION, type ZmqContext, type ZmqSocket } from "./libzmq.ts";

const encoder = new TextEncoder();
let forwarderCount = 0;
/** Where and how a forwarder listens. */
export interface ForwarderOptions {
  readonly xpub: string;
  readonly xsub: string;
  readonly xpubNoDrop?: boolean;
  readonly ipv6?: boolean;
  /**
   * Sets further options on each central socket before it binds (CURVE,
   * heartbeats, a monitor): the last chance, as the forwarder's thread owns
   * them afterwards.
   */
  readonly configure?: (socket: ZmqSocket, side: "xpub" | "xsub") => void;
}

/** The central XPUB and XSUB, configured and bound; `stack` closes them if a later step fails. */
function openCentralSockets(
  ctx: ZmqContext,
  options: ForwarderOptions,
  stack: DisposableStack,
): { xpub: ZmqSocket; xsub: ZmqSocket } {
  const xpub = stack.use(ctx.openSocket("xpub"));
  const xsub = stack.use(ctx.openSocket("xsub"));
  // VERBOSER: forward every subscribe and unsubscribe, so nodes learn
  // about each other's topics (the hello handshake depends on it).
  xpub.setOption(ZMQ_OPTION.XPUB_VERBOSER, 1);
  xpub.setOption(ZMQ_OPTION.XPUB_NODROP, options.xpubNoDrop === false ? 0 : 1);
  xpub.setOption(ZMQ_OPTION.LINGER, 0);
  xsub.setOption(ZMQ_OPTION.LINGER, 0);
  // The XSUB sends only subscriptions: the nodes' ones it passes on, and all
  // of them again to a node that (re)connects. libzmq drops what does not
  // fit a pipe's high-water mark, so with the default 1,000 a node that
  // joins after many subscriptions misses some (Zeek's among them) and
  // never completes its hello. Unbounded here; there are only as many as
  // subscriptions exist.
  xsub.setOption(ZMQ_OPTION.SNDHWM, 0);
  if (options.ipv6) {
    xpub.setOption(ZMQ_OPTION.IPV6, 1);
    xsub.setOption(ZMQ_OPTION.IPV6, 1);
  }
  options.configure?.(xpub, "xpub");
  options.configure?.(xsub, "xsub");
  xpub.bind(options.xpub);
  xsub.bind(options.xsub);
  return { xpub, xsub };
}

/** Traffic counters of the forwarder, as `zmq_proxy_steerable` reports them. */
export interface ForwarderStatistics {
  frontendMessagesReceived: bigint;
  frontendBytesReceived: bigint;
  frontendMessagesSent: bigint;
  frontendBytesSent: bigint;
  backendMessagesReceived: bigint;
  backendBytesReceived: bigint;
  backendMessagesSent: bigint;
  backendBytesSent: bigint;
}

/**
 * The central XSUB⇄XPUB forwarder, as Zeek's manager runs it: nodes' XPUBs
 * connect to the XSUB, nodes' XSUBs connect to the XPUB, and
 * `zmq_proxy_steerable` moves messages one way and subscriptions the other
 * on a native thread.
 */
export class ZmqForwarder implements AsyncDisposable {
  readonly xpubEndpoint: string;
  readonly xsubEndpoint: string;
  #control: ZmqSocket;
  #done: Promise<number>;
  #closed = false;

  private constructor(
    xpubEndpoint: string,
    xsubEndpoint: string,
    control: ZmqSocket,
    done: Promise<number>,
  ) {
    this.xpubEndpoint = xpubEndpoint;
    this.xsubEndpoint = xsubEndpoint;
    this.#control = control;
    this.#done = done;
  }

  /** Binds the central sockets and starts forwarding. */
  static open(
    ctx: ZmqContext,
    options: ForwarderOptions,
  ): ZmqForwarder {
    const stack = new DisposableStack();
    try {
      const { xpub, xsub } = openCentralSockets(ctx, options, stack);
      const controlEndpoint = `inproc://weir-forwarder-control-${forwarderCount++}`;
      const controlServer = stack.use(ctx.openSocket("pair"));
      controlServer.bind(controlEndpoint);
      const control = stack.use(ctx.openSocket("pair"));
      control.connect(controlEndpoint);
      const xpubEndpoint = xpub.lastEndpoint;
      const xsubEndpoint = xsub.lastEndpoint;
      stack.move();
      const done = zmq().zmq_proxy_steerable(
        xsub.transferToNativeThread(),
        xpub.transferToNativeThread(),
        null,
        controlServer.transferToNativeThread(),
      ).finally(() => {
        // The native thread has let go of its sockets: close them here.
        xpub.close();
        xsub.close();
        controlServer.close();
      });
      return new ZmqForwarder(xpubEndpoint, xsubEndpoint, control, done);
    } finally {
      stack.dispose();
    }
  }

  /** Asks the forwarder thread for its counters (waits at most `timeoutMs`). */
  async statistics(timeoutMs = 1000): Promise<ForwarderStatistics | null> {
    if (this.#closed) return null;
    this.#control.send([encoder.encode("STATISTICS")]);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const message = this.#control.receive();
      if (message !== null && message.frames.length === 8) {
        const v = message.frames.map((f) =>
          new DataView(f.buffer, f.byteOffset, 8).getBigUint64(0, true)
        );
        return {
          frontendMessagesReceived: v[0]!,
          frontendBytesReceived: v[1]!,
          frontendMessagesSent: v[2]!,
          frontendBytesSent: v[3]!,
          backendMessagesReceived: v[4]!,
          backendBytesReceived: v[5]!,
          backendMessagesSent: v[6]!,
          backendBytesSent: v[7]!,
        };
      }
      if (performance.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Stops the forwarder thread and closes its sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#control.send([encoder.encode("TERMINATE")]);
    await this.#done;
    this.#control.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Which sender ids a peer may use, by its ZAP `User-Id` (see `ZmqCheckedForwarder`). */
export interface SenderRule {
  /** The sender frame must start with `prefix + userId + suffix` (Zeek's `zeromq_<node>_`). */
  readonly prefix: string;
  readonly suffix: string;
  /** User ids that may send any sender id (the manager: its WebSocket clients have their own). */
  readonly trusted: readonly string[];
  /** Every node name, so `worker_1` cannot pass for `worker_1_b`. */
  readonly names: readonly string[];
}

/** What a checked forwarder counts. */
export interface CheckedForwarderCounters {
  readonly forwarded: bigint;
  /** Messages dropped: a sender id its peer's key may not use, or malformed. */
  readonly refused: bigint;
}

/**
 * The central forwarder with a sender check, for a closed bus: what
 * `ZmqForwarder` does, on a thread of its own (a Worker), and a message
 * whose sender frame does not belong to the key of the peer that sent it
 * is dropped and counted. So a node's key vouches for every hello and event
 * it sends; no key can speak for another node.
 */
export class ZmqCheckedForwarder implements AsyncDisposable {
  readonly xpubEndpoint: string;
  readonly xsubEndpoint: string;
  readonly #worker: Worker;
  readonly #shared: SharedArrayBuffer;
  readonly #done: Promise<void>;
  readonly #sockets: readonly ZmqSocket[];
  #closed = false;

  private constructor(
    xpub: ZmqSocket,
    xsub: ZmqSocket,
    worker: Worker,
    shared: SharedArrayBuffer,
    done: Promise<void>,
  ) {
    this.xpubEndpoint = xpub.lastEndpoint;
    this.xsubEndpoint = xsub.lastEndpoint;
    this.#sockets = [xpub, xsub];
    this.#worker = worker;
    this.#shared = shared;
    this.#done = done;
  }

  /** Binds the central sockets (options as `ZmqForwarder.open`) and starts the thread. */
  static open(
    ctx: ZmqContext,
    options: ForwarderOptions & { readonly rule: SenderRule },
  ): ZmqCheckedForwarder {
    const stack = new DisposableStack();
    try {
      const { xpub, xsub } = openCentralSockets(ctx, options, stack);
      const shared = new SharedArrayBuffer(24);
      const worker = new Worker(new URL("./_forwarder_worker.ts", import.meta.url), {
        type: "module",
      });
      const done = new Promise<void>((resolve) => {
        worker.onmessage = (event) => {
          if (event.data?.done) resolve();
        };
        worker.onerror = (event) => {
          event.preventDefault();
          resolve();
        };
      });
      worker.postMessage({
        xsub: Deno.UnsafePointer.value(xsub.transferToNativeThread()),
        xpub: Deno.UnsafePointer.value(xpub.transferToNativeThread()),
        ...options.rule,
        shared,
      });
      stack.move();
      return new ZmqCheckedForwarder(xpub, xsub, worker, shared, done);
    } finally {
      stack.dispose();
    }
  }

  /** The node names in force (deploy added or removed some). */
  setNames(names: readonly string[]): void {
    if (!this.#closed) this.#worker.postMessage({ names: [...names] });
  }

  get counters(): CheckedForwarderCounters {
    const c = new BigInt64Array(this.#shared, 8, 2);
    return { forwarded: c[0]!, refused: c[1]! };
  }

  /** Stops the thread (within its 100 ms poll) and closes the sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(new Int32Array(this.#shared, 0, 1), 0, 1);
    await this.#done;
    this.#worker.terminate();
    for (const socket of this.#sockets) socket.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
