import assert from "node:assert/strict";
import type { BusCounters } from "../../bus/bus.ts";
import { busSamples } from "./bus_metrics.ts";

Deno.test("bus counters map to Zeek's ZeroMQ and cluster names and are read live", () => {
  const counters: BusCounters = {
    xpubDrops: 1,
    messageErrors: 2,
    published: 3,
    received: 4,
    ownMessages: 5,
  };
  const read = () => Object.fromEntries(busSamples(counters).map((s) => [s.name, s.value]));
  assert.deepEqual(read(), {
    zeek_cluster_zeromq_xpub_drops_total: 1,
    zeek_cluster_zeromq_msg_errors_total: 2,
    zeek_cluster_core_outgoing_events_total: 3,
    zeek_cluster_core_incoming_events_total: 4,
    weir_cluster_own_messages_total: 5,
  });
  counters.published += 10;
  assert.equal(read().zeek_cluster_core_outgoing_events_total, 13);
  assert.ok(busSamples(counters).every((s) => s.type === "counter"));
});
