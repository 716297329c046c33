/**
 * Zeek's WebSocket API as a node serves it, on the port its role chose: the
 * manager's WebSocketHost:WebSocketPort (UseWebSocket), any other node's
 * node.cfg `websocket_port` (say every proxy, behind a load-balancing
 * reverse proxy).
 *
 * @module
 */

import type { WeirSettings } from "../../config/mod.ts";
import type { ZmqContext } from "../../ffi/mod.ts";
import { type MetricsServer, webSocketSamples } from "../api/metrics/mod.ts";
import { openWebSocketApi } from "../api/websocket/mod.ts";
import { Bus, type BusOptions, type EventRegistry } from "../bus/mod.ts";
import type { Reporter } from "../process/mod.ts";

/**
 * Starts the API with a bus connection of its own: a bus drops messages
 * carrying its own node id, and this node's own publications must still
 * reach the clients.
 */
export async function openWebSocketEntry(options: {
  readonly zmq: ZmqContext;
  readonly endpoints: { xpub: string; xsub: string; ipv6: boolean };
  /** The node's CURVE keys and heartbeats, for the API's own bus connection. */
  readonly security: Pick<BusOptions, "curve" | "heartbeat">;
  readonly nodeId: string;
  readonly events: EventRegistry;
  readonly settings: WeirSettings;
  readonly port: number;
  readonly insecure: boolean;
  readonly reporter: Reporter;
  readonly metrics: MetricsServer | undefined;
}): Promise<AsyncDisposable> {
  const { settings, endpoints, reporter } = options;
  const bus = Bus.open(options.zmq, {
    nodeId: `${options.nodeId}-websocket`,
    connectXpub: endpoints.xsub,
    connectXsub: endpoints.xpub,
    ipv6: endpoints.ipv6,
    ...options.security,
  }, (error) => reporter.error(`WebSocket bus failed: ${error}`));
  try {
    const api = await openWebSocketApi({
      bus,
      events: options.events.argTypes,
      host: settings.webSocketHost,
      port: options.port,
      handshakeTimeoutMs: settings.webSocketTimeoutSec * 1000,
      maxConnections: settings.webSocketMaxConnections,
      maxQueuedMessages: settings.webSocketQueueSize,
      insecure: options.insecure,
      ...(settings.webSocketTokenFile === "" ? {} : { tokenFile: settings.webSocketTokenFile }),
      ...(settings.webSocketTlsCert === ""
        ? {}
        : { tlsCertFile: settings.webSocketTlsCert, tlsKeyFile: settings.webSocketTlsKey }),
    });
    bus.start();
    reporter.info(`WebSocket API on ${api.url}`);
    const removeSource = options.metrics?.addSource(() => webSocketSamples(api.snapshot()));
    return {
      async [Symbol.asyncDispose]() {
        removeSource?.();
        await api.close();
        await bus.close();
      },
    };
  } catch (error) {
    await bus.close();
    throw error;
  }
}
