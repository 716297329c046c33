import assert from "node:assert/strict";
import { join } from "node:path";
import { openPcapFile } from "../../../capture/mod.ts";
import { generateTrace } from "../../../testing/mod.ts";
import { packetSamples } from "./packet_metrics.ts";

Deno.test("capture counters map to Zeek's zeek_net_* names; optional ones only when known", () => {
  const values = (c: Parameters<typeof packetSamples>[0]) =>
    Object.fromEntries(packetSamples(c).map((s) => [s.name, s.value]));
  assert.deepEqual(values({ received: 10, dropped: 2, bytes: 1500 }), {
    zeek_net_received_packets_total: 10,
    zeek_net_received_bytes_total: 1500,
    zeek_net_dropped_packets_total: 2,
  });
  assert.deepEqual(values({ received: 10, dropped: 2, bytes: 1500, link: 13, ifDropped: 1 }), {
    zeek_net_received_packets_total: 10,
    zeek_net_received_bytes_total: 1500,
    zeek_net_dropped_packets_total: 2,
    zeek_net_link_packets_total: 13,
    weir_net_interface_dropped_packets_total: 1,
  });
});

Deno.test("a real pcap file source's stats fit as they are and count what the trace holds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-metrics-pcap-" });
  try {
    const path = join(dir, "trace.pcap");
    const truth = await generateTrace(path, { flows: 20, seed: 7 });
    await using source = await openPcapFile(path);
    while (await source.next() !== null) { /* drain: only the counters matter here */ }
    const values = Object.fromEntries(packetSamples(source.stats()).map((s) => [s.name, s.value]));
    assert.equal(values.zeek_net_received_packets_total, truth.packets);
    assert.equal(values.zeek_net_received_bytes_total, truth.bytes);
    assert.equal(values.zeek_net_dropped_packets_total, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
