import assert from "node:assert/strict";
import { EventRegistry } from "../../bus/events.ts";
import { eventSamples } from "./event_metrics.ts";

Deno.test("handler invocations of a real EventRegistry become zeek_event_handler_invocations_total{name}", () => {
  const events = new EventRegistry(() => {});
  events.on("Cluster::node_up", () => {});
  events.on("ping", () => {});
  events.on("ping", () => {});
  events.dispatch("ping", []);
  events.dispatch("ping", []);
  events.dispatch("Cluster::node_up", []);
  events.dispatch("no_handlers", []);
  assert.deepEqual(
    eventSamples(events.invocations).map((s) => [s.name, s.type, s.labels, s.value]),
    [
      ["zeek_event_handler_invocations_total", "counter", { name: "ping" }, 2],
      ["zeek_event_handler_invocations_total", "counter", { name: "Cluster::node_up" }, 1],
    ],
  );
});
