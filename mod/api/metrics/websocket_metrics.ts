/**
 * WebSocket API counters: Zeek's per-application event counts, and weir's
 * own for what Zeek leaves to a reverse proxy (limits, tokens, slow clients).
 *
 * @module
 */

import type { WebSocketCountersSnapshot } from "../websocket/mod.ts";
import type { MetricSample } from "./sample.ts";

function counter(name: string, help: string, labels: Record<string, string>, value: number) {
  return { name, help, type: "counter", labels, value } as const;
}

/** Samples of a WebSocket API's `snapshot()`; `app` is the `X-Application-Name`. */
export function webSocketSamples(snapshot: WebSocketCountersSnapshot): MetricSample[] {
  const samples: MetricSample[] = [];
  const apps = Object.entries(snapshot.applications);
  for (const [app, c] of apps) {
    samples.push(counter(
      "zeek_cluster_websocket_incoming_events_total",
      "Events received from WebSocket clients, by application.",
      { app },
      c.messagesIn,
    ));
  }
  for (const [app, c] of apps) {
    samples.push(counter(
      "zeek_cluster_websocket_outgoing_events_total",
      "Events sent to WebSocket clients, by application.",
      { app },
      c.messagesOut,
    ));
  }
  for (const [app, c] of apps) {
    samples.push({
      name: "weir_websocket_open_connections",
      help: "WebSocket clients connected now, by application.",
      type: "gauge",
      labels: { app },
      value: c.connectionsOpen,
    });
  }
  for (const [app, c] of apps) {
    samples.push(counter(
      "weir_websocket_connections_total",
      "WebSocket clients ever connected, by application.",
      { app },
      c.connectionsTotal,
    ));
  }
  for (const [app, c] of apps) {
    samples.push(counter(
      "weir_websocket_client_errors_total",
      "Error messages sent to WebSocket clients, by application.",
      { app },
      c.errors,
    ));
  }
  for (const [code, value] of Object.entries(snapshot.errors)) {
    samples.push(counter(
      "weir_websocket_errors_total",
      "Error messages sent to WebSocket clients, by error code.",
      { code },
      value,
    ));
  }
  samples.push({
    name: "weir_websocket_subscriptions",
    help: "Topic prefixes the WebSocket clients hold now (all clients: at most 100,000).",
    type: "gauge",
    labels: {},
    value: snapshot.subscriptions,
  });
  samples.push({
    name: "weir_websocket_subscription_chars",
    help:
      "Characters of topic prefixes the WebSocket clients hold now (all clients: at most 1,048,576).",
    type: "gauge",
    labels: {},
    value: snapshot.subscriptionChars,
  });
  for (const [reason, value] of Object.entries(snapshot.rejected)) {
    samples.push(counter(
      "weir_websocket_rejected_connections_total",
      "WebSocket connections refused before the upgrade, by reason.",
      { reason },
      value,
    ));
  }
  for (const [reason, value] of Object.entries(snapshot.disconnects)) {
    samples.push(counter(
      "weir_websocket_disconnects_total",
      "WebSocket connections the server closed, by reason.",
      { reason },
      value,
    ));
  }
  samples.push(
    counter(
      "weir_websocket_publish_drops_total",
      "Client publications the bus dropped at its high-water mark.",
      {},
      snapshot.publishDrops,
    ),
    counter(
      "weir_websocket_outbound_errors_total",
      "Bus messages for clients that could not be turned into JSON.",
      {},
      snapshot.outboundErrors,
    ),
  );
  return samples;
}
