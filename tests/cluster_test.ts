/**
 * A real cluster: manager, logger, proxy and two workers as processes of
 * weir on loopback, observed through site scripts and driven by an outside
 * ZeroMQ peer that speaks Zeek's wire format.
 */

import assert from "node:assert/strict";
import { ZmqContext } from "../ffi/libzmq.ts";
import { ByteWriter, decodeEvent, encodeEvent } from "../mod/codec/mod.ts";
import { Bus } from "../mod/bus/bus.ts";
import { nodeTopic } from "../mod/bus/topics.ts";
import { T } from "../zeek/types.ts";
import {
  isAlive,
  killLeftovers,
  portIsFree,
  processesMentioning,
  WeirProcess,
  writeConfig,
} from "./harness.ts";

const NODE_CFG = `
[manager]
type=manager
host=localhost

[logger]
type=logger
host=localhost

[proxy-1]
type=proxy
host=localhost

[worker-1]
type=worker
host=localhost
interface=lo

[worker-2]
type=worker
host=localhost
interface=lo
`;

const SITE_SCRIPT = `
export default function (zeek) {
  const out = (o) => console.log(JSON.stringify({ test: true, node: zeek.node, pid: Deno.pid, ...o }));
  zeek.declare("Test::ping", [["from", zeek.T.string], ["n", zeek.T.count]]);
  zeek.declare("Test::control", [["cmd", zeek.T.string], ["arg", zeek.T.string], ["n", zeek.T.count]]);
  zeek.subscribe("weir.test.");
  zeek.on("Cluster::node_up", (name, id) => out({ kind: "node_up", name, id }));
  zeek.on("Cluster::node_down", (name, id) => out({ kind: "node_down", name, id }));
  zeek.on("Test::ping", (from, n) => out({ kind: "ping", from, n }));
  zeek.on("Test::control", (cmd, arg, n) => {
    if (cmd === "publish") zeek.publish(arg, "Test::ping", zeek.node, n);
    if (cmd === "unsubscribe") zeek.unsubscribe(arg);
    out({ kind: "done", cmd, n });
  });
  out({ kind: "loaded", id: zeek.nodeId });
}
`;

const NODES = ["manager", "logger", "proxy-1", "worker-1", "worker-2"];
const CONTROL_TYPES = [T.string, T.string, T.count];

type Line = Record<string, unknown>;
const isTest = (kind: string, extra: (o: Line) => boolean = () => true) => (o: Line) =>
  o.test === true && o.kind === kind && extra(o);

Deno.test({
  name:
    "cluster: node_up everywhere, prefix delivery, unsubscribe, restart after kill -9, clean stop",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({
      nodeCfg: NODE_CFG,
      weirCfg: "StopTimeout = 10\n",
      site: { "test.ts": SITE_SCRIPT },
    });
    const manager = new WeirProcess(["--role", "manager", "--config", config.dir]);
    const zmq = new ZmqContext();
    let peer: Bus | undefined;
    try {
      await manager.waitForLine(
        (l) => l.startsWith('{"weir":"ready","node":"manager"'),
        "the manager's readiness line",
      );
      // Every node sees node_up for each of the four others.
      await manager.waitForJson(isTest("node_up"), "node_up", NODES.length * (NODES.length - 1));
      for (const node of NODES) {
        const ups = manager.json().filter(isTest("node_up", (o) => o.node === node)).map((o) =>
          o.name
        ).sort();
        assert.deepEqual(ups, NODES.filter((n) => n !== node).sort(), `node_up seen by ${node}`);
      }
      assert.match(manager.lines.join("\n"), /Name\s+Type\s+Host\s+Status\s+Pid\s+Started/);

      // Every process serves /metrics on its port (zeekctl order from MetricsPort);
      // the manager lists them all in /services.json.
      for (const [i, node] of NODES.entries()) {
        const res = await fetch(`http://127.0.0.1:${config.metricsPort + i}/metrics`);
        const text = await res.text();
        assert.equal(res.status, 200);
        assert.match(text, new RegExp(`^weir_version_info\\{.*node="${node}"\\} 1$`, "m"));
        assert.match(text, /^zeek_cluster_core_incoming_events_total\{node="[^"]+"\} \d+$/m);
        await promtoolAccepts(text, node);
      }
      const sd = await (await fetch(`http://127.0.0.1:${config.metricsPort}/services.json`)).json();
      assert.equal(sd[0].targets.length, NODES.length);

      // An outside peer on the forwarder, speaking Zeek's 4-frame broker-bin-v1.
      const received: { topic: string; name: string; args: unknown[] }[] = [];
      const seenSubs = new Set<string>();
      peer = Bus.open(zmq, {
        nodeId: "test-peer",
        connectXpub: `tcp://127.0.0.1:${config.zeekPort + 1}`,
        connectXsub: `tcp://127.0.0.1:${config.zeekPort}`,
      }, (e) => {
        throw e;
      });
      peer.onSubscriptionChange((t, s) => s && seenSubs.add(t));
      peer.onMessage((m) => {
        const e = decodeEvent(
          m.payload,
          (n) => (n === "Test::ping" ? [T.string, T.count] : undefined),
        );
        received.push({ topic: m.topic, name: e.name, args: e.args });
      });
      peer.start();
      peer.subscribe("weir.test.");
      await peer.ready();
      const writer = new ByteWriter();
      const control = async (node: string, cmd: string, arg: string, n: number) => {
        const deadline = Date.now() + 10000;
        while (!seenSubs.has(nodeTopic(node))) {
          if (Date.now() > deadline) throw new Error(`no subscription for ${nodeTopic(node)} seen`);
          await new Promise((r) => setTimeout(r, 10));
        }
        writer.reset();
        encodeEvent(writer, "Test::control", [cmd, arg, n], CONTROL_TYPES);
        assert.ok(peer!.publish(nodeTopic(node), writer.bytes()));
        await manager.waitForJson(
          isTest("done", (o) => o.node === node && o.n === n),
          `${node} to run ${cmd}`,
        );
      };

      // worker-1 publishes on a topic under everyone's "weir.test." prefix.
      await control("worker-1", "publish", "weir.test.topic.", 1);
      const others = NODES.filter((n) => n !== "worker-1");
      await manager.waitForJson(isTest("ping", (o) => o.n === 1), "ping 1", others.length);
      // A topic that only shares bytes with the prefix up to the separator reaches nobody.
      await control("worker-1", "publish", "weir.testing", 99);
      await control("worker-2", "unsubscribe", "weir.test.", 2);
      await control("worker-1", "publish", "weir.test.topic.", 3);
      await manager.waitForJson(isTest("ping", (o) => o.n === 3), "ping 3", others.length - 1);
      const deadline = Date.now() + 10000;
      while (received.filter((r) => r.args[1] === 3).length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const pings = manager.json().filter(isTest("ping"));
      assert.deepEqual(pings.filter((o) => o.n === 1).map((o) => o.node).sort(), others.sort());
      assert.equal(
        pings.filter((o) => o.node === "worker-1").length,
        0,
        "a node never receives its own publication",
      );
      assert.equal(
        pings.filter((o) => o.n === 99).length,
        0,
        "weir.testing does not match weir.test.",
      );
      assert.deepEqual(
        pings.filter((o) => o.n === 3).map((o) => o.node).sort(),
        others.filter((n) => n !== "worker-2").sort(),
        "unsubscribe stops delivery",
      );
      assert.deepEqual(received.filter((r) => r.args[1] === 3), [
        { topic: "weir.test.topic.", name: "Test::ping", args: ["worker-1", 3] },
      ]);

      // kill -9 a worker: the manager restarts it, the others see node_down then node_up.
      const loaded = manager.json().filter(isTest("loaded", (o) => o.node === "worker-1"));
      const oldPid = loaded.at(-1)!.pid as number;
      const oldId = loaded.at(-1)!.id as string;
      Deno.kill(oldPid, "SIGKILL");
      await manager.waitForJson(
        isTest("loaded", (o) => o.node === "worker-1" && o.pid !== oldPid),
        "worker-1 restarted",
      );
      const downs = await manager.waitForJson(
        isTest("node_down", (o) => o.name === "worker-1" && o.id === oldId),
        "node_down of the old worker-1",
        NODES.length - 1,
      );
      const newId = manager.json().filter(isTest("loaded", (o) =>
        o.node === "worker-1")).at(-1)!.id;
      await manager.waitForJson(
        isTest("node_up", (o) => o.name === "worker-1" && o.id === newId),
        "node_up of the new worker-1",
        NODES.length - 1,
      );
      assert.deepEqual(downs.map((o) => o.node).sort(), others.sort());

      // SIGTERM to the manager: every process of this cluster is gone, ports are free.
      const pids = manager.json().filter(isTest("loaded")).map((o) => o.pid as number);
      const status = await manager.stop(15000);
      assert.equal(status.code, 0, `manager exit status ${JSON.stringify(status)}`);
      for (const pid of pids) {
        assert.equal(isAlive(pid), false, `process ${pid} outlived the manager`);
      }
      assert.deepEqual(await processesMentioning(config.dir), []);
      assert.ok(
        portIsFree(config.zeekPort) && portIsFree(config.zeekPort + 1),
        "forwarder ports released",
      );
    } finally {
      await peer?.close();
      await zmq.close();
      await manager.stop();
      await killLeftovers(config.dir);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cluster: kill -9 of the manager ends every node (their stdin pipe closes)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({ nodeCfg: NODE_CFG, site: { "test.ts": SITE_SCRIPT } });
    const manager = new WeirProcess(["--role", "manager", "--config", config.dir]);
    try {
      await manager.waitForLine(
        (l) => l.startsWith('{"weir":"ready","node":"manager"'),
        "the manager's readiness line",
      );
      const pids = manager.json().filter(isTest("loaded")).map((o) => o.pid as number)
        .filter((pid) => pid !== manager.process.pid);
      assert.equal(pids.length, NODES.length - 1);
      Deno.kill(manager.process.pid, "SIGKILL");
      const deadline = Date.now() + 5000;
      while (pids.some(isAlive) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(pids.filter(isAlive), [], "children outlived a killed manager");
    } finally {
      await manager.stop();
      await killLeftovers(config.dir);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});

/** `promtool check metrics` (Debian's prometheus package) accepts the exposition, when installed. */
async function promtoolAccepts(text: string, node: string): Promise<void> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch {
    console.error("cluster_test: promtool not installed, exposition check skipped");
    return;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `promtool rejects ${node}'s /metrics: ${said}`);
}

Deno.test({
  name: "a node started while its manager is unreachable waits, says so, and stops cleanly",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const config = await writeConfig({ nodeCfg: NODE_CFG });
  const worker = new WeirProcess(["--node", "proxy-1", "--config", config.dir]);
  try {
    await waitForError(
      worker,
      /forwarder at 127\.0\.0\.1:\d+ has not answered for 10 s; still trying/,
      20_000,
    );
    assert.equal(isAlive(worker.process.pid), true);
    const status = await worker.stop();
    assert.equal(status.code, 0, worker.errors.join("\n"));
    assert.ok(!worker.errors.some((l) => /^\s+at /.test(l)), worker.errors.join("\n"));
  } finally {
    await worker.stop();
    await Deno.remove(config.dir, { recursive: true });
  }
});

async function waitForError(p: WeirProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = p.errors.find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (Date.now() > deadline) {
      throw new Error(`no line matching ${pattern} in:\n${p.errors.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
