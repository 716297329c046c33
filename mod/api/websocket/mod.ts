/**
 * Zeek's WebSocket API (`ws://127.0.0.1:27759/v1/messages/json`), served
 * from any node: the v1 JSON protocol exactly (subscription handshake, ack,
 * data messages, Zeek's errors and close codes), plus what Zeek leaves to a
 * reverse proxy: bearer tokens limited to topic prefixes, TLS, a connection
 * limit and bounded per-client queues. The RFC 6455 stack is weir's own;
 * `server.ts` says, with measurements, why Deno's WebSocket server is not used.
 *
 * @example
 * ```ts
 * const api = await openWebSocketApi({
 *   bus: webSocketBus, // a Bus with its own id, e.g. `${nodeId}-websocket`
 *   events: cluster.events.argTypes,
 *   host: "127.0.0.1",
 *   port: 27759,
 *   tokenFile: "/etc/weir/websocket.tokens",
 * });
 * api.snapshot().applications; // { "zeekctl": { connectionsOpen: 1, … } }
 * await api.close();
 * ```
 *
 * @module
 */

export {
  type ApplicationCounters,
  type DisconnectReason,
  MAX_APPLICATION_LABELS,
  OTHER_APPLICATION,
  type RejectReason,
  WebSocketCounters,
  type WebSocketCountersSnapshot,
} from "./counters.ts";
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_SUBSCRIBE_TIMEOUT_MS,
  DEFAULT_WEBSOCKET_HOST,
  DEFAULT_WEBSOCKET_PORT,
  InsecureWebSocketError,
  isLoopbackHost,
  WEBSOCKET_PATH,
  type WebSocketApiOptions,
  type WebSocketClientInfo,
  WebSocketOptionsError,
} from "./options.ts";
export { openWebSocketApi, type WebSocketApi } from "./server.ts";
export { TokenFileError, TokenFileModeError, type TokenGrant, TokenTable } from "./tokens.ts";
export { FrameReader, WebSocketProtocolError } from "./frames.ts";
