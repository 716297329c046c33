/**
 * The WebSocket API's options, their defaults (Zeek's where Zeek has one)
 * and the checks made before anything binds: every problem is reported at
 * once, and a listener reachable from other hosts with neither tokens nor
 * TLS is refused unless the operator said it is meant to be insecure.
 *
 * @module
 */

import type { EventTypesLookup } from "../../codec/mod.ts";
import type { Bus } from "../../bus/mod.ts";
import { WEIR_VERSION } from "../../process/mod.ts";

/** zeekctl's `WebSocketHost`. */
export const DEFAULT_WEBSOCKET_HOST = "127.0.0.1";
/** zeekctl's `WebSocketPort`. */
export const DEFAULT_WEBSOCKET_PORT = 27759;
/** The one path Zeek serves. */
export const WEBSOCKET_PATH = "/v1/messages/json";
/** Zeek's hard-coded connection limit. */
export const DEFAULT_MAX_CONNECTIONS = 100;
/** Messages queued for one client before it counts as too slow (weir.cfg `WebSocketQueueSize`). */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;
/** Bytes queued for one client before it counts as too slow. */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** The longest message a client may send. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Zeek's `ping_interval`. */
export const DEFAULT_PING_INTERVAL_MS = 5000;
/** Time a client has to send its upgrade request (weir.cfg `WebSocketTimeout`). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time the forwarder has to confirm a client's subscriptions before it is closed with 1011. */
export const DEFAULT_SUBSCRIBE_TIMEOUT_MS = 10_000;

/** A connected client, as reported to `onClientAdded` / `onClientLost` and by `clients()`. */
export interface WebSocketClientInfo {
  /** `<server node id>-websocket-<n>`, the id it publishes under and the ack's `endpoint`. */
  readonly id: string;
  /** `X-Application-Name`, `unknown` when absent. */
  readonly application: string;
  readonly remoteAddress: string;
  /** The token's `name=` when a token file is in use. */
  readonly tokenName: string | undefined;
  readonly subscriptions: readonly string[];
}

/** Options of `openWebSocketApi`. */
export interface WebSocketApiOptions {
  /** The bus clients publish and subscribe through. See `openWebSocketApi` on which bus to pass. */
  readonly bus: Bus;
  /** Declared argument types of events (`cluster.events.argTypes`); client events are checked against them. */
  readonly events: EventTypesLookup;
  /** Prefix of client ids; default `bus.nodeId`. */
  readonly nodeId?: string;
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; default 27759, 0 picks a free one. */
  readonly port?: number;
  /** The `version` the ack reports; default weir's version. */
  readonly version?: string;
  /** Bearer tokens (see `tokens.ts` for the format); required of every client when set. */
  readonly tokenFile?: string;
  /** PEM certificate chain; with `tlsKeyFile`, the server speaks `wss://`. */
  readonly tlsCertFile?: string;
  /** PEM private key for `tlsCertFile`. */
  readonly tlsKeyFile?: string;
  /** Allows a non-loopback address with neither tokens nor TLS (`--insecure-websocket`). */
  readonly insecure?: boolean;
  readonly maxConnections?: number;
  readonly maxQueuedMessages?: number;
  readonly maxQueuedBytes?: number;
  readonly maxMessageBytes?: number;
  /** Ping every this often; a client that answered nothing since the last ping is closed (1011). 0 disables. */
  readonly pingIntervalMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly subscribeTimeoutMs?: number;
  /**
   * Forward events the `events` lookup does not know, untyped. Zeek refuses
   * them (`failed to create Zeek event`), which is the default.
   */
  readonly forwardUndeclaredEvents?: boolean;
  /** Called once a client is acknowledged (Zeek's `Cluster::websocket_client_added`). */
  readonly onClientAdded?: (client: WebSocketClientInfo) => void;
  /** Called when an acknowledged client is gone (Zeek's `Cluster::websocket_client_lost`). */
  readonly onClientLost?: (client: WebSocketClientInfo, code: number, reason: string) => void;
}

/** Options with every default filled in, frozen. */
export interface ResolvedWebSocketOptions {
  readonly bus: Bus;
  readonly events: EventTypesLookup;
  readonly nodeId: string;
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly tokenFile: string | undefined;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly maxConnections: number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly maxMessageBytes: number;
  readonly pingIntervalMs: number;
  readonly handshakeTimeoutMs: number;
  readonly subscribeTimeoutMs: number;
  readonly forwardUndeclaredEvents: boolean;
  readonly onClientAdded: ((client: WebSocketClientInfo) => void) | undefined;
  readonly onClientLost:
    | ((client: WebSocketClientInfo, code: number, reason: string) => void)
    | undefined;
}

/** The options are inconsistent; every problem is listed. */
export class WebSocketOptionsError extends Error {
  override readonly name = "WebSocketOptionsError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Cannot start the WebSocket API:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

/** The address is reachable from other hosts and nothing guards it. */
export class InsecureWebSocketError extends Error {
  override readonly name = "InsecureWebSocketError";
  readonly host: string;
  constructor(host: string) {
    super(
      `Refusing to serve the WebSocket API on ${host}, an address other hosts can reach, ` +
        "without authentication or encryption: set WebSocketTokenFile (bearer tokens) and/or " +
        "WebSocketTlsCert and WebSocketTlsKey, bind WebSocketHost to 127.0.0.1, or start with " +
        "--insecure-websocket if this is really meant",
    );
    this.host = host;
  }
}

/** True for 127.0.0.0/8, ::1 (also as ::ffff:127.x) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  if (lower === "localhost" || lower === "::1" || lower === "0:0:0:0:0:0:0:1") return true;
  const v4 = lower.startsWith("::ffff:") ? lower.slice(7) : lower;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function positive(
  problems: string[],
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    problems.push(`${name} must be a positive integer, found ${value}`);
  }
  return value;
}

/**
 * Fills in defaults and checks the options. Throws `WebSocketOptionsError`
 * listing every problem, or `InsecureWebSocketError`.
 */
export function resolveWebSocketOptions(options: WebSocketApiOptions): ResolvedWebSocketOptions {
  const problems: string[] = [];
  const host = options.host ?? DEFAULT_WEBSOCKET_HOST;
  const port = options.port ?? DEFAULT_WEBSOCKET_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`port must be from 0 to 65535, found ${port}`);
  }
  if (host === "") problems.push("host must not be empty (use 127.0.0.1 for loopback only)");
  const certFile = options.tlsCertFile || undefined;
  const keyFile = options.tlsKeyFile || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(
      `TLS needs both a certificate and a key, found only the ${
        certFile === undefined ? `key "${keyFile}"` : `certificate "${certFile}"`
      }: set WebSocketTlsCert and WebSocketTlsKey together`,
    );
  }
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  if (!Number.isFinite(pingIntervalMs)) {
    problems.push(
      `pingIntervalMs must be a number of milliseconds (0 disables), found ${pingIntervalMs}`,
    );
  }
  const resolved: ResolvedWebSocketOptions = Object.freeze({
    bus: options.bus,
    events: options.events,
    nodeId: options.nodeId ?? options.bus.nodeId,
    host,
    port,
    version: options.version ?? WEIR_VERSION,
    tokenFile: options.tokenFile || undefined,
    tls: certFile !== undefined && keyFile !== undefined
      ? Object.freeze({ certFile, keyFile })
      : undefined,
    maxConnections: positive(
      problems,
      "maxConnections",
      options.maxConnections,
      DEFAULT_MAX_CONNECTIONS,
    ),
    maxQueuedMessages: positive(
      problems,
      "maxQueuedMessages",
      options.maxQueuedMessages,
      DEFAULT_MAX_QUEUED_MESSAGES,
    ),
    maxQueuedBytes: positive(
      problems,
      "maxQueuedBytes",
      options.maxQueuedBytes,
      DEFAULT_MAX_QUEUED_BYTES,
    ),
    maxMessageBytes: positive(
      problems,
      "maxMessageBytes",
      options.maxMessageBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
    ),
    pingIntervalMs: Math.max(0, pingIntervalMs),
    handshakeTimeoutMs: positive(
      problems,
      "handshakeTimeoutMs",
      options.handshakeTimeoutMs,
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
    ),
    subscribeTimeoutMs: positive(
      problems,
      "subscribeTimeoutMs",
      options.subscribeTimeoutMs,
      DEFAULT_SUBSCRIBE_TIMEOUT_MS,
    ),
    forwardUndeclaredEvents: options.forwardUndeclaredEvents ?? false,
    onClientAdded: options.onClientAdded,
    onClientLost: options.onClientLost,
  });
  if (problems.length > 0) throw new WebSocketOptionsError(problems);
  if (
    !isLoopbackHost(host) && resolved.tokenFile === undefined && resolved.tls === undefined &&
    options.insecure !== true
  ) throw new InsecureWebSocketError(host);
  return resolved;
}
