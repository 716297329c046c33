/**
 * The WebSocket API server: Zeek's `/v1/messages/json` endpoint on a TCP or
 * TLS listener, with bearer tokens, a connection limit, per-client queue
 * bounds and pings. Clients publish and subscribe through the node's bus,
 * so what they send reaches every node and client, and what any node
 * publishes reaches them.
 *
 * Why weir's own RFC 6455 stack and not `Deno.serve` + `Deno.upgradeWebSocket`
 * (DESIGN decision 10), measured on Deno 2.9.6 with a raw client on loopback:
 * - Pings: `idleTimeout` closes with 1001 "No response from ping frame."; no
 *   API sends a ping or sees a pong, so Zeek's 1011 "Ping timeout" is out.
 * - Slow clients: `bufferedAmount` grows (557 MB after 2 s of 16 KiB sends to
 *   a client reading nothing; RSS 611 MiB) but counts no messages, and
 *   `close(1008)` neither discards the queue nor drops the TCP connection:
 *   no close event within 5 s, and the client still got all 34,250 queued
 *   frames before the 1008.
 * - Bad frames (invalid UTF-8, reserved bits, unknown opcode, 126-byte ping,
 *   stray continuation) drop TCP without a close frame (1006, not 1002/1007);
 *   an unmasked client frame is accepted.
 * - No size limit option: 10 MiB is delivered (weir sends 1009 past 8 MiB);
 *   70 MiB resets the connection, no 1009.
 * - No handshake timeout: a silent connection and a half-sent head stayed
 *   open 40 s, unseen by the handler, so the connection limit misses them.
 * - Sending 300k 428-byte messages to one client: 130–180k/s, this stack
 *   1.2M/s (it joins the frames of one turn into one write); receiving is on
 *   par (0.7–1.1M/s vs 0.7M/s).
 * 401/503 before the upgrade, close codes with reasons and TLS from PEM files
 * did work there.
 *
 * @module
 */

import { ByteWriter } from "../../codec/mod.ts";
import type { BusMessage } from "../../bus/mod.ts";
import { listenOrExplain } from "../../process/mod.ts";
import { ClientSession, type SessionContext, SubscriptionBudget } from "./client_session.ts";
import { type CloseInfo, type ConnectionLimits, WebSocketConnection } from "./connection.ts";
import {
  type DisconnectReason,
  WebSocketCounters,
  type WebSocketCountersSnapshot,
} from "./counters.ts";
import { CLOSE_CODE } from "./frames.ts";
import {
  acceptKey,
  checkUpgrade,
  httpErrorResponse,
  type HttpRefusal,
  isRefusal,
  readRequestHead,
  switchingProtocolsResponse,
} from "./handshake.ts";
import {
  type ResolvedWebSocketOptions,
  resolveWebSocketOptions,
  WEBSOCKET_PATH,
  type WebSocketApiOptions,
  type WebSocketClientInfo,
} from "./options.ts";
import { DataMessageEncoder } from "./outbound.ts";
import { TokenTable } from "./tokens.ts";

/** Zeek's rule for `X-Application-Name`. */
const APPLICATION_NAME_REGEXP = /^[-/_.=:*@a-zA-Z0-9]+$/;
const DEFAULT_APPLICATION = "unknown";
const PROTOCOL_ERROR_CODES: ReadonlySet<number> = new Set([
  CLOSE_CODE.protocolError,
  CLOSE_CODE.invalidPayload,
  CLOSE_CODE.messageTooBig,
]);
// Topics whose matching clients are remembered; beyond this the cache starts over.
const MAX_CACHED_TOPICS = 4096;

/** A running WebSocket API. */
export interface WebSocketApi extends AsyncDisposable {
  /** `ws://host:port/v1/messages/json` (`wss://` with TLS), with the port actually bound. */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  readonly counters: WebSocketCounters;
  /** A copy of the counters. */
  snapshot(): WebSocketCountersSnapshot;
  /** The acknowledged clients. */
  clients(): readonly WebSocketClientInfo[];
  /** Closes every client with 1001 "Terminating" and stops listening. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the WebSocket API. Resolves once it listens. Throws
 * `WebSocketOptionsError` or `InsecureWebSocketError` for bad options,
 * `TokenFileError` / `TokenFileModeError` for the token file, and the
 * runtime's error when the address cannot be bound.
 *
 * The bus should be one opened for the API (its own node id, e.g.
 * `<node id>-websocket`): a bus drops what it published itself, so a
 * shared node bus would keep the node's own publications from its clients.
 */
export async function openWebSocketApi(options: WebSocketApiOptions): Promise<WebSocketApi> {
  const resolved = resolveWebSocketOptions(options);
  const tokens = resolved.tokenFile === undefined
    ? undefined
    : await TokenTable.load(resolved.tokenFile);
  let listener: Deno.Listener;
  if (resolved.tls !== undefined) {
    const [cert, key] = await Promise.all([
      readPem(resolved.tls.certFile, "WebSocketTlsCert"),
      readPem(resolved.tls.keyFile, "WebSocketTlsKey"),
    ]);
    listener = listenOrExplain(
      "the WebSocket API",
      resolved.host,
      resolved.port,
      "WebSocketHost or WebSocketPort in weir.cfg",
      () => Deno.listenTls({ hostname: resolved.host, port: resolved.port, cert, key }),
    );
  } else {
    listener = listenOrExplain(
      "the WebSocket API",
      resolved.host,
      resolved.port,
      "WebSocketHost or WebSocketPort in weir.cfg",
      () => Deno.listen({ hostname: resolved.host, port: resolved.port }),
    );
  }
  return new WebSocketServer(resolved, listener, tokens);
}

async function readPem(path: string, key: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `Cannot read the WebSocket TLS file "${path}" (${
        error instanceof Error ? error.message : error
      }); fix ${key} or leave both TLS keys empty`,
    );
  }
}

class WebSocketServer implements WebSocketApi {
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  readonly counters = new WebSocketCounters();
  #options: ResolvedWebSocketOptions;
  #listener: Deno.Listener;
  #tokens: TokenTable | undefined;
  #limits: ConnectionLimits;
  #context: SessionContext;
  #encoder = new DataMessageEncoder();
  /** Every TCP connection, from accept to close (the connection limit counts these). */
  #sockets = new Set<Deno.Conn>();
  /** Connections still in the opening handshake. */
  #pending = new Set<Deno.Conn>();
  /** Every upgraded connection, for pings and shutdown. */
  #connections = new Set<WebSocketConnection>();
  #active = new Set<ClientSession>();
  #byTopic = new Map<string, ClientSession[]>();
  #nextClient = 0;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #acceptLoop: Promise<void>;
  #handlers = new Set<Promise<void>>();
  #closed = false;

  constructor(
    options: ResolvedWebSocketOptions,
    listener: Deno.Listener,
    tokens: TokenTable | undefined,
  ) {
    this.#options = options;
    this.#listener = listener;
    this.#tokens = tokens;
    const address = listener.addr as Deno.NetAddr;
    this.hostname = address.hostname;
    this.port = address.port;
    const host = this.hostname.includes(":") ? `[${this.hostname}]` : this.hostname;
    this.url = `${
      options.tls === undefined ? "ws" : "wss"
    }://${host}:${this.port}${WEBSOCKET_PATH}`;
    this.#limits = Object.freeze({
      maxMessageBytes: options.maxMessageBytes,
      maxQueuedBytes: options.maxQueuedBytes,
      maxQueuedMessages: options.maxQueuedMessages,
    });
    this.#context = Object.freeze({
      bus: options.bus,
      events: options.events,
      writer: new ByteWriter(),
      counters: this.counters,
      version: options.version,
      subscribeTimeoutMs: options.subscribeTimeoutMs,
      forwardUndeclaredEvents: options.forwardUndeclaredEvents,
      subscriptionBudget: new SubscriptionBudget(this.counters),
      activate: (session: ClientSession) => this.#activate(session),
    });
    options.bus.onMessage((message) => this.#onBusMessage(message));
    if (options.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#pingAll(), options.pingIntervalMs);
    }
    this.#acceptLoop = this.#accept();
  }

  snapshot(): WebSocketCountersSnapshot {
    return this.counters.snapshot();
  }

  clients(): readonly WebSocketClientInfo[] {
    return [...this.#active].map((session) => session.info());
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        if (this.#closed) return;
        // A failed accept (e.g. out of descriptors) must not end the server; try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const handler = this.#handle(conn).catch(() => {}).finally(() => {
        this.#sockets.delete(conn);
        this.#pending.delete(conn);
        this.#handlers.delete(handler);
      });
      this.#handlers.add(handler);
    }
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    this.#sockets.add(conn);
    this.#pending.add(conn);
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.counters.rejected.handshake_timeout++;
      closeQuietly(conn);
    }, this.#options.handshakeTimeoutMs);
    let head;
    try {
      head = await readRequestHead(conn);
    } catch {
      head = undefined;
    } finally {
      clearTimeout(timer);
    }
    if (head === undefined || timedOut || this.#closed) {
      closeQuietly(conn);
      return;
    }
    const request = head.request;
    if (isRefusal(request)) return await this.#refuse(conn, request, "bad_request");
    const refusal = checkUpgrade(request);
    if (refusal !== undefined) return await this.#refuse(conn, refusal, "bad_request");
    if (this.#sockets.size > this.#options.maxConnections) {
      return await this.#refuse(conn, {
        status: 503,
        message: `Too many WebSocket clients: the limit is ${this.#options.maxConnections}`,
        headers: { "Retry-After": "5" },
      }, "connection_limit");
    }
    const grant = this.#tokens === undefined
      ? undefined
      : await this.#tokens.authenticate(request.headers.get("authorization"));
    if (this.#tokens !== undefined && grant === undefined) {
      return await this.#refuse(conn, {
        status: 401,
        message: "A valid bearer token is required: send the header Authorization: Bearer <token>",
        headers: { "WWW-Authenticate": 'Bearer realm="weir"' },
      }, "unauthorized");
    }
    const accept = await acceptKey(request.headers.get("sec-websocket-key")!);
    await writeAll(conn, switchingProtocolsResponse(accept));
    this.#pending.delete(conn);
    const connection = new WebSocketConnection(conn, this.#limits, head.rest);
    this.#connections.add(connection);
    try {
      await this.#serve(connection, request.path, request.headers.get("x-application-name"), grant);
    } finally {
      this.#connections.delete(connection);
    }
  }

  async #serve(
    connection: WebSocketConnection,
    path: string,
    applicationHeader: string | undefined,
    grant: Awaited<ReturnType<TokenTable["authenticate"]>>,
  ): Promise<void> {
    if (path !== WEBSOCKET_PATH) {
      return await this.#turnAway(
        connection,
        "invalid_uri",
        `invalid URI ${JSON.stringify(path)}, the only endpoint is ${WEBSOCKET_PATH}`,
      );
    }
    const application = applicationHeader ?? DEFAULT_APPLICATION;
    if (!APPLICATION_NAME_REGEXP.test(application)) {
      return await this.#turnAway(
        connection,
        "invalid_application_name",
        `invalid X-Application-Name ${
          JSON.stringify(application)
        }: use only letters, digits and - / _ . = : * @`,
      );
    }
    const id = `${this.#options.nodeId}-websocket-${this.#nextClient++}`;
    const session = new ClientSession(this.#context, connection, id, application, grant);
    session.app.connectionsOpen++;
    session.app.connectionsTotal++;
    this.counters.connectionsOpen++;
    let info: CloseInfo | undefined;
    try {
      if (this.#closed) connection.close(CLOSE_CODE.goingAway, "Terminating");
      info = await connection.run(session.onText);
    } finally {
      session.app.connectionsOpen--;
      this.counters.connectionsOpen--;
      const wasActive = this.#active.delete(session);
      if (wasActive) this.#byTopic.clear();
      session.leave();
      if (info?.by === "server" && PROTOCOL_ERROR_CODES.has(info.code)) {
        this.#countDisconnect("protocol_error");
      }
      if (wasActive) {
        this.#options.onClientLost?.(session.info(), info?.code ?? 1006, info?.reason ?? "");
      }
    }
  }

  /** Sends an error and closes with 1008, as Zeek does for a bad URI or application name. */
  async #turnAway(
    connection: WebSocketConnection,
    code: "invalid_uri" | "invalid_application_name",
    context: string,
  ): Promise<void> {
    this.counters.error(code, undefined);
    this.#countDisconnect(code);
    connection.sendText(new TextEncoder().encode(JSON.stringify({ type: "error", code, context })));
    connection.close(CLOSE_CODE.policyViolation, context);
    await connection.run(() => {});
  }

  async #refuse(
    conn: Deno.Conn,
    refusal: HttpRefusal,
    reason: "bad_request" | "unauthorized" | "connection_limit",
  ): Promise<void> {
    this.counters.rejected[reason]++;
    try {
      await writeAll(conn, httpErrorResponse(refusal));
    } finally {
      closeQuietly(conn);
    }
  }

  #countDisconnect(reason: DisconnectReason): void {
    this.counters.disconnects[reason]++;
  }

  #activate(session: ClientSession): void {
    this.#active.add(session);
    this.#byTopic.clear();
    this.#options.onClientAdded?.(session.info());
  }

  #targets(topic: string): ClientSession[] {
    let targets = this.#byTopic.get(topic);
    if (targets !== undefined) return targets;
    targets = [];
    for (const session of this.#active) {
      for (const prefix of session.subscriptions) {
        if (topic.startsWith(prefix)) {
          targets.push(session);
          break;
        }
      }
    }
    if (this.#byTopic.size >= MAX_CACHED_TOPICS) this.#byTopic.clear();
    this.#byTopic.set(topic, targets);
    return targets;
  }

  #onBusMessage(message: BusMessage): void {
    if (this.#closed || this.#active.size === 0) return;
    const targets = this.#targets(message.topic);
    let text: Uint8Array | undefined;
    for (let i = 0; i < targets.length; i++) {
      const session = targets[i]!;
      // The bus brings a client's own publications back; Zeek never shows a client its own.
      if (session.id === message.sender) continue;
      if (text === undefined) {
        try {
          text = this.#encoder.encode(message);
        } catch {
          this.counters.outboundErrors++;
          return;
        }
      }
      if (!session.deliver(text)) {
        this.#countDisconnect("slow_client");
        session.connection.close(
          CLOSE_CODE.policyViolation,
          `Slow client: more than ${this.#options.maxQueuedMessages} messages or ` +
            `${this.#options.maxQueuedBytes} bytes queued`,
          true,
        );
      }
    }
  }

  #pingAll(): void {
    for (const connection of this.#connections) {
      if (connection.closing) continue;
      if (connection.awaitingPong) {
        this.#countDisconnect("ping_timeout");
        connection.close(CLOSE_CODE.internalError, "Ping timeout");
      } else {
        connection.ping();
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    try {
      this.#listener.close();
    } catch {
      // Closed already because accept failed for good; nothing more to release.
    }
    await this.#acceptLoop;
    for (const connection of this.#connections) {
      if (!connection.closing) this.#countDisconnect("shutdown");
      connection.close(CLOSE_CODE.goingAway, "Terminating");
    }
    // Connections still in the handshake have no WebSocket to close politely.
    for (const conn of this.#pending) closeQuietly(conn);
    await Promise.allSettled([...this.#handlers]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed: the peer or a timeout got there first.
  }
}
