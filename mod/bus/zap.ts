/**
 * The ZAP handler (ZeroMQ RFC 27) of one ZeroMQ context: every CURVE server
 * socket of the context (the forwarder, a logger's PULL, the agent channel)
 * asks it about each client's public key during the handshake, and it
 * answers from the caller's `authorize`. A refusal ends the connection
 * before a single message is read; the answers are counted for `/metrics`.
 *
 * @module
 */

import {
  MONITOR_EVENTS,
  parseMonitorEvent,
  z85Encode,
  ZMQ_OPTION,
  type ZmqContext,
  ZmqReactor,
  type ZmqSocket,
} from "../../ffi/mod.ts";

/** Where libzmq sends ZAP requests (fixed by RFC 27). */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** The verdict on one client key: a user id (which messages then carry), or why not. */
export type ZapVerdict = { readonly userId: string } | { readonly refused: string };

/** Decides on a client: `domain` names the socket's purpose, `publicKey` is Z85. */
export type Authorize = (request: ZapRequest) => ZapVerdict;

export interface ZapRequest {
  readonly domain: string;
  /** The client's address as the server saw it (`10.0.0.2`). */
  readonly address: string;
  readonly mechanism: string;
  /** Z85 text of the client's long-term public key ("" for a mechanism without one). */
  readonly publicKey: string;
}

/** Answers per domain, for `weir_bus_auth_total{domain,result}`. */
export interface ZapCounters {
  readonly accepted: Map<string, number>;
  readonly refused: Map<string, number>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The handler; bind it before any socket that uses it. */
export class ZapHandler implements AsyncDisposable {
  readonly counters: ZapCounters = { accepted: new Map(), refused: new Map() };
  readonly #socket: ZmqSocket;
  readonly #reactor: ZmqReactor;
  readonly #authorize: Authorize;
  readonly #onRefused: ((request: ZapRequest, reason: string) => void) | undefined;
  #closed = false;

  private constructor(
    socket: ZmqSocket,
    reactor: ZmqReactor,
    authorize: Authorize,
    onRefused: ((request: ZapRequest, reason: string) => void) | undefined,
  ) {
    this.#socket = socket;
    this.#reactor = reactor;
    this.#authorize = authorize;
    this.#onRefused = onRefused;
  }

  /** Binds the handler in `ctx` and starts answering. */
  static open(
    ctx: ZmqContext,
    authorize: Authorize,
    options: {
      onRefused?: (request: ZapRequest, reason: string) => void;
      onError?: (error: unknown) => void;
    } = {},
  ): ZapHandler {
    const socket = ctx.openSocket("rep");
    try {
      socket.setOption(ZMQ_OPTION.LINGER, 0);
      socket.bind(ZAP_ENDPOINT);
    } catch (error) {
      socket.close();
      throw error;
    }
    const reactor = new ZmqReactor();
    const handler = new ZapHandler(socket, reactor, authorize, options.onRefused);
    reactor.watch(socket, (frames) => handler.#answer(frames));
    reactor.start(options.onError ?? (() => {}));
    return handler;
  }

  #answer(frames: readonly Uint8Array[]): void {
    // version, request id, domain, address, routing id, mechanism, credentials…
    const text = (i: number) => frames[i] === undefined ? "" : decoder.decode(frames[i]);
    const requestId = frames[1] ?? new Uint8Array(0);
    const mechanism = text(5);
    const credential = frames[6];
    const request: ZapRequest = {
      domain: text(2),
      address: text(3),
      mechanism,
      publicKey: mechanism === "CURVE" && credential?.length === 32 ? z85Encode(credential) : "",
    };
    let verdict: ZapVerdict;
    if (text(0) !== "1.0" || frames.length < 6) {
      verdict = { refused: "malformed ZAP request" };
    } else {
      try {
        verdict = this.#authorize(request);
      } catch (error) {
        verdict = {
          refused: `the key check failed: ${error instanceof Error ? error.message : error}`,
        };
      }
    }
    const counts = "userId" in verdict ? this.counters.accepted : this.counters.refused;
    counts.set(request.domain, (counts.get(request.domain) ?? 0) + 1);
    if ("refused" in verdict) this.#onRefused?.(request, verdict.refused);
    const [status, statusText, userId] = "userId" in verdict
      ? ["200", "OK", verdict.userId]
      : ["400", verdict.refused, ""];
    this.#socket.send([
      encoder.encode("1.0"),
      requestId.slice(),
      encoder.encode(status),
      encoder.encode(statusText),
      encoder.encode(userId),
      new Uint8Array(0),
    ]);
    this.#reactor.noteSend(this.#socket);
  }

  /** Stops answering (libzmq then refuses every handshake). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reactor.close();
    await this.#reactor.closed();
    this.#socket.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Counts the handshakes that failed on server sockets (a client without
 * keys, with a wrong server key, or refused by ZAP), by socket and reason,
 * from libzmq's socket monitors.
 */
export class HandshakeMonitor implements AsyncDisposable {
  /** `<socket>#<reason>` → failures; reasons: protocol (no or other security), auth, other. */
  readonly failures = new Map<string, number>();
  readonly #reactor = new ZmqReactor();
  readonly #pairs: ZmqSocket[] = [];
  #closed = false;

  /** Watches `socket` (call before it binds) under `name`. */
  watch(ctx: ZmqContext, socket: ZmqSocket, name: string): void {
    const pair = socket.monitor(
      ctx,
      MONITOR_EVENTS.HANDSHAKE_FAILED_AUTH | MONITOR_EVENTS.HANDSHAKE_FAILED_PROTOCOL |
        MONITOR_EVENTS.HANDSHAKE_FAILED_NO_DETAIL,
    );
    this.#pairs.push(pair);
    this.#reactor.watch(pair, (frames) => {
      const event = parseMonitorEvent(frames);
      if (event === undefined) return;
      const reason = event.event === MONITOR_EVENTS.HANDSHAKE_FAILED_AUTH
        ? "auth"
        : event.event === MONITOR_EVENTS.HANDSHAKE_FAILED_PROTOCOL
        ? "protocol"
        : "other";
      const key = `${name}#${reason}`;
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    });
  }

  /** Starts reading the monitors. */
  start(onError: (error: unknown) => void = () => {}): void {
    this.#reactor.start(onError);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reactor.close();
    await this.#reactor.closed();
    for (const pair of this.#pairs) pair.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
