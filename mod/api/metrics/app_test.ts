import assert from "node:assert/strict";
import { createMetricsApp, METRICS_CONTENT_TYPE } from "./app.ts";
import type { MetricSample } from "./sample.ts";
import { createServiceDiscovery } from "./service_discovery.ts";

const get = (path: string, method = "GET") => new Request(`http://localhost${path}`, { method });

Deno.test("/metrics: process, version and source samples, all labelled with the node", async () => {
  const counters = { published: 0 };
  const app = createMetricsApp({
    node: "worker-1",
    version: "1.2.3",
    sources: [() => [{
      name: "zeek_cluster_core_outgoing_events_total",
      help: "Events published.",
      type: "counter",
      value: counters.published,
    }]],
  });
  counters.published = 42;
  const response = await app.fetch(get("/metrics"));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), METRICS_CONTENT_TYPE);
  const body = await response.text();
  assert.match(body, /^zeek_cluster_core_outgoing_events_total\{node="worker-1"\} 42$/m);
  assert.match(body, /^weir_version_info\{version="1\.2\.3",major="1",minor="2",patch="3",/m);
  assert.match(body, /^process_resident_memory_bytes\{node="worker-1"\} \d+$/m);
  const series = body.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  assert.ok(series.length > 10);
  for (const line of series) assert.match(line, /node="worker-1"/, line);
});

Deno.test("addSource adds a source to later scrapes and its remover takes it out", async () => {
  const app = createMetricsApp({ node: "n" });
  const sample: MetricSample = { name: "weir_test_value", help: "h", type: "gauge", value: 5 };
  const remove = app.addSource(() => [sample]);
  assert.match(await app.scrape(), /^weir_test_value\{node="n"\} 5$/m);
  remove();
  assert.doesNotMatch(await app.scrape(), /weir_test_value/);
});

Deno.test("a bad or throwing source fails the scrape with a 500 naming the cause, and onError hears it", async () => {
  const errors: unknown[] = [];
  const app = createMetricsApp({
    node: "n",
    sources: [() => [{ name: "oops", help: "h", type: "counter", value: 1 }]],
    onError: (e) => errors.push(e),
  });
  const response = await app.fetch(get("/metrics"));
  assert.equal(response.status, 500);
  assert.match(await response.text(), /^Cannot collect metrics: Cannot expose counter oops/);
  app.addSource(() => {
    throw new Error("the bus is closed");
  });
  const thrown = await app.fetch(get("/metrics"));
  assert.equal(thrown.status, 500);
  assert.equal(errors.length, 2);
  const fixed = createMetricsApp({ node: "n", onError: (e) => errors.push(e) });
  fixed.addSource(() => {
    throw new Error("the bus is closed");
  });
  assert.equal(
    await (await fixed.fetch(get("/metrics"))).text(),
    "Cannot collect metrics: the bus is closed\n",
  );
});

Deno.test("routing: /services.json only with a discovery, unknown paths 404, other methods 405", async () => {
  const worker = createMetricsApp({ node: "worker-1" });
  const notFound = await worker.fetch(get("/services.json"));
  assert.equal(notFound.status, 404);
  assert.equal(await notFound.text(), "Not found: /services.json; metrics are at /metrics\n");
  assert.equal((await worker.fetch(get("/"))).status, 404);
  const post = await worker.fetch(get("/metrics", "POST"));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();

  const discovery = createServiceDiscovery({
    nodes: [{ name: "manager", address: "127.0.0.1", metricsPort: 9991 }],
  });
  const manager = createMetricsApp({ node: "manager", serviceDiscovery: discovery });
  const sd = await manager.fetch(get("/services.json"));
  assert.equal(sd.status, 200);
  assert.equal(sd.headers.get("content-type"), "application/json");
  assert.deepEqual(await sd.json(), [{ targets: ["127.0.0.1:9991"], labels: {} }]);
  discovery.addTarget({ name: "sensor-1", address: "::1", metricsPort: 9999 });
  assert.deepEqual(await (await manager.fetch(get("/services.json"))).json(), [
    { targets: ["127.0.0.1:9991", "[::1]:9999"], labels: {} },
  ]);
});
