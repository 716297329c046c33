/**
 * Beyond one host, measured between two network namespaces on a bridge
 * (a control host and a sensor, `testing/fleet_lab.ts`):
 *
 * - bus events/s from the sensor to the control host through the central
 *   forwarder, with CURVE (a key per node, the ZAP handler checking each)
 *   and without, in one run; target CURVE ≥ 0.7 × plaintext;
 * - log records/s (conn.log rows) from a worker's shipper on the sensor to a
 *   logger writing its file on the control host, the same two ways;
 * - the time from `weir join` on the sensor to all its nodes ready (the
 *   manager up on the control host), first with enrolment, then a rejoin;
 *   target ≤ 2 s on an idle machine.
 *
 *   deno run -A bench/fleet.ts                 # prints the table (root: namespaces)
 *   deno run -A bench/fleet.ts ROLE …          (internal)
 */

import { median } from "./_figures.ts";
import { lineReader } from "./_lines.ts";
import { receiveRecords, shipRecords } from "./logging.ts";
import {
  type CurveKeyPair,
  curveKeyPair,
  ZmqCheckedForwarder,
  ZmqContext,
  ZmqForwarder,
  type ZmqSocket,
} from "../ffi/mod.ts";
import { ByteWriter, encodeEvent } from "../mod/codec/mod.ts";
import { Bus, ZapHandler } from "../mod/bus/mod.ts";
import { T } from "../zeek/mod.ts";
import { FleetLab, labUnavailable } from "../testing/mod.ts";

const TOPIC = "zeek.bench.events.";
const ZEEK_PORT = 27760;
const LOG_PORT = 27790;
/** Events per bus round, records per log round. */
export const DEFAULT_FLEET_EVENTS = 300_000;
/** Records per log round. */
const RECORDS = 500_000;
const ROUNDS = 3;

interface Keys {
  readonly server: CurveKeyPair;
  readonly sender: CurveKeyPair;
  readonly receiver: CurveKeyPair;
}

/** The control host's end: forwarder (and log PULL), CURVE with a ZAP handler when keys are given. */
async function controlSide(address: string, keys: Keys | undefined, n: number, what: string) {
  await using zmq = new ZmqContext({ ioThreads: 2 });
  const ipcDir = await Deno.makeTempDir({ prefix: "weir-bench-bus-" });
  const allowed = new Set(
    keys === undefined ? [] : [keys.sender.publicKey, keys.receiver.publicKey],
  );
  await using _zap = keys === undefined
    ? undefined
    : ZapHandler.open(zmq, (r) =>
      allowed.has(r.publicKey) ? { userId: "node" } : { refused: "unknown key" });
  const forwarderOptions = {
    xpub: `tcp://${address}:${ZEEK_PORT}`,
    xsub: `tcp://${address}:${ZEEK_PORT + 1}`,
    configure: (socket: ZmqSocket, side: "xpub" | "xsub") => {
      if (keys === undefined) return;
      // As the manager does: the control host's nodes over IPC, the network over CURVE.
      socket.bind(`ipc://${ipcDir}/${side}`);
      socket.setCurveServer(keys.server.secretKey, "weir");
    },
  };
  // As the manager runs it: the closed bus's forwarder checks every sender id.
  await using _forwarder = keys === undefined
    ? ZmqForwarder.open(zmq, forwarderOptions)
    : ZmqCheckedForwarder.open(zmq, {
      ...forwarderOptions,
      rule: { prefix: "zeromq_", suffix: "_", trusted: [], names: ["node"] },
    });
  if (what === "bus") {
    // The receiver is a node of the control host (a proxy, the manager, a logger).
    await using bus = Bus.open(zmq, {
      nodeId: "bench-receiver",
      connectXpub: keys === undefined
        ? `tcp://${address}:${ZEEK_PORT + 1}`
        : `ipc://${ipcDir}/xsub`,
      connectXsub: keys === undefined ? `tcp://${address}:${ZEEK_PORT}` : `ipc://${ipcDir}/xpub`,
    }, (e) => {
      throw e;
    });
    let got = 0, first = 0, last = 0;
    bus.onMessage(() => {
      if (got === 0) first = performance.now();
      last = performance.now();
      got++;
    });
    bus.start();
    bus.subscribe(TOPIC);
    await bus.ready();
    console.log(JSON.stringify({ ready: true }));
    const deadline = Date.now() + 120_000;
    while (got < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    console.log(JSON.stringify({ got, seconds: (last - first) / 1000, cpuMs: cpuMs() }));
    await Deno.remove(ipcDir, { recursive: true });
    return;
  }
  // A logger's receiving half, writing the files, as weir's logger does.
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-fleet-log-" });
  const { records, seconds } = await receiveRecords({
    zmq,
    endpoint: `tcp://${address}:${LOG_PORT}`,
    n,
    dir,
    ...(keys === undefined ? {} : { curveSecretKey: keys.server.secretKey }),
    onReady: () => console.log(JSON.stringify({ ready: true })),
  });
  console.log(JSON.stringify({ got: records, seconds, cpuMs: cpuMs() }));
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(ipcDir, { recursive: true });
}

/** The sensor's end: a node's bus publishing events, or a PUSH shipping log batches. */
async function sensorSide(address: string, keys: Keys | undefined, n: number, what: string) {
  await using zmq = new ZmqContext();
  if (what === "bus") {
    await using bus = Bus.open(zmq, {
      // A node id of the key's node, as the checked forwarder wants it.
      nodeId: "zeromq_node_sensor_1_Nbench",
      connectXpub: `tcp://${address}:${ZEEK_PORT + 1}`,
      connectXsub: `tcp://${address}:${ZEEK_PORT}`,
      ...(keys === undefined
        ? {}
        : { curve: { keys: keys.sender, serverKey: keys.server.publicKey } }),
    }, (e) => {
      throw e;
    });
    let subscribed = false;
    bus.onSubscriptionChange((t, s) => (subscribed ||= s && t === TOPIC));
    bus.start();
    while (!subscribed) await new Promise((r) => setTimeout(r, 5));
    const writer = new ByteWriter();
    let sent = 0;
    while (sent < n) {
      writer.reset();
      encodeEvent(writer, "Bench::event", ["sensor-7", sent], [T.string, T.count]);
      if (bus.publish(TOPIC, writer.bytes())) sent++;
      else await new Promise((r) => setTimeout(r, 0));
      if ((sent & 4095) === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await new Promise((r) => setTimeout(r, 1000));
    console.log(JSON.stringify({ cpuMs: cpuMs() }));
    return;
  }
  await shipRecords({
    zmq,
    endpoint: `tcp://${address}:${LOG_PORT}`,
    n,
    ...(keys === undefined
      ? {}
      : { curve: { keys: keys.sender, serverKeys: [keys.server.publicKey] } }),
  });
  console.log(JSON.stringify({ cpuMs: cpuMs() }));
}

/** CPU time this process used so far (user + system, all threads), in ms. */
function cpuMs(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function runPair(lab: FleetLab, keys: Keys | undefined, what: string, n: number) {
  const self = new URL(import.meta.url).pathname;
  const keyArg = keys === undefined ? "-" : JSON.stringify(keys);
  const ctl = lab.host("ctl").address;
  // This file in `role` inside a host's namespace, its stdout piped.
  const spawn = (host: string, role: string) =>
    new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        lab.host(host).ns,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        self,
        role,
        ctl,
        keyArg,
        String(n),
        what,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const receiver = spawn("ctl", "control");
  const nextLine = lineReader(receiver.stdout, "the control side");
  await nextLine();
  const sender = spawn("s1", "sensor");
  const senderLine = lineReader(sender.stdout, "the sensor side");
  const result = JSON.parse(await nextLine()) as { got: number; seconds: number; cpuMs: number };
  const sent = JSON.parse(await senderLine()) as { cpuMs: number };
  await sender.status;
  await receiver.status;
  return {
    rate: result.got / result.seconds,
    cpuUsPerItem: (result.cpuMs + sent.cpuMs) * 1000 / result.got,
  };
}

/** Starts the manager on ctl, then times `weir join` on s1 to its agent-ready line. */
async function sensorReady(lab: FleetLab): Promise<{ first: number; again: number[] }> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-fleet-" });
  const ctl = lab.host("ctl").address, s1 = lab.host("s1").address;
  await Deno.writeTextFile(
    `${dir}/node.cfg`,
    `[manager]\ntype=manager\nhost=${ctl}\n\n[logger]\ntype=logger\nhost=${ctl}\n\n` +
      `[worker]\ntype=worker\nhost=${s1}\ninterface=eth0\nlb_method=af_packet\nlb_procs=2\n`,
  );
  const weir = (host: string, args: string[]) =>
    new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        lab.host(host).ns,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        main,
        ...args,
      ],
      stdout: "piped",
      stderr: "null",
    });
  const manager = weir("ctl", ["--role", "manager", "--config", dir]).spawn();
  await untilLine(manager.stdout, '{"weir":"ready","node":"manager"', "the manager");
  const token = new TextDecoder().decode(
    (await weir("ctl", ["enroll", s1, "--config", dir]).output()).stdout,
  ).trim();
  const join = async () => {
    const started = performance.now();
    const agent = weir("s1", [
      "join",
      `${ctl}:${ZEEK_PORT + 2}`,
      "--token",
      token,
      "--dir",
      `${dir}/agent`,
    ]).spawn();
    await untilLine(agent.stdout, '{"weir":"agent-ready"', "the agent");
    const seconds = (performance.now() - started) / 1000;
    agent.kill("SIGTERM");
    await agent.status;
    return seconds;
  };
  try {
    const first = await join();
    const again: number[] = [];
    for (let i = 0; i < ROUNDS; i++) again.push(await join());
    return { first, again };
  } finally {
    manager.kill("SIGTERM");
    await manager.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Resolves at the first line starting with `prefix`, and reads the rest of
 * the stream in the background (a process whose stdout nobody reads blocks).
 */
function untilLine(stream: ReadableStream<Uint8Array>, prefix: string, who: string): Promise<void> {
  const next = lineReader(stream, who);
  return new Promise((resolve, reject) => {
    let found = false;
    (async () => {
      for (;;) {
        const line = await next();
        if (!found && line.startsWith(prefix)) {
          found = true;
          resolve();
        }
      }
    })().catch((error) => {
      if (!found) reject(error);
    });
  });
}

/** Runs the fleet benchmark and returns its table rows. */
export async function benchFleet(events = DEFAULT_FLEET_EVENTS): Promise<string[]> {
  const reason = await labUnavailable();
  if (reason !== undefined) return [`fleet: skipped (${reason})`];
  await using lab = await FleetLab.create(["ctl", "s1"]);
  const keys: Keys = { server: curveKeyPair(), sender: curveKeyPair(), receiver: curveKeyPair() };
  const rows: string[] = [
    "| fleet (two namespaces on a bridge) | plaintext | CURVE | CURVE / plaintext | target |",
    "|---|---|---|---|---|",
  ];
  for (
    const [what, n, unit] of [["bus", events, "events/s"], ["log", RECORDS, "records/s"]] as const
  ) {
    const plain: { rate: number; cpuUsPerItem: number }[] = [];
    const curve: typeof plain = [];
    // Interleaved rounds, so a slow moment of the machine hits both.
    for (let i = 0; i < ROUNDS; i++) {
      plain.push(await runPair(lab, undefined, what, n));
      curve.push(await runPair(lab, keys, what, n));
    }
    const p = median(plain.map((r) => r.rate)), c = median(curve.map((r) => r.rate));
    const pc = median(plain.map((r) => r.cpuUsPerItem)),
      cc = median(curve.map((r) => r.cpuUsPerItem));
    const item = what === "bus" ? "event" : "record";
    rows.push(
      `| ${what}: ${unit}, median of ${ROUNDS} | ${Math.round(p).toLocaleString("en")} | ${
        Math.round(c).toLocaleString("en")
      } | ${(c / p).toFixed(2)} × | ≥ 0.70 × |`,
      `| ${what}: CPU µs per ${item}, all processes | ${pc.toFixed(2)} | ${cc.toFixed(2)} | ${
        (cc / pc).toFixed(2)
      } × | |`,
    );
  }
  const ready = await sensorReady(lab);
  rows.push(
    `| weir join → all sensor nodes ready (2 workers): first, with enrolment | | ${
      ready.first.toFixed(2)
    } s | | ≤ 2 s |`,
    `| weir join → all sensor nodes ready: rejoin, median of ${ROUNDS} | | ${
      median(ready.again).toFixed(2)
    } s | | ≤ 2 s |`,
  );
  return rows;
}

if (import.meta.main) {
  const [role, address, keyArg, n, what] = Deno.args;
  const keys = keyArg === undefined || keyArg === "-" ? undefined : JSON.parse(keyArg) as Keys;
  if (role === "control") await controlSide(address!, keys, Number(n), what!);
  else if (role === "sensor") await sensorSide(address!, keys, Number(n), what!);
  else for (const row of await benchFleet()) console.log(row);
}
