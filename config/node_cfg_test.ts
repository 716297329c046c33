import assert from "node:assert/strict";
import { ConfigError, Problems } from "./errors.ts";
import { DEFAULT_AF_PACKET_SETTINGS } from "../capture/af_packet_settings.ts";
import { type NodeCfg, parseCaptureInterface, parseNodeCfg } from "./node_cfg.ts";

function parse(text: string): { cfg: NodeCfg; problems: string[] } {
  const problems = new Problems();
  const cfg = parseNodeCfg(text, "node.cfg", problems);
  try {
    problems.throwIfAny();
    return { cfg, problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { cfg, problems: error.message.split("\n") };
    throw error;
  }
}

/** node.cfg text from sections given as objects, one key per line, sections in order. */
function cfg(sections: Record<string, Record<string, string>>): string {
  return Object.entries(sections)
    .map(([name, keys]) =>
      [`[${name}]`, ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)].join("\n")
    )
    .join("\n");
}

const MANAGER = { type: "manager", host: "localhost" };

function problemsOf(text: string): string[] {
  const { problems } = parse(text);
  assert.notEqual(problems.length, 0, "expected problems");
  return problems;
}

Deno.test("parseCaptureInterface reads Zeek's interface strings", () => {
  assert.deepEqual(parseCaptureInterface("eth1"), { method: "af_packet", device: "eth1" });
  assert.deepEqual(parseCaptureInterface("af_packet::eth1"), {
    method: "af_packet",
    device: "eth1",
  });
  assert.deepEqual(parseCaptureInterface("AF_Packet::eth1"), {
    method: "af_packet",
    device: "eth1",
  });
  assert.deepEqual(parseCaptureInterface("pcap::eth1"), { method: "pcap", device: "eth1" });
  assert.deepEqual(parseCaptureInterface("enp0s31f6.100"), {
    method: "af_packet",
    device: "enp0s31f6.100",
  });
  assert.equal(
    parseCaptureInterface("xdp::eth1"),
    'must be a device name, af_packet::<device> or pcap::<device> (weir has no "xdp" packet source)',
  );
  assert.match(parseCaptureInterface("eth0,eth1") as string, /use lb_method=interfaces/);
  assert.match(parseCaptureInterface("af_packet::") as string, /must name one network device/);
  assert.match(parseCaptureInterface("a-very-long-name0") as string, /at most 15 characters/);
});

Deno.test("lb_procs expands a worker into <name>-1..N with pin_cpus reused cyclically", () => {
  const { cfg: parsed, problems } = parse(cfg({
    manager: MANAGER,
    worker: {
      type: "worker",
      host: "localhost",
      interface: "eth1",
      lb_method: "af_packet",
      lb_procs: "5",
      pin_cpus: "2, 3",
    },
  }));
  assert.deepEqual(problems, []);
  const workers = parsed.nodes.filter((n) => n.type === "worker");
  assert.deepEqual(workers.map((w) => w.name), [
    "worker-1",
    "worker-2",
    "worker-3",
    "worker-4",
    "worker-5",
  ]);
  assert.deepEqual(workers.map((w) => w.pinCpu), [2, 3, 2, 3, 2]);
  assert.ok(workers.every((w) => w.section === "worker" && w.capture?.device === "eth1"));
  assert.deepEqual(workers[0]!.afPacket, DEFAULT_AF_PACKET_SETTINGS);
});

Deno.test("every af_packet_* key is read, in Zeek's spellings", () => {
  const { cfg: parsed, problems } = parse(cfg({
    manager: MANAGER,
    w: {
      type: "worker",
      host: "localhost",
      interface: "af_packet::eth2",
      "af_packet.buffer_size": "256*1024*1024",
      af_packet_block_size: "1048576",
      af_packet_block_timeout: "100msec",
      af_packet_fanout_id: "7",
      af_packet_fanout_mode: "AF_Packet::FANOUT_ROLLOVER",
      af_packet_enable_defrag: "T",
      af_packet_enable_fanout: "yes",
      af_packet_enable_hw_timestamping: "1",
      af_packet_link_type: "113",
      af_packet_checksum_validation_mode: "CHECKSUM_KERNEL",
    },
  }));
  assert.deepEqual(problems, []);
  assert.deepEqual(parsed.nodes[1]!.afPacket, {
    bufferSize: 268435456,
    blockSize: 1048576,
    blockTimeoutMs: 100,
    fanoutId: 7,
    fanoutMode: "rollover",
    enableFanout: true,
    enableDefrag: true,
    enableHwTimestamping: true,
    linkType: 113,
    checksumValidation: "kernel",
  });
  assert.ok(Object.isFrozen(parsed.nodes[1]!.afPacket));
});

Deno.test("Zeek's AF_PACKET defaults: hash, id 23, 128 MiB, 32 KiB blocks, 10 ms, Ethernet, checksums on", () => {
  assert.deepEqual(DEFAULT_AF_PACKET_SETTINGS, {
    bufferSize: 128 * 1024 * 1024,
    blockSize: 32 * 1024,
    blockTimeoutMs: 10,
    fanoutId: 23,
    fanoutMode: "hash",
    enableFanout: true,
    enableDefrag: false,
    enableHwTimestamping: false,
    linkType: 1,
    checksumValidation: "on",
  });
  const modes = [
    "FANOUT_HASH",
    "FANOUT_QM",
    "FANOUT_CPU",
    "FANOUT_LB",
    "FANOUT_ROLLOVER",
    "FANOUT_RND",
  ];
  const parsed = modes.map((mode) =>
    parse(cfg({
      manager: MANAGER,
      w: { type: "worker", host: "localhost", interface: "eth0", af_packet_fanout_mode: mode },
    })).cfg.nodes[1]!.afPacket.fanoutMode
  );
  assert.deepEqual(parsed, ["hash", "qm", "cpu", "lb", "rollover", "rnd"]);
});

Deno.test("nodes come out in zeekctl's order: manager, loggers, proxies, workers, file order within", () => {
  const { cfg: parsed, problems } = parse(cfg({
    "worker-b": { type: "worker", host: "localhost", interface: "eth0" },
    "proxy-1": { type: "proxy", host: "localhost" },
    "worker-a": { type: "worker", host: "localhost", interface: "eth0" },
    "logger-2": { type: "logger", host: "localhost" },
    manager: MANAGER,
    "logger-1": { type: "logger", host: "localhost" },
  }));
  assert.deepEqual(problems, []);
  assert.deepEqual(parsed.nodes.map((n) => n.name), [
    "manager",
    "logger-2",
    "logger-1",
    "proxy-1",
    "worker-b",
    "worker-a",
  ]);
  assert.equal(parsed.standalone, false);
  assert.ok(Object.isFrozen(parsed.nodes) && Object.isFrozen(parsed.nodes[0]));
});

Deno.test("type=standalone becomes a manager that logs plus worker-1 on its interface", () => {
  const { cfg: parsed, problems } = parse(
    "[zeek]\ntype=standalone\nhost=localhost\ninterface=eth3\npin_cpus=1\naf_packet_fanout_id=9\n",
  );
  assert.deepEqual(problems, []);
  assert.equal(parsed.standalone, true);
  assert.deepEqual(
    parsed.nodes.map((n) => [n.name, n.type, n.capture?.device, n.pinCpu, n.afPacket.fanoutId]),
    [["zeek", "manager", undefined, undefined, 9], ["worker-1", "worker", "eth3", 1, 9]],
  );
});

Deno.test("lb_method=interfaces gives each process one device, in list order, fanout off unless asked", () => {
  const { cfg: parsed, problems } = parse(cfg({
    manager: MANAGER,
    tap: {
      type: "worker",
      host: "localhost",
      lb_method: "interfaces",
      lb_procs: "3",
      lb_interfaces: "eth1, pcap::eth2,af_packet::eth3",
    },
    span: {
      type: "worker",
      host: "localhost",
      lb_method: "interfaces",
      lb_procs: "2",
      lb_interfaces: "eth4,eth4",
      af_packet_enable_fanout: "1",
      af_packet_fanout_id: "30",
    },
  }));
  assert.deepEqual(problems, []);
  assert.deepEqual(
    parsed.nodes.slice(1).map((
      n,
    ) => [n.name, n.capture?.method, n.capture?.device, n.afPacket.enableFanout]),
    [
      ["tap-1", "af_packet", "eth1", false],
      ["tap-2", "pcap", "eth2", false],
      ["tap-3", "af_packet", "eth3", false],
      ["span-1", "af_packet", "eth4", true],
      ["span-2", "af_packet", "eth4", true],
    ],
  );
});

Deno.test("lb_method=custom runs lb_procs processes on the one interface; env_vars, aux_scripts, zone_id kept", () => {
  const { cfg: parsed, problems } = parse(cfg({
    manager: { ...MANAGER, zeekbase: "/opt/zeek", ether: "00:11:22:33:44:55" },
    w: {
      type: "worker",
      host: "fe80::1",
      zone_id: "eth0",
      interface: "pcap::eth0",
      lb_method: "custom",
      lb_procs: "2",
      env_vars: "A=1,B=2",
      aux_scripts: "extra.ts more.ts",
    },
  }));
  assert.deepEqual(problems, []);
  const [w1, w2] = parsed.nodes.slice(1);
  assert.deepEqual([w1!.name, w2!.name], ["w-1", "w-2"]);
  assert.deepEqual(w2!.capture, { method: "pcap", device: "eth0" });
  assert.deepEqual(w1!.envVars, { A: "1", B: "2" });
  assert.deepEqual(w1!.auxScripts, ["extra.ts", "more.ts"]);
  assert.equal(w1!.zoneId, "eth0");
  assert.equal(w1!.pinCpu, undefined);
});

Deno.test("problems: type", () => {
  assert.deepEqual(
    problemsOf(
      "[manager]\ntype=manager\nhost=localhost\n\n[worker-1]\nhost=localhost\ntype=wroker\n",
    ),
    [
      'node.cfg:7: type must be one of standalone|manager|logger|proxy|worker: current value is "wroker"',
    ],
  );
  assert.deepEqual(
    problemsOf(cfg({ manager: MANAGER, w: { host: "localhost", interface: "eth0" } })),
    [
      "node.cfg:4: [w] has no type: add type=standalone|manager|logger|proxy|worker",
    ],
  );
});

Deno.test("problems: host and interface", () => {
  assert.deepEqual(
    problemsOf(cfg({ manager: MANAGER, w: { type: "worker", interface: "eth0" } })),
    [
      "node.cfg:4: [w] has no host: add host=localhost, or the name or address of the machine it runs on",
    ],
  );
  assert.deepEqual(
    problemsOf(cfg({ manager: MANAGER, w: { type: "worker", host: "localhost" } })),
    [
      "node.cfg:4: [w] is a worker but has no interface: add interface=<device> (e.g. eth0, af_packet::eth0 or pcap::eth0)",
    ],
  );
  assert.deepEqual(
    problemsOf(
      cfg({
        manager: MANAGER,
        w: { type: "worker", host: "localhost", interface: "pf_ring::eth0" },
      }),
    ),
    [
      'node.cfg:7: interface must be a device name, af_packet::<device> or pcap::<device> (weir has no "pf_ring" packet source): current value is "pf_ring::eth0"',
    ],
  );
  assert.deepEqual(problemsOf("[zeek]\ntype=standalone\nhost=localhost\n"), [
    "node.cfg:1: [zeek] is type=standalone but has no interface: add interface=<device> (its worker captures there)",
  ]);
});

Deno.test("problems: lb_procs and lb_method", () => {
  const worker = { type: "worker", host: "localhost", interface: "eth0" };
  const lines = (keys: Record<string, string>) =>
    problemsOf(cfg({ manager: MANAGER, w: { ...worker, ...keys } }));
  assert.deepEqual(lines({ lb_method: "af_packet", lb_procs: "zero" }), [
    'node.cfg:9: lb_procs must be a positive integer (the number of worker processes, at most 4096): current value is "zero"',
  ]);
  assert.deepEqual(lines({ lb_method: "af_packet", lb_procs: "0" }), [
    'node.cfg:9: lb_procs must be a positive integer (the number of worker processes, at most 4096): current value is "0"',
  ]);
  assert.deepEqual(lines({ lb_procs: "4" }), [
    'node.cfg:8: lb_procs needs lb_method=af_packet, custom or interfaces: current value is "4"',
  ]);
  assert.deepEqual(lines({ lb_method: "af_packet" }), [
    'node.cfg:8: lb_method needs lb_procs, the number of worker processes: current value is "af_packet"',
  ]);
  assert.deepEqual(lines({ lb_method: "pf_ring", lb_procs: "4" }), [
    `node.cfg:8: lb_method is not supported by weir (it needs Zeek's PF_RING plugin): current value is "pf_ring"; use lb_method=af_packet`,
  ]);
  assert.deepEqual(lines({ lb_method: "myricom", lb_procs: "4" }), [
    `node.cfg:8: lb_method is not supported by weir (it needs Zeek's Myricom plugin): current value is "myricom"; use lb_method=af_packet`,
  ]);
  assert.deepEqual(lines({ lb_method: "xdp", lb_procs: "4" }), [
    'node.cfg:8: lb_method must be one of af_packet|custom|interfaces: current value is "xdp"',
  ]);
  assert.deepEqual(lines({ lb_method: "interfaces", lb_procs: "3", lb_interfaces: "eth1,eth2" }), [
    'node.cfg:10: lb_interfaces must list exactly 3 devices, one per process (lb_procs=3), and it lists 2: current value is "eth1,eth2"',
  ]);
  assert.deepEqual(lines({ lb_method: "interfaces", lb_procs: "2" }), [
    'node.cfg:8: lb_method needs lb_interfaces listing 2 devices, one per process (lb_procs=2): current value is "interfaces"',
  ]);
  assert.deepEqual(lines({ lb_method: "af_packet", lb_procs: "2", lb_interfaces: "eth1,eth2" }), [
    'node.cfg:10: lb_interfaces applies only with lb_method=interfaces: current value is "eth1,eth2"',
  ]);
  assert.deepEqual(lines({ interface: "pcap::eth0", lb_method: "af_packet", lb_procs: "2" }), [
    'node.cfg:7: interface must be an AF_PACKET device with lb_method=af_packet: current value is "pcap::eth0"; drop the pcap:: prefix',
  ]);
  assert.deepEqual(
    problemsOf(cfg({ manager: { ...MANAGER, lb_procs: "2", lb_method: "af_packet" } })),
    [
      'node.cfg:4: lb_procs applies only to workers, and [manager] is a manager: current value is "2"',
      'node.cfg:5: lb_method applies only to workers, and [manager] is a manager: current value is "af_packet"',
    ],
  );
});

Deno.test("problems: bad af_packet values, pin_cpus and env_vars", () => {
  const text = cfg({
    manager: MANAGER,
    w: {
      type: "worker",
      host: "localhost",
      interface: "eth0",
      af_packet_fanout_id: "70000",
      af_packet_fanout_mode: "FANOUT_X",
      af_packet_enable_defrag: "maybe",
      af_packet_block_size: "5000",
      af_packet_buffer_size: "4096",
      af_packet_block_timeout: "soon",
      af_packet_checksum_validation_mode: "CHECKSUM_MAYBE",
      af_packet_link_type: "-1",
      pin_cpus: "0,a",
      env_vars: "NOEQUALS",
    },
  });
  assert.deepEqual(problemsOf(text), [
    'node.cfg:8: af_packet_fanout_id must be a fanout group id from 0 to 65535: current value is "70000"',
    'node.cfg:9: af_packet_fanout_mode must be one of FANOUT_HASH|FANOUT_QM|FANOUT_CPU|FANOUT_LB|FANOUT_ROLLOVER|FANOUT_RND: current value is "FANOUT_X"',
    'node.cfg:10: af_packet_enable_defrag must be 1 or 0 (also true/false, yes/no, T/F): current value is "maybe"',
    'node.cfg:11: af_packet_block_size must be a positive number of bytes that is a multiple of the page size, 4096: current value is "5000"',
    'node.cfg:12: af_packet_buffer_size must hold at least one block of af_packet_block_size (32768 bytes): current value is "4096"',
    'node.cfg:13: af_packet_block_timeout must be a number of milliseconds, or a number and a unit (usec, msec, sec): current value is "soon"',
    'node.cfg:14: af_packet_checksum_validation_mode must be one of CHECKSUM_ON|CHECKSUM_OFF|CHECKSUM_KERNEL: current value is "CHECKSUM_MAYBE"',
    'node.cfg:15: af_packet_link_type must be a link-layer type number (1 is Ethernet): current value is "-1"',
    'node.cfg:16: pin_cpus must be a comma-separated list of CPU numbers (e.g. 2,3,4,5): current value is "0,a"',
    'node.cfg:17: env_vars must be comma-separated NAME=value pairs (e.g. A=1,B=2): current value is "NOEQUALS"',
  ]);
});

Deno.test("problems: unknown and repeated keys, sections, names", () => {
  assert.deepEqual(
    problemsOf(cfg({
      manager: MANAGER,
      w: { type: "worker", host: "localhost", intreface: "eth0", interface: "eth0", bogus: "1" },
    })),
    [
      'node.cfg:7: unknown key "intreface" in [w] (did you mean "interface"?)',
      'node.cfg:9: unknown key "bogus" in [w]',
    ],
  );
  assert.deepEqual(problemsOf("[manager]\ntype=manager\nhost=localhost\nHost=127.0.0.1\n"), [
    "node.cfg:4: Host is set twice in [manager] (first at line 3): keep one",
  ]);
  assert.deepEqual(
    problemsOf(
      "[manager]\ntype=manager\nhost=localhost\n[p]\ntype=proxy\nhost=localhost\n[P]\ntype=proxy\nhost=localhost\n",
    ),
    ["node.cfg:7: section [P] is defined twice (first at line 4): rename or remove one"],
  );
  assert.deepEqual(
    problemsOf(cfg({
      manager: MANAGER,
      "worker-2": { type: "worker", host: "localhost", interface: "eth0" },
      worker: {
        type: "worker",
        host: "localhost",
        interface: "eth0",
        lb_method: "af_packet",
        lb_procs: "3",
      },
    })),
    [
      'node.cfg:8: node name "worker-2" is used twice, by [worker-2] at line 4 and by [worker] at line 8, expanded from lb_procs: rename one section',
    ],
  );
  assert.deepEqual(
    problemsOf(cfg({ manager: MANAGER, control: { type: "proxy", host: "localhost" } })),
    [
      'node.cfg:4: the section name "control" is reserved for the layout\'s control endpoint: rename [control]',
    ],
  );
  assert.deepEqual(
    problemsOf(cfg({ manager: MANAGER, "my proxy": { type: "proxy", host: "localhost" } })),
    [
      'node.cfg:4: a section name may hold only letters, digits, ".", "-" and "_" (it names a process, a directory and a topic): current value is "my proxy"',
    ],
  );
});

Deno.test("problems: exactly one manager, or a lone standalone node", () => {
  assert.deepEqual(problemsOf(cfg({ p: { type: "proxy", host: "localhost" } })), [
    "node.cfg:1: no section has type=manager: add one (every cluster has exactly one manager)",
  ]);
  assert.deepEqual(
    problemsOf(cfg({ manager: MANAGER, boss: MANAGER })),
    ["node.cfg:4: [boss] is a second manager (the first is [manager] at line 1): a cluster has exactly one manager"],
  );
  assert.deepEqual(
    problemsOf(
      cfg({ zeek: { type: "standalone", host: "localhost", interface: "eth0" }, manager: MANAGER }),
    ),
    [
      "node.cfg:1: [zeek] is type=standalone, which must be the only node, but node.cfg also defines [manager]: remove them, or make [zeek] a manager",
    ],
  );
  assert.deepEqual(problemsOf("[worker-1]\ntype=standalone\nhost=localhost\ninterface=eth0\n"), [
    "node.cfg:1: a type=standalone section cannot be named [worker-1]: weir names its worker worker-1; rename the section",
  ]);
  assert.deepEqual(problemsOf("# nothing yet\n"), [
    "node.cfg: defines no nodes: add a [manager] section (type=manager) and workers, or one type=standalone node",
  ]);
});

Deno.test("several problems in one file are all reported, in line order", () => {
  const text = [
    "[manager]", // 1
    "type=manager", // 2
    "host=localhost", // 3
    "[worker-1]", // 4
    "host=localhost", // 5
    "type=wroker", // 6
    "[worker-2]", // 7
    "type=worker", // 8
    "host=localhost", // 9
    "interface=eth0", // 10
    "lb_procs=-2", // 11
    "lb_method=af_packet", // 12
    "bogus=1", // 13
    "[worker-3]", // 14
    "type=worker", // 15
    "af_packet_fanout_mode=FANOUT_MAYBE", // 16
  ].join("\n");
  assert.deepEqual(problemsOf(text), [
    'node.cfg:6: type must be one of standalone|manager|logger|proxy|worker: current value is "wroker"',
    'node.cfg:11: lb_procs must be a positive integer (the number of worker processes, at most 4096): current value is "-2"',
    'node.cfg:13: unknown key "bogus" in [worker-2]',
    "node.cfg:14: [worker-3] has no host: add host=localhost, or the name or address of the machine it runs on",
    "node.cfg:14: [worker-3] is a worker but has no interface: add interface=<device> (e.g. eth0, af_packet::eth0 or pcap::eth0)",
    'node.cfg:16: af_packet_fanout_mode must be one of FANOUT_HASH|FANOUT_QM|FANOUT_CPU|FANOUT_LB|FANOUT_ROLLOVER|FANOUT_RND: current value is "FANOUT_MAYBE"',
  ]);
});

Deno.test("websocket_port gives one node its own WebSocket entry point; lb_procs sections cannot share one", () => {
  const { cfg: ok, problems } = parse(cfg({
    manager: MANAGER,
    "proxy-1": { type: "proxy", host: "localhost", websocket_port: "27800" },
  }));
  assert.deepEqual(problems, []);
  assert.equal(ok.nodes.find((n) => n.name === "proxy-1")?.webSocketPort, 27800);
  const shared = problemsOf(cfg({
    manager: MANAGER,
    worker: {
      type: "worker",
      host: "localhost",
      interface: "eth0",
      lb_method: "af_packet",
      lb_procs: "2",
      websocket_port: "27800",
    },
  }));
  assert.equal(shared.length, 1);
  assert.match(shared[0]!, /websocket_port.*cannot be shared by the lb_procs processes/);
  assert.match(
    problemsOf(cfg({ manager: { ...MANAGER, websocket_port: "http" } }))[0]!,
    /websocket_port must be a TCP port/,
  );
});

Deno.test("problems: a control character (a NUL byte) is named with its line and column, not taken as the value", () => {
  assert.deepEqual(
    problemsOf(
      "[manager]\ntype=manager\nhost=localhost\n[w]\ntype=worker\ninterface=et\0h0\nhost=localhost\n",
    ),
    [
      "node.cfg:4: [w] is a worker but has no interface: add interface=<device> (e.g. eth0, af_packet::eth0 or pcap::eth0)",
      "node.cfg:6: the line holds a control character (byte 0x00, a NUL) at column 13: the file must be plain text; remove it",
    ],
  );
  assert.deepEqual(
    problemsOf(
      "[manager]\ntype=manager\nhost=localhost\n[w]\ntype=worker\nhost=localhost\ninterface=eth0\nlb_procs=2\x1b[2J\n",
    ),
    [
      "node.cfg:8: the line holds a control character (byte 0x1b) at column 11: the file must be plain text; remove it",
    ],
  );
});
