import assert from "node:assert/strict";
import { ConfigError, createStandaloneLayout, isLocalAddress, loadLayout } from "./mod.ts";

async function withConfig(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weir-config-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadLayout allocates zeekctl's ports for the spec's example layout", async () => {
  const nodeCfg =
    `[manager]\ntype=manager\nhost=localhost\n[logger]\ntype=logger\nhost=localhost\n` +
    `[proxy-1]\ntype=proxy\nhost=localhost\n[worker-1]\ntype=worker\nhost=localhost\ninterface=eth0\n`;
  await withConfig({ "node.cfg": nodeCfg }, async (dir) => {
    const layout = await loadLayout(dir);
    assert.deepEqual(layout.forwarder, { address: "127.0.0.1", xpubPort: 27760, xsubPort: 27761 });
    assert.equal(layout.control.port, 27762);
    assert.deepEqual(
      layout.nodes.map((n) => [n.name, n.type, n.port, n.metricsPort]),
      [
        ["manager", "manager", 27763, 9991],
        ["logger", "logger", 27764, 9992],
        ["proxy-1", "proxy", 27765, 9993],
        ["worker-1", "worker", 27766, 9994],
      ],
    );
    assert.equal(layout.managerIsLogger, false);
    assert.deepEqual(layout.nodes[3]!.capture, { method: "af_packet", device: "eth0" });
    assert.equal(layout.nodes[3]!.afPacket.fanoutId, 23);
  });
});

Deno.test("loadLayout expands lb_procs, cycles pin_cpus and reads af_packet keys", async () => {
  const nodeCfg =
    `[manager]\ntype=manager\nhost=127.0.0.1\n[worker]\ntype=worker\nhost=localhost\n` +
    `interface=af_packet::eth1\nlb_method=af_packet\nlb_procs=3\npin_cpus=0,1\n` +
    `af_packet_fanout_mode=AF_Packet::FANOUT_QM\naf_packet_buffer_size=67108864\n`;
  await withConfig(
    { "node.cfg": nodeCfg, "weir.cfg": "MetricsPort = 0\nStopTimeout=5\n" },
    async (dir) => {
      const layout = await loadLayout(dir);
      const workers = layout.nodes.filter((n) => n.type === "worker");
      assert.deepEqual(workers.map((w) => w.name), ["worker-1", "worker-2", "worker-3"]);
      assert.deepEqual(workers.map((w) => w.pinCpu), [0, 1, 0]);
      assert.equal(workers[0]!.afPacket.fanoutMode, "qm");
      assert.equal(workers[0]!.afPacket.bufferSize, 67108864);
      assert.equal(workers[0]!.metricsPort, undefined);
      assert.equal(layout.settings.stopTimeoutSec, 5);
      assert.equal(layout.managerIsLogger, true);
    },
  );
});

Deno.test("loadLayout reports every problem with file, line and value, and starts nothing", async () => {
  const nodeCfg =
    `[manager]\ntype=manager\nhost=localhost\n\n[worker-1]\nhost=localhost\ntype=wroker\n` +
    `[worker-2]\ntype=worker\nhost=localhost\ninterface=eth0\nlb_procs=zero\nlb_method=af_packet\nbogus=1\n`;
  await withConfig(
    {
      "node.cfg": nodeCfg,
      "weir.cfg": "StopTimeout = soon\nColour = blue\n",
      "networks.cfg": "10.0.0.0/33 lab\n",
    },
    async (dir) => {
      const error = await loadLayout(dir).then(() => undefined, (e) => e);
      assert.ok(error instanceof ConfigError, String(error));
      const lines = error.message.split("\n");
      assert.ok(
        lines.includes(
          'node.cfg:7: type must be one of standalone|manager|logger|proxy|worker: current value is "wroker"',
        ),
        error.message,
      );
      assert.ok(
        lines.includes('node.cfg:12: lb_procs must be a positive integer: current value is "zero"'),
      );
      assert.ok(lines.includes('node.cfg:14: unknown key "bogus" in section [worker-2]'));
      assert.ok(
        lines.includes(
          'weir.cfg:1: stoptimeout must be a non-negative integer: current value is "soon"',
        ),
      );
      assert.ok(lines.includes('weir.cfg:2: unknown key "colour"'));
      assert.ok(lines.includes('networks.cfg:1: "10.0.0.0/33" has a bad prefix length (0 to 32)'));
      assert.equal(error.problems.length, 6);
    },
  );
});

Deno.test("loadLayout refuses two interfaces in one fanout group and a missing node.cfg", async () => {
  const nodeCfg =
    `[manager]\ntype=manager\nhost=localhost\n[a]\ntype=worker\nhost=localhost\ninterface=eth0\n` +
    `[b]\ntype=worker\nhost=localhost\ninterface=eth1\n`;
  await withConfig({ "node.cfg": nodeCfg }, async (dir) => {
    await assert.rejects(loadLayout(dir), /same af_packet_fanout_id 23/);
  });
  await withConfig({}, async (dir) => {
    await assert.rejects(loadLayout(dir), /no node\.cfg in/);
  });
});

Deno.test("createStandaloneLayout is manager, logger-1, proxy-1, worker-1, worker-2", async () => {
  const layout = await createStandaloneLayout({ interface: "lo", baseDir: "/tmp" });
  assert.deepEqual(layout.nodes.map((n) => n.name), [
    "manager",
    "logger-1",
    "proxy-1",
    "worker-1",
    "worker-2",
  ]);
  assert.equal(layout.settings.spoolDir, "/tmp/.weir/spool");
});

Deno.test("isLocalAddress uses Zeek's private address space by default", async () => {
  const { localNets } = await createStandaloneLayout({ interface: "lo" });
  for (const local of ["10.1.2.3", "224.0.0.251", "192.168.1.1", "fe80::1", "::1"]) {
    assert.equal(isLocalAddress(localNets, local), true, local);
  }
  for (const remote of ["8.8.8.8", "224.2.127.254", "ff02::1", "2a00::1"]) {
    assert.equal(isLocalAddress(localNets, remote), false, remote);
  }
});
