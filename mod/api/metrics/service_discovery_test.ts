import assert from "node:assert/strict";
import { join } from "node:path";
import { createStandaloneLayout, loadLayout } from "../../../config/mod.ts";
import { createServiceDiscovery, formatTarget, MetricsTargetError } from "./service_discovery.ts";

Deno.test("the standalone layout gives Zeek's /services.json: one group, every node, empty labels", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-sd-" });
  try {
    const layout = await createStandaloneLayout({ interface: "lo", baseDir: dir });
    const discovery = createServiceDiscovery(layout);
    assert.equal(
      discovery.json(),
      '[{"targets":["127.0.0.1:9991","127.0.0.1:9992","127.0.0.1:9993","127.0.0.1:9994","127.0.0.1:9995"],"labels":{}}]',
    );
    assert.deepEqual([...discovery.targets().keys()], layout.nodes.map((n) => n.name));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node.cfg with an IPv6 host brackets its target; MetricsPort=0 lists nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-sd-" });
  try {
    await Deno.writeTextFile(
      join(dir, "node.cfg"),
      "[manager]\ntype=manager\nhost=127.0.0.1\n\n[worker-1]\ntype=worker\nhost=::1\ninterface=lo\n",
    );
    await Deno.writeTextFile(join(dir, "weir.cfg"), `SpoolDir=${dir}/spool\nLogDir=${dir}/logs\n`);
    const layout = await loadLayout(dir);
    assert.equal(
      createServiceDiscovery(layout).json(),
      '[{"targets":["127.0.0.1:9991","[::1]:9992"],"labels":{}}]',
    );
    await Deno.writeTextFile(join(dir, "weir.cfg"), `MetricsPort=0\nSpoolDir=${dir}/spool\n`);
    assert.equal(
      createServiceDiscovery(await loadLayout(dir)).json(),
      '[{"targets":[],"labels":{}}]',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("targets added and removed at run time show in the next response", () => {
  const discovery = createServiceDiscovery({
    nodes: [{ name: "manager", address: "127.0.0.1", metricsPort: 9991 }],
  }, { labels: { cluster: "lab" } });
  discovery.addTarget({ name: "sensor-1", address: "10.0.0.7", metricsPort: 9995 });
  assert.equal(
    discovery.json(),
    '[{"targets":["127.0.0.1:9991","10.0.0.7:9995"],"labels":{"cluster":"lab"}}]',
  );
  discovery.addTarget({ name: "sensor-1", address: "10.0.0.8", metricsPort: 9995 });
  assert.deepEqual([...discovery.targets()], [
    ["manager", "127.0.0.1:9991"],
    ["sensor-1", "10.0.0.8:9995"],
  ]);
  assert.equal(discovery.removeTarget("sensor-1"), true);
  assert.equal(discovery.removeTarget("sensor-1"), false);
  assert.equal(discovery.json(), '[{"targets":["127.0.0.1:9991"],"labels":{"cluster":"lab"}}]');
  discovery.addTarget({ name: "manager", address: "127.0.0.1", metricsPort: 0 });
  assert.equal(discovery.json(), '[{"targets":[],"labels":{"cluster":"lab"}}]');
});

Deno.test("a target must be an IP literal; IPv6 gets brackets", () => {
  assert.equal(formatTarget("fe80::1%eth0", 9991), "[fe80::1%eth0]:9991");
  assert.equal(formatTarget("10.1.2.3", 9991), "10.1.2.3:9991");
  assert.throws(
    () => formatTarget("sensor.example", 9991),
    (e) =>
      e instanceof MetricsTargetError &&
      /"sensor.example": it is not an IP address/.test(e.message),
  );
});
