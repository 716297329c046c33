import assert from "node:assert/strict";
import { WebSocketCounters } from "../websocket/mod.ts";
import { webSocketSamples } from "./websocket_metrics.ts";

Deno.test("a real WebSocketCounters snapshot maps to Zeek's per-app event counts and weir_websocket_*", () => {
  const counters = new WebSocketCounters();
  const zeekctl = counters.application("zeekctl");
  zeekctl.connectionsOpen = 1;
  zeekctl.connectionsTotal = 2;
  zeekctl.messagesIn = 5;
  zeekctl.messagesOut = 7;
  counters.application("my-app").messagesIn = 1;
  counters.error("deserialization_failed", zeekctl);
  counters.rejected.unauthorized = 3;
  counters.disconnects.slow_client = 1;
  counters.publishDrops = 9;
  const samples = webSocketSamples(counters.snapshot());
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))
      ?.value;
  assert.equal(find("zeek_cluster_websocket_incoming_events_total", { app: "zeekctl" }), 5);
  assert.equal(find("zeek_cluster_websocket_incoming_events_total", { app: "my-app" }), 1);
  assert.equal(find("zeek_cluster_websocket_outgoing_events_total", { app: "zeekctl" }), 7);
  assert.equal(find("weir_websocket_open_connections", { app: "zeekctl" }), 1);
  assert.equal(find("weir_websocket_connections_total", { app: "zeekctl" }), 2);
  assert.equal(find("weir_websocket_client_errors_total", { app: "zeekctl" }), 1);
  assert.equal(find("weir_websocket_errors_total", { code: "deserialization_failed" }), 1);
  assert.equal(find("weir_websocket_rejected_connections_total", { reason: "unauthorized" }), 3);
  assert.equal(find("weir_websocket_rejected_connections_total", { reason: "bad_request" }), 0);
  assert.equal(find("weir_websocket_disconnects_total", { reason: "slow_client" }), 1);
  assert.equal(find("weir_websocket_publish_drops_total"), 9);
  assert.equal(find("weir_websocket_outbound_errors_total"), 0);
  assert.equal(
    samples.find((s) => s.name === "weir_websocket_open_connections")?.type,
    "gauge",
  );
});
