import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { join } from "node:path";
import {
  ConfigError,
  createStandaloneLayout,
  isLocalAddress,
  type Layout,
  layoutFingerprint,
  loadLayout,
  nodeByName,
  parseDefaultRoute,
  settingsFingerprint,
} from "./mod.ts";

const TESTDATA = new URL("./testdata/", import.meta.url).pathname;

async function withConfig(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weir-config-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function problemsOf(files: Record<string, string>): Promise<string[]> {
  let lines: string[] = [];
  await withConfig(files, async (dir) => {
    const error = await loadLayout(dir).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    lines = error.message.split("\n");
    assert.equal(error.problems.length, lines.length);
  });
  return lines;
}

function ports(layout: Layout): [string, string, number, number | undefined][] {
  return layout.nodes.map((n) => [n.name, n.type, n.port, n.metricsPort]);
}

const MANAGER = "[manager]\ntype=manager\nhost=localhost\n";

Deno.test("the spec's example layout gets zeekctl's ports", async () => {
  const layout = await loadLayout(join(TESTDATA, "spec_example"));
  assert.deepEqual(layout.forwarder, { address: "127.0.0.1", xpubPort: 27760, xsubPort: 27761 });
  assert.deepEqual(layout.control, { address: "127.0.0.1", port: 27762 });
  assert.deepEqual(ports(layout), [
    ["manager", "manager", 27763, 9991],
    ["logger", "logger", 27764, 9992],
    ["proxy-1", "proxy", 27765, 9993],
    ["worker-1", "worker", 27766, 9994],
  ]);
  assert.equal(layout.managerIsLogger, false);
  assert.equal(layout.manager, layout.nodes[0]);
  assert.equal(layout.source, join(TESTDATA, "spec_example"));
  const worker = nodeByName(layout, "worker-1")!;
  assert.deepEqual(worker.capture, { method: "af_packet", device: "eth0" });
  assert.equal(worker.address, "127.0.0.1");
  assert.equal(worker.afPacket.fanoutId, 23);
  assert.equal(nodeByName(layout, "worker-9"), undefined);
  assert.ok(
    Object.isFrozen(layout) && Object.isFrozen(layout.nodes) && Object.isFrozen(worker) &&
      Object.isFrozen(layout.settings) && Object.isFrozen(layout.forwarder) &&
      Object.isFrozen(layout.localNets),
  );
});

Deno.test("zeekctl's default standalone node.cfg runs as a logging manager plus worker-1", async () => {
  const layout = await loadLayout(join(TESTDATA, "standalone"));
  assert.deepEqual(ports(layout), [
    ["zeek", "manager", 27763, 9991],
    ["worker-1", "worker", 27764, 9992],
  ]);
  assert.equal(layout.managerIsLogger, true);
  assert.equal(layout.manager.name, "zeek");
  assert.deepEqual(nodeByName(layout, "worker-1")!.capture, {
    method: "af_packet",
    device: "eth0",
  });
  assert.equal(layout.settings.logDir, join(TESTDATA, "standalone", "logs"));
  assert.equal(isLocalAddress(layout.localNets, "192.168.7.7"), true);
});

Deno.test("manager, proxy and worker: the manager writes the logs", async () => {
  const layout = await loadLayout(join(TESTDATA, "small_cluster"));
  assert.deepEqual(ports(layout), [
    ["manager", "manager", 27763, 9991],
    ["proxy-1", "proxy", 27764, 9992],
    ["worker-1", "worker", 27765, 9993],
  ]);
  assert.equal(layout.managerIsLogger, true);
});

Deno.test("manager, logger, two proxies and lb_procs=4 AF_PACKET workers, with weir.cfg and networks.cfg", async () => {
  const dir = join(TESTDATA, "lb_cluster");
  const layout = await loadLayout(dir);
  assert.deepEqual(layout.forwarder, { address: "127.0.0.1", xpubPort: 28000, xsubPort: 28001 });
  assert.deepEqual(layout.control.port, 28002);
  assert.deepEqual(ports(layout), [
    ["manager", "manager", 28003, 9100],
    ["logger", "logger", 28004, 9101],
    ["proxy-1", "proxy", 28005, 9102],
    ["proxy-2", "proxy", 28006, 9103],
    ["worker-1-1", "worker", 28007, 9104],
    ["worker-1-2", "worker", 28008, 9105],
    ["worker-1-3", "worker", 28009, 9106],
    ["worker-1-4", "worker", 28010, 9107],
  ]);
  const workers = layout.nodes.filter((n) => n.type === "worker");
  assert.deepEqual(workers.map((w) => w.pinCpu), [2, 3, 2, 3]);
  for (const worker of workers) {
    assert.deepEqual(worker.capture, { method: "af_packet", device: "eth1" });
    assert.equal(worker.afPacket.fanoutId, 42);
    assert.equal(worker.afPacket.fanoutMode, "qm");
    assert.equal(worker.afPacket.bufferSize, 64 * 1024 * 1024);
    assert.equal(worker.section, "worker-1");
    // weir.cfg's Env_Vars apply to every node; node.cfg's env_vars win.
    assert.deepEqual(worker.envVars, {
      SENSOR: "east",
      SITE: "lab",
      ZEEK_DNS_RESOLVER: "10.0.0.53",
    });
  }
  assert.deepEqual(layout.manager.envVars, { SENSOR: "default", SITE: "lab" });
  assert.equal(layout.managerIsLogger, false);
  assert.equal(layout.settings.useJson, true);
  assert.equal(layout.settings.logExpireIntervalSec, 30 * 86400);
  assert.equal(layout.settings.spoolDir, join(dir, "spool"));
  assert.equal(isLocalAddress(layout.localNets, "131.243.1.1"), true);
  assert.equal(isLocalAddress(layout.localNets, "2a02:1234::1"), true);
  assert.equal(isLocalAddress(layout.localNets, "172.16.0.1"), true);
  assert.equal(isLocalAddress(layout.localNets, "8.8.8.8"), false);
  assert.equal(layout.localNets[0]!.tag, "Internal");
});

Deno.test("MetricsPort=0 hands out no metrics ports; aux_scripts resolve against SiteDir", async () => {
  await withConfig({
    "node.cfg": MANAGER +
      "[w]\ntype=worker\nhost=::1\ninterface=eth0\naux_scripts=extra.ts /abs/x.ts\n",
    "weir.cfg": "MetricsPort = 0\nSiteDir = /srv/site\n",
  }, async (dir) => {
    const layout = await loadLayout(dir);
    assert.deepEqual(ports(layout), [
      ["manager", "manager", 27763, undefined],
      ["w", "worker", 27764, undefined],
    ]);
    assert.ok(!("metricsPort" in layout.manager));
    const worker = nodeByName(layout, "w")!;
    assert.equal(worker.address, "::1");
    assert.deepEqual(worker.auxScripts, ["/srv/site/extra.ts", "/abs/x.ts"]);
  });
});

Deno.test("host names go through the resolver, preferring IPv4; unresolvable ones are reported", async () => {
  const name = Deno.hostname();
  const expected = await lookup(name, { all: true }).then(
    (all) => (all.find((a) => a.family === 4) ?? all[0])?.address,
    () => undefined,
  );
  if (expected !== undefined) {
    await withConfig({ "node.cfg": `[manager]\ntype=manager\nhost=${name}\n` }, async (dir) => {
      assert.equal((await loadLayout(dir)).manager.address, expected);
    });
  }
  assert.deepEqual(
    await problemsOf({
      "node.cfg": MANAGER + "[w]\ntype=worker\nhost=sensor.invalid\ninterface=eth0\nbogus=1\n",
    }),
    [
      'node.cfg:6: host cannot be resolved (getaddrinfo ENOTFOUND sensor.invalid): current value is "sensor.invalid"; use an IP address or add the name to /etc/hosts',
      'node.cfg:8: unknown key "bogus" in [w]',
    ],
  );
});

Deno.test("a missing node.cfg is a problem, reported with those of the other files", async () => {
  await withConfig(
    { "weir.cfg": "Colour = blue\n", "networks.cfg": "10.0.0.0/40\n" },
    async (dir) => {
      const error = await loadLayout(dir).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.message.split("\n"), [
        `node.cfg: there is no ${
          join(dir, "node.cfg")
        }: write one in zeekctl's node.cfg format, or run without --config for the built-in layout`,
        'weir.cfg:1: unknown key "Colour"',
        'networks.cfg:1: the prefix length of an IPv4 network must be 0 to 32: current value is "10.0.0.0/40"',
      ]);
    },
  );
});

Deno.test("problems in all three files come in one ConfigError, and nothing is returned", async () => {
  assert.deepEqual(
    await problemsOf({
      "node.cfg": MANAGER + "\n[worker-1]\nhost=localhost\ntype=wroker\n",
      "weir.cfg": "StopTimeout = soon\nUseJson = perhaps\n",
      "networks.cfg": "10.0.0.0/8\n300.0.0.0/8 bad\n",
    }),
    [
      'node.cfg:7: type must be one of standalone|manager|logger|proxy|worker: current value is "wroker"',
      'weir.cfg:1: StopTimeout must be a number of seconds, or a number and a unit (msec, sec, min): current value is "soon"',
      'weir.cfg:2: UseJson must be 1 or 0 (also true/false, yes/no, T/F): current value is "perhaps"',
      'networks.cfg:2: "300.0.0.0" is not an IPv4 or IPv6 address: current value is "300.0.0.0/8"',
    ],
  );
});

Deno.test("two interfaces get two fanout groups; one id chosen for two devices is refused", async () => {
  const twoSections = MANAGER +
    "[a]\ntype=worker\nhost=localhost\ninterface=eth0\nlb_method=af_packet\nlb_procs=2\n" +
    "[b]\ntype=worker\nhost=127.0.0.1\ninterface=eth1\nlb_method=af_packet\nlb_procs=2\n";
  await withConfig({ "node.cfg": twoSections }, async (dir) => {
    const ids = (await loadLayout(dir)).nodes.filter((n) => n.type === "worker")
      .map((n) => `${n.name}:${n.capture?.device}:${n.afPacket.fanoutId}`);
    assert.deepEqual(ids, ["a-1:eth0:23", "a-2:eth0:23", "b-1:eth1:24", "b-2:eth1:24"]);
  });
  const chosen = twoSections.replace("lb_procs=2\n[b]", "lb_procs=2\naf_packet_fanout_id=23\n[b]") +
    "af_packet_fanout_id=23\n";
  assert.deepEqual(await problemsOf({ "node.cfg": chosen }), [
    "node.cfg:11: [b] captures on eth1 and [a] at line 4 on eth0, both with af_packet_fanout_id 23 on host 127.0.0.1, but a fanout group spans one device only (the kernel refuses it with EINVAL): give [b] its own group, e.g. af_packet_fanout_id=24",
  ]);
  // An id one section chose is kept; the other moves out of its way.
  await withConfig({ "node.cfg": twoSections + "af_packet_fanout_id=23\n" }, async (dir) => {
    const b1 = (await loadLayout(dir)).nodes.find((n) => n.name === "b-1")!;
    const a1 = (await loadLayout(dir)).nodes.find((n) => n.name === "a-1")!;
    assert.equal(b1.afPacket.fanoutId, 23);
    assert.equal(a1.afPacket.fanoutId, 24);
  });
  for (
    const fixed of [
      `${twoSections}af_packet_enable_fanout=0\n`,
      twoSections.replace("interface=eth1", "interface=eth0"),
    ]
  ) {
    await withConfig({ "node.cfg": fixed }, async (dir) => {
      assert.equal((await loadLayout(dir)).nodes.length, 5, fixed);
    });
  }
  assert.deepEqual(
    await problemsOf({
      "node.cfg": MANAGER +
        "[a]\ntype=worker\nhost=localhost\ninterface=eth0\n" +
        "[b]\ntype=worker\nhost=localhost\ninterface=eth0\naf_packet_fanout_mode=FANOUT_QM\n",
    }),
    [
      "node.cfg:8: [b] joins fanout group 23 on eth0 with FANOUT_QM, but [a] at line 4 uses FANOUT_HASH: one group has one mode and one defrag setting; use the same af_packet_fanout_mode and af_packet_enable_defrag, or give [b] its own group, e.g. af_packet_fanout_id=24",
    ],
  );
});

Deno.test("lb_method=interfaces with fanout forced on gives each interface its own group", async () => {
  await withConfig({
    "node.cfg": MANAGER +
      "[tap]\ntype=worker\nhost=localhost\nlb_method=interfaces\nlb_procs=2\nlb_interfaces=eth1,eth2\naf_packet_enable_fanout=T\n",
  }, async (dir) => {
    const ids = (await loadLayout(dir)).nodes.filter((n) => n.type === "worker")
      .map((n) => `${n.capture?.device}:${n.afPacket.fanoutId}`);
    assert.deepEqual(ids, ["eth1:23", "eth2:24"]);
  });
});

Deno.test("an unreadable file is a problem too", async () => {
  await withConfig({ "node.cfg": MANAGER }, async (dir) => {
    await Deno.mkdir(join(dir, "weir.cfg"));
    const error = await loadLayout(dir).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 1);
    assert.match(error.message, new RegExp(`^weir.cfg: cannot read ${join(dir, "weir.cfg")}: `));
  });
});

Deno.test("ports past 65535 and overlapping port ranges are refused", async () => {
  const cluster = MANAGER +
    "[w]\ntype=worker\nhost=localhost\ninterface=eth0\nlb_method=af_packet\nlb_procs=8\n";
  assert.deepEqual(
    await problemsOf({
      "node.cfg": cluster,
      "weir.cfg": "ZeekPort = 65528\nMetricsPort = 65530\n",
    }),
    [
      "weir.cfg:1: ZeekPort 65528 leaves too few ports: the forwarder, control and 9 nodes need ports 65528 to 65539, past 65535; lower ZeekPort",
      "weir.cfg:2: MetricsPort 65530 leaves too few ports: 9 nodes need ports 65530 to 65538, past 65535; lower MetricsPort, or set it to 0",
    ],
  );
  assert.deepEqual(
    await problemsOf({
      "node.cfg": cluster,
      "weir.cfg": "MetricsPort = 27765\nWebSocketPort = 27762\n",
    }),
    [
      "weir.cfg:1: 7 ports from 27765 to 27771 on 127.0.0.1 are given twice (the first to the metrics of manager and to node w-2): change ZeekPort or MetricsPort so the ranges do not overlap",
      "weir.cfg:2: port 27762 on 127.0.0.1 is given twice, to control (ZeekPort+2) and to WebSocketPort: change ZeekPort or WebSocketPort so the ranges do not overlap",
    ],
  );
});

Deno.test("LogTransport = nats with JSON lines and loggers is refused: loggers read zeek-bin", async () => {
  const cluster = MANAGER + "[logger-1]\ntype=logger\nhost=localhost\n";
  assert.deepEqual(
    await problemsOf({
      "node.cfg": cluster,
      "weir.cfg": "LogTransport = nats\nNatsFormat = json\n",
    }),
    [
      "weir.cfg: NatsFormat = json cannot feed loggers: they consume zeek-bin batches; set NatsFormat = zeek-bin, or remove the loggers from node.cfg and let other consumers read the JSON lines",
    ],
  );
  // Logger-less: the manager publishes too, and nobody writes files.
  await withConfig(
    { "node.cfg": MANAGER, "weir.cfg": "LogTransport = nats\nNatsFormat = json\n" },
    async (dir) => {
      const layout = await loadLayout(dir);
      assert.equal(layout.settings.nats.format, "json");
    },
  );
});

Deno.test("the built-in layout: manager, logger-1, proxy-1, worker-1, worker-2 on localhost", async () => {
  const layout = await createStandaloneLayout({ interface: "lo", baseDir: "/tmp/weir-base" });
  assert.equal(layout.source, "built-in");
  assert.deepEqual(ports(layout), [
    ["manager", "manager", 27763, 9991],
    ["logger-1", "logger", 27764, 9992],
    ["proxy-1", "proxy", 27765, 9993],
    ["worker-1", "worker", 27766, 9994],
    ["worker-2", "worker", 27767, 9995],
  ]);
  assert.deepEqual(layout.forwarder, { address: "127.0.0.1", xpubPort: 27760, xsubPort: 27761 });
  assert.equal(layout.managerIsLogger, false);
  // The log writers' acknowledgement ports go down from ZeekPort-2.
  assert.deepEqual(layout.nodes.map((n) => n.ackPort), [
    undefined,
    27758,
    undefined,
    undefined,
    undefined,
  ]);
  assert.deepEqual(
    layout.nodes.map((n) => n.capture),
    [undefined, undefined, undefined, { method: "af_packet", device: "lo" }, {
      method: "af_packet",
      device: "lo",
    }],
  );
  assert.equal(layout.settings.logDir, "/tmp/weir-base/.weir/logs");
  assert.equal(layout.settings.spoolDir, "/tmp/weir-base/.weir/spool");
  assert.equal(layout.settings.controlTokenFile, "/tmp/weir-base/.weir/spool/control.token");
  assert.equal(isLocalAddress(layout.localNets, "10.1.2.3"), true);
  assert.equal(isLocalAddress(layout.localNets, "8.8.8.8"), false);
  assert.ok(Object.isFrozen(layout) && Object.isFrozen(layout.settings));
});

Deno.test("the built-in layout takes settings, pcap:: interfaces, and refuses a bad interface", async () => {
  const layout = await createStandaloneLayout({
    interface: "pcap::eth0",
    baseDir: "/tmp/weir-base",
    settings: { zeekPort: 40000, metricsPort: 0, spoolDir: "/run/weir" },
  });
  assert.deepEqual(ports(layout).map(([name, , port, metrics]) => [name, port, metrics]), [
    ["manager", 40003, undefined],
    ["logger-1", 40004, undefined],
    ["proxy-1", 40005, undefined],
    ["worker-1", 40006, undefined],
    ["worker-2", 40007, undefined],
  ]);
  assert.deepEqual(layout.nodes[3]!.capture, { method: "pcap", device: "eth0" });
  assert.equal(layout.settings.controlTokenFile, "/run/weir/control.token");
  const error = await createStandaloneLayout({ interface: "eth0,eth1" }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof ConfigError);
  assert.match(
    error.message,
    /^--interface: interface must name one network device .*current value is "eth0,eth1"$/,
  );
});

Deno.test("parseDefaultRoute picks the lowest-metric default route that is up", () => {
  const header =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
  const row = (iface: string, dest: string, flags: string, metric: number, mask: string) =>
    `${iface}\t${dest}\t010200C0\t${flags}\t0\t0\t${metric}\t${mask}\t0\t0\t0\n`;
  assert.equal(
    parseDefaultRoute(
      header + row("eth0", "000200C0", "0001", 0, "00FFFFFF") +
        row("wlan0", "00000000", "0003", 600, "00000000") +
        row("eth1", "00000000", "0003", 100, "00000000") +
        row("eth2", "00000000", "0002", 0, "00000000"),
    ),
    "eth1",
  );
  assert.equal(
    parseDefaultRoute(header + row("eth0", "000200C0", "0001", 0, "00FFFFFF")),
    undefined,
  );
  assert.equal(parseDefaultRoute(""), undefined);
});

Deno.test("layoutFingerprint changes with what needs a restart and only with that", async () => {
  const layout = await createStandaloneLayout({ interface: "lo", baseDir: "/tmp/weir-base" });
  const worker = nodeByName(layout, "worker-1")!;
  const same = { ...worker, section: "renamed", host: "127.0.0.1" };
  assert.equal(layoutFingerprint(same), layoutFingerprint(worker));
  const reordered = Object.fromEntries(Object.entries(worker).reverse()) as typeof worker;
  assert.equal(layoutFingerprint(reordered), layoutFingerprint(worker));
  for (
    const changed of [
      { ...worker, port: worker.port + 1 },
      { ...worker, capture: { method: "af_packet" as const, device: "eth9" } },
      { ...worker, afPacket: { ...worker.afPacket, fanoutId: 99 } },
      { ...worker, envVars: { A: "1" } },
      { ...worker, pinCpu: 3 },
    ]
  ) {
    assert.notEqual(layoutFingerprint(changed), layoutFingerprint(worker));
  }
  const other = await createStandaloneLayout({
    interface: "lo",
    baseDir: "/tmp/weir-base",
    settings: { stopTimeoutSec: 5 },
  });
  assert.notEqual(settingsFingerprint(other.settings), settingsFingerprint(layout.settings));
  assert.equal(
    settingsFingerprint(layout.settings),
    settingsFingerprint(
      (await createStandaloneLayout({ interface: "lo", baseDir: "/tmp/weir-base" })).settings,
    ),
  );
});
