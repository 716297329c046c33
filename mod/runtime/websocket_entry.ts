/**
 * Zeek's WebSocket API as a node serves it: the manager on WebSocketHost:
 * WebSocketPort (UseWebSocket), any other node on its node.cfg
 * `websocket_port` (say every proxy, behind a load-balancing reverse proxy).
 *
 * @module
 */

import type { ZmqContext } from "../../ffi/libzmq.ts";
import { webSocketSamples } from "../api/metrics/mod.ts";
import { startWebSocketApi } from "../api/websocket/mod.ts";
import { Bus } from "../bus/bus.ts";
import type { NodeContext } from "./node_context.ts";

/** The port this node serves the WebSocket API on, or undefined for none. */
export function webSocketPortOf(node: NodeContext): number | undefined {
  const { self, layout } = node;
  if (self.type === "manager") {
    return layout.settings.useWebSocket
      ? self.webSocketPort ?? layout.settings.webSocketPort
      : undefined;
  }
  return self.webSocketPort;
}

/**
 * Starts the API with a bus connection of its own: a bus drops messages
 * carrying its own node id, and this node's own publications must still
 * reach the clients.
 */
export async function openWebSocketEntry(
  zmq: ZmqContext,
  node: NodeContext,
  endpoints: { xpub: string; xsub: string; ipv6: boolean },
  port: number,
  insecure: boolean,
): Promise<AsyncDisposable> {
  const settings = node.layout.settings;
  const bus = Bus.open(zmq, {
    nodeId: `${node.nodeId}-websocket`,
    connectXpub: endpoints.xsub,
    connectXsub: endpoints.xpub,
    ipv6: endpoints.ipv6,
  }, (error) => node.reporter.error(`WebSocket bus failed: ${error}`));
  try {
    const api = await startWebSocketApi({
      bus,
      events: node.cluster.events.argTypes,
      host: settings.webSocketHost,
      port,
      handshakeTimeoutMs: settings.webSocketTimeoutSec * 1000,
      maxConnections: settings.webSocketMaxConnections,
      maxQueuedMessages: settings.webSocketQueueSize,
      insecure,
      ...(settings.webSocketTokenFile === "" ? {} : { tokenFile: settings.webSocketTokenFile }),
      ...(settings.webSocketTlsCert === ""
        ? {}
        : { tlsCertFile: settings.webSocketTlsCert, tlsKeyFile: settings.webSocketTlsKey }),
    });
    bus.start();
    node.reporter.info(`WebSocket API on ${api.url}`);
    const removeSource = node.metrics?.addSource(() => webSocketSamples(api.snapshot()));
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
