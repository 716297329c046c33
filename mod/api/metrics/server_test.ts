import assert from "node:assert/strict";
import { EventRegistry } from "../../bus/events.ts";
import { LogRegistry } from "../../log/stream.ts";
import { newShipperCounters } from "../../log/shipper.ts";
import { newReceiverCounters } from "../../log/node_logging.ts";
import { T } from "../../../zeek/types.ts";
import { WebSocketCounters } from "../websocket/mod.ts";
import { busSamples } from "./bus_metrics.ts";
import { eventSamples } from "./event_metrics.ts";
import { logReceiverSamples, logShipperSamples, logWriteSamples } from "./log_metrics.ts";
import { packetSamples } from "./packet_metrics.ts";
import type { MetricSource } from "./sample.ts";
import { MetricsListenError, openMetricsServer } from "./server.ts";
import { createServiceDiscovery } from "./service_discovery.ts";
import { toolInstalled } from "../../../tests/harness.ts";
import { sessionSamples } from "./session_metrics.ts";
import { webSocketSamples } from "./websocket_metrics.ts";

const PROMTOOL = "/usr/bin/promtool";

/** Every ready-made source over real registries, with label values that need escaping. */
function everySource(): MetricSource[] {
  const events = new EventRegistry(() => {});
  events.on("Cluster::node_up", () => {});
  events.dispatch("Cluster::node_up", []);
  const logs = new LogRegistry();
  const stream = logs.defineStream({
    id: "Conn::LOG",
    path: "conn",
    columns: [{ name: "uid", type: T.string, optional: false }],
  });
  logs.write(stream, ["C1"]);
  const websocket = new WebSocketCounters();
  websocket.application('odd "app"\\name').messagesIn = 3;
  const bus = { xpubDrops: 0, messageErrors: 1, published: 2, received: 3, ownMessages: 0 };
  return [
    () => busSamples(bus),
    () => eventSamples(events.invocations),
    () => logWriteSamples(logs.counters()),
    () => logShipperSamples({ ...newShipperCounters(), batchesSent: 1, recordsSent: 1 }),
    () =>
      logReceiverSamples({
        ...newReceiverCounters(),
        batches: 1,
        records: 1,
        unacknowledgedBatches: 1,
        unacknowledgedRecords: 1,
        bySender: new Map([["w", 1]]),
      }),
    () => packetSamples({ received: 10, dropped: 0, bytes: 900, link: 10, ifDropped: 0 }),
    () =>
      sessionSamples({ active: { tcp: 1, udp: 0, icmp: 0 }, total: { tcp: 5, udp: 2, icmp: 1 } }),
    () => webSocketSamples(websocket.snapshot()),
  ];
}

async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(PROMTOOL, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("a started server answers a real HTTP scrape with every series labelled with the node", async () => {
  await using server = openMetricsServer({ node: "worker-1", port: 0, sources: everySource() });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.ok(server.port > 0);
  const response = await fetch(new URL("metrics", server.url));
  assert.equal(response.status, 200);
  const body = await response.text();
  for (
    const line of [
      'zeek_cluster_core_incoming_events_total{node="worker-1"} 3',
      'zeek_event_handler_invocations_total{name="Cluster::node_up",node="worker-1"} 1',
      'zeek_log_stream_writes_total{module="Conn",stream="Conn::LOG",node="worker-1"} 1',
      'zeek_net_received_bytes_total{node="worker-1"} 900',
      'zeek_total_sessions_total{protocol="tcp",node="worker-1"} 5',
      'zeek_cluster_websocket_incoming_events_total{app="odd \\"app\\"\\\\name",node="worker-1"} 3',
    ]
  ) {
    assert.ok(body.split("\n").includes(line), `missing: ${line}`);
  }
  const series = body.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  for (const line of series) assert.match(line, /[{,]node="worker-1"[,}]/, line);
});

Deno.test({
  name: "promtool check metrics accepts the whole /metrics output",
  ignore: !toolInstalled(PROMTOOL, "the promtool test", "prometheus"),
}, async () => {
  await using server = openMetricsServer({ node: "manager", port: 0, sources: everySource() });
  const body = await (await fetch(new URL("metrics", server.url))).text();
  const { code, output } = await promtoolCheck(body);
  assert.equal(output, "");
  assert.equal(code, 0);
  const broken = await promtoolCheck("# TYPE events counter\nevents 1\n");
  assert.notEqual(
    broken.code,
    0,
    "promtool must reject a counter without _total, or the check proves nothing",
  );
});

Deno.test("a taken port is refused with the address and the way out; close is idempotent", async () => {
  const first = openMetricsServer({ node: "a", port: 0 });
  try {
    assert.throws(
      () => openMetricsServer({ node: "b", port: first.port }),
      (e) =>
        e instanceof MetricsListenError &&
        e.message.startsWith(`Cannot serve metrics on 127.0.0.1:${first.port}: `) &&
        e.message.endsWith("stop the process using it or change MetricsPort in weir.cfg"),
    );
    assert.throws(() => openMetricsServer({ node: "b", port: 70000 }), MetricsListenError);
  } finally {
    await first.close();
    await first.close();
  }
  await assert.rejects(fetch(new URL("metrics", first.url)));
});

Deno.test("the manager's server serves /services.json and follows runtime changes", async () => {
  const discovery = createServiceDiscovery({
    nodes: [{ name: "manager", address: "127.0.0.1", metricsPort: 9991 }],
  });
  await using server = openMetricsServer({
    node: "manager",
    port: 0,
    serviceDiscovery: discovery,
  });
  const read = async () => await (await fetch(new URL("services.json", server.url))).json();
  assert.deepEqual(await read(), [{ targets: ["127.0.0.1:9991"], labels: {} }]);
  discovery.addTarget({ name: "sensor-1", address: "127.0.0.2", metricsPort: 9996 });
  assert.deepEqual(await read(), [{ targets: ["127.0.0.1:9991", "127.0.0.2:9996"], labels: {} }]);
  discovery.removeTarget("sensor-1");
  assert.deepEqual(await read(), [{ targets: ["127.0.0.1:9991"], labels: {} }]);
});

Deno.test("an IPv6 MetricsAddress gets a bracketed URL", async () => {
  let server;
  try {
    server = openMetricsServer({ node: "v6", host: "::1", port: 0 });
  } catch (error) {
    console.warn(`SKIPPED the IPv6 case: no IPv6 loopback here (${error})`);
    return;
  }
  await using _ = server;
  assert.match(server.url, /^http:\/\/\[::1\]:\d+\/$/);
  assert.equal((await fetch(new URL("metrics", server.url))).status, 200);
});
