/**
 * Beyond one host, as an operator would run it: a control host and two
 * sensors, each its own network namespace on a bridge, a fourth host as an
 * intruder. The manager runs on the control host; each sensor runs one
 * command, `weir join`, with the token `weir enroll` wrote. Traffic is
 * replayed into each sensor's capture link. The bus is closed (CURVE with a
 * key per node, the manager being off loopback).
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { generateTrace, type TraceTruth } from "../testing/generate.ts";
import { FleetLab } from "../testing/fleet_lab.ts";
import { labUnavailable } from "../testing/live_lab.ts";
import { isAlive, killLeftovers, processesMentioning, WeirProcess } from "./harness.ts";

const reason = await labUnavailable();
if (reason !== undefined) console.error(`fleet_test: skipped (${reason})`);

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const INTRUDER = new URL("../testing/bus_intruder.ts", import.meta.url).pathname;
const ZEEK_PORT = 27760;
/** The outage the issue asks for: longer than NodeTimeout many times over. */
const OUTAGE_MS = 30_000;

const WATCH = `
export default function (zeek) {
  if (zeek.node !== "manager") return;
  const out = (o) => console.log(JSON.stringify({ test: true, ...o }));
  zeek.on("Cluster::node_up", (name, id) => out({ kind: "node_up", name, id, at: Date.now() }));
  zeek.on("Cluster::node_down", (name, id) => out({ kind: "node_down", name, id, at: Date.now() }));
}
`;

function nodeCfg(control: string, s1: string, s2: string, procsA: number): string {
  return `[manager]\ntype=manager\nhost=${control}\n\n` +
    `[logger-1]\ntype=logger\nhost=${control}\n\n` +
    `[proxy-1]\ntype=proxy\nhost=${control}\n\n` +
    `[worker-a]\ntype=worker\nhost=${s1}\ninterface=cap0\nlb_method=af_packet\nlb_procs=${procsA}\n\n` +
    `[worker-b]\ntype=worker\nhost=${s2}\ninterface=cap0\n`;
}

/** Runs a weir verb on `host` of the lab; resolves to its exit code and output. */
async function weir(lab: FleetLab, host: string, args: string[]) {
  const out = await new Deno.Command(lab.on(host)[0]!, {
    args: [...lab.on(host).slice(1), Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** The status table's rows by node name, cut at the header's column starts. */
function statusRows(stdout: string): Map<string, Record<string, string>> {
  const [header, ...lines] = stdout.trimEnd().split("\n");
  const starts = [...header!.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index! }));
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines) {
    const row: Record<string, string> = {};
    starts.forEach((c, i) => (row[c.name] = line.slice(c.at, starts[i + 1]?.at).trim()));
    rows.set(row.Name!, row);
  }
  return rows;
}

/** Runs `testing/bus_intruder.ts` on the lab's fourth host; resolves to what it got. */
async function intrude(
  lab: FleetLab,
  target: { manager: string; loggerEndpoint: string },
  mode: "plain" | "keyed",
  keyFile = "-",
  serverKey = "",
): Promise<{ received: number; subscriptionsSeen: number }> {
  const out = await new Deno.Command(lab.on("x")[0]!, {
    args: [
      ...lab.on("x").slice(1),
      Deno.execPath(),
      "run",
      "-A",
      INTRUDER,
      mode,
      target.manager,
      String(ZEEK_PORT),
      target.loggerEndpoint,
      ...(mode === "keyed" ? [keyFile, serverKey] : []),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

async function metricsOf(lab: FleetLab, host: string, port: number, path = "/metrics") {
  const out = await new Deno.Command(lab.on(host)[0]!, {
    args: [
      ...lab.on(host).slice(1),
      "python3",
      "-c",
      "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1]).read().decode())",
      `http://127.0.0.1:${port}${path}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

function counter(metrics: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every conn.log row the logger wrote (archived and current), as columns. */
async function connRows(logDir: string): Promise<string[][]> {
  const rows: string[][] = [];
  const add = (text: string) => {
    for (const l of text.split("\n")) if (l && !l.startsWith("#")) rows.push(l.split("\t"));
  };
  for await (const day of Deno.readDir(logDir)) {
    if (!day.isDirectory || day.name === "current") continue;
    for await (const f of Deno.readDir(`${logDir}/${day.name}`)) {
      if (!f.name.startsWith("conn.")) continue;
      const bytes = await Deno.readFile(`${logDir}/${day.name}/${f.name}`);
      add(new TextDecoder().decode(f.name.endsWith(".gz") ? gunzipSync(bytes) : bytes));
    }
  }
  return rows;
}

function flowKey(proto: string, a: string, ap: number | string, b: string, bp: number | string) {
  return `${proto} ${[`${a}/${ap}`, `${b}/${bp}`].sort().join(" ")}`;
}

function truthKeys(truth: TraceTruth): string[] {
  return truth.flows.map((f) => flowKey(f.proto, f.client, f.clientPort, f.server, f.serverPort));
}

Deno.test({
  name: "fleet: a control host and two sensors, one command each, on a closed bus",
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  await using lab = await FleetLab.create(["ctl", "s1", "s2", "x"], ["s1", "s2"]);
  const ctl = lab.host("ctl").address, s1 = lab.host("s1").address, s2 = lab.host("s2").address;
  const dir = await Deno.makeTempDir({ prefix: "weir-fleet-" });
  const processes: WeirProcess[] = [];
  try {
    await Deno.writeTextFile(`${dir}/node.cfg`, nodeCfg(ctl, s1, s2, 2));
    await Deno.writeTextFile(
      `${dir}/weir.cfg`,
      `StopTimeout = 15\nHeartbeatInterval = 1 sec\nNodeTimeout = 3 sec\n`,
    );
    await Deno.mkdir(`${dir}/site`);
    await Deno.writeTextFile(`${dir}/site/watch.js`, WATCH);

    const manager = new WeirProcess(["--role", "manager", "--config", dir], {
      wrapper: lab.on("ctl"),
    });
    processes.push(manager);
    await manager.waitForLine(
      (l) => l.startsWith('{"weir":"ready","node":"manager"'),
      "manager ready",
    );

    const agents = new Map<string, WeirProcess>();
    await t.step("one command per sensor brings all its nodes up", async () => {
      for (const [host, address] of [["s1", s1], ["s2", s2]] as const) {
        const enrolled = await weir(lab, "ctl", ["enroll", address, "--config", dir]);
        assert.equal(enrolled.code, 0, enrolled.stderr);
        const tokenFile = enrolled.stdout.trim();
        assert.equal((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);
        assert.match(
          enrolled.stderr,
          new RegExp(`weir join ${ctl.replaceAll(".", "\\.")}:${ZEEK_PORT + 2}`),
        );
        const agent = new WeirProcess(
          [
            "join",
            `${ctl}:${ZEEK_PORT + 2}`,
            "--token",
            tokenFile,
            "--dir",
            `${dir}/agent-${host}`,
          ],
          { wrapper: lab.on(host) },
        );
        processes.push(agent);
        agents.set(host, agent);
      }
      for (const agent of agents.values()) {
        await agent.waitForLine(
          (l) => l.startsWith('{"weir":"agent-ready"'),
          "agent ready",
          60_000,
        );
      }
      await waitUntil("every node running in weir status", async () => {
        const status = await weir(lab, "ctl", ["status", "--config", dir]);
        const rows = statusRows(status.stdout);
        return ["worker-a-1", "worker-a-2", "worker-b"].every((n) =>
          rows.get(n)?.Status === "running"
        );
      });
      const status = await weir(lab, "ctl", ["status", "--config", dir]);
      const rows = statusRows(status.stdout);
      assert.equal(rows.get("worker-a-1")?.Host, s1);
      assert.equal(rows.get("worker-b")?.Host, s2);
      assert.equal(rows.get("logger-1")?.Host, ctl);
      // netstats asks every worker over the bus, on whichever host it runs.
      const netstats = await weir(lab, "ctl", ["netstats", "--config", dir]);
      assert.equal(netstats.code, 0, netstats.stderr);
      for (const name of ["worker-a-1", "worker-a-2", "worker-b"]) {
        assert.match(netstats.stdout, new RegExp(`^${name}: [\\d.]+ recvd=\\d+`, "m"));
      }
    });

    await t.step(
      "kill -9 of a remote worker: its agent restarts it, status shows it meanwhile",
      async () => {
        const before = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
        const pid = Number(before.get("worker-b")?.Pid);
        assert.ok(pid > 0);
        await new Deno.Command("kill", { args: ["-9", String(pid)] }).output();
        let sawDown = false;
        await waitUntil("worker-b restarted with a new pid", async () => {
          const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
          const row = rows.get("worker-b");
          if (row?.Status !== "running") sawDown = true;
          return row?.Status === "running" && Number(row.Pid) !== pid && Number(row.Restarts) >= 1;
        });
        assert.ok(sawDown, "status never showed worker-b down");
      },
    );

    await t.step(
      "a remote worker frozen off the bus: status shows no-hello, weir cron restarts it through its agent",
      async () => {
        const before = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
        const pid = Number(before.get("worker-b")?.Pid);
        assert.ok(pid > 0);
        Deno.kill(pid, "SIGSTOP");
        try {
          await waitUntil("worker-b shown as no-hello", async () => {
            const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
            return rows.get("worker-b")?.Status === "no-hello";
          });
          const cron = await weir(lab, "ctl", ["cron", "--config", dir]);
          assert.equal(cron.code, 0, cron.stderr);
          assert.match(cron.stdout + cron.stderr, /restarted nodes without a hello: worker-b/);
          await waitUntil("worker-b restarted by its agent", async () => {
            const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
            const row = rows.get("worker-b");
            return row?.Status === "running" && Number(row.Pid) !== pid;
          });
        } finally {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch { /* restarted: gone */ }
        }
      },
    );

    await t.step(
      "/services.json lists the sensors' nodes through the manager's relay",
      async () => {
        const groups = JSON.parse(await metricsOf(lab, "ctl", 9991, "/services.json")) as {
          targets: string[];
          labels: Record<string, string>;
        }[];
        const relayed = groups.find((g) =>
          g.labels.__metrics_path__ === "/nodes/worker-a-1/metrics"
        );
        assert.deepEqual(relayed?.targets, ["127.0.0.1:9991"]);
        // The control host's nodes listen on MetricsAddress (loopback), and are listed there.
        assert.ok(groups[0]!.targets.includes("127.0.0.1:9992"), JSON.stringify(groups));
        const text = await metricsOf(lab, "ctl", 9991, "/nodes/worker-a-1/metrics");
        assert.match(text, /zeek_cluster_core_outgoing_events_total\{node="worker-a-1"\}/);
      },
    );

    const traces: TraceTruth[] = [];
    await t.step("traffic replayed on each sensor reaches the control host's logger", async () => {
      for (const [i, host] of ["s1", "s2"].entries()) {
        const file = `${dir}/replay-${host}.pcap`;
        traces.push(
          await generateTrace(file, { flows: 40, seed: 100 + i, udpShare: 0, icmpShare: 0 }),
        );
        await lab.replay(host, file);
      }
    });

    await t.step(
      "a sensor cut off for 30 s: node_down within NodeTimeout, node_up after, nothing lost",
      async () => {
        const upBefore = manager.json().filter((o) =>
          o.kind === "node_up" && o.name === "worker-a-1"
        ).length;
        const cutAt = Date.now();
        await lab.setLink("s1", false);
        const file = `${dir}/replay-outage.pcap`;
        traces.push(await generateTrace(file, { flows: 20, seed: 300, udpShare: 0, icmpShare: 0 }));
        await lab.replay("s1", file);
        const [down] = await manager.waitForJson(
          (o) => o.kind === "node_down" && o.name === "worker-a-1" && (o.at as number) >= cutAt,
          "node_down of worker-a-1",
          1,
          20_000,
        );
        assert.ok(
          (down!.at as number) - cutAt < 10_000,
          `node_down after ${(down!.at as number) - cutAt} ms`,
        );
        await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - cutAt)));
        await lab.setLink("s1", true);
        await manager.waitForJson(
          (o) => o.kind === "node_up" && o.name === "worker-a-1",
          "node_up of worker-a-1 again",
          upBefore + 1,
          30_000,
        );
      },
    );

    await t.step(
      "deploy after lb_procs 2→3 on one sensor starts exactly one new process there",
      async () => {
        const before = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
        await Deno.writeTextFile(`${dir}/node.cfg`, nodeCfg(ctl, s1, s2, 3));
        const deployed = await weir(lab, "ctl", ["deploy", "--config", dir]);
        assert.equal(deployed.code, 0, deployed.stderr);
        // worker-b restarts too: zeekctl numbers ports in node.cfg order, and
        // worker-a-3 comes before it, so its metrics port moved.
        assert.match(deployed.stdout, /added worker-a-3; removed none; restarted worker-b\n/);
        await waitUntil("worker-a-3 running", async () => {
          const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
          return rows.get("worker-a-3")?.Status === "running";
        });
        const after = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
        for (const name of ["worker-a-1", "worker-a-2", "logger-1", "proxy-1"]) {
          assert.equal(after.get(name)?.Pid, before.get(name)?.Pid, `${name} was restarted`);
        }
        assert.equal(after.get("worker-a-3")?.Host, s1);
      },
    );

    const metricsPort = 9991;
    const loggerEndpoint = `tcp://${ctl}:${ZEEK_PORT + 4}`;
    await t.step("an intruder without keys or with its own is refused, and counted", async () => {
      const serverKey =
        JSON.parse(await Deno.readTextFile(`${dir}/spool/keys/nodes/directory.json`)).forwarder;
      const target = { manager: ctl, loggerEndpoint };
      for (const mode of ["plain", "keyed"] as const) {
        const result = await intrude(lab, target, mode, "-", serverKey);
        assert.equal(result.received, 0, `${mode}: the intruder received events`);
        assert.equal(result.subscriptionsSeen, 0, `${mode}: the intruder saw subscriptions`);
      }
      const metrics = await metricsOf(lab, "ctl", metricsPort);
      assert.ok(
        counter(metrics, "weir_bus_handshake_failures_total", { socket: "forwarder_xpub" }) > 0,
        `no refused handshake counted:\n${
          metrics.split("\n").filter((l) => l.includes("weir_bus")).join("\n")
        }`,
      );
      assert.ok(counter(metrics, "weir_bus_auth_total", { domain: "weir", result: "refused" }) > 0);

      // A sensor's own key (a compromised sensor) cannot speak for another node.
      const downBefore = manager.json().filter((o) => o.kind === "node_down").length;
      await intrude(
        lab,
        { manager: ctl, loggerEndpoint },
        "keyed",
        `${dir}/agent-s1/keys/worker-a-1.key`,
        serverKey,
      );
      const after = await metricsOf(lab, "ctl", metricsPort);
      assert.ok(counter(after, "weir_bus_sender_refused_total", {}) > 0, "the forged hello passed");
      assert.equal(manager.json().filter((o) => o.kind === "node_down").length, downBefore);
      const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
      assert.equal(rows.get("worker-b")?.Status, "running");
    });

    await t.step(
      "a revoked key is refused on reconnect; the node runs on with a new one",
      async () => {
        const stolen = `${dir}/stolen.key`;
        await Deno.copyFile(`${dir}/agent-s2/keys/worker-b.key`, stolen);
        const revoked = await weir(lab, "ctl", ["revoke", "worker-b", "--config", dir]);
        assert.equal(revoked.code, 0, revoked.stderr);
        const serverKey =
          JSON.parse(await Deno.readTextFile(`${dir}/spool/keys/nodes/directory.json`)).forwarder;
        const refusedBefore = counter(
          await metricsOf(lab, "ctl", metricsPort),
          "weir_bus_auth_total",
          { domain: "weir", result: "refused" },
        );
        const result = await intrude(
          lab,
          { manager: ctl, loggerEndpoint },
          "keyed",
          stolen,
          serverKey,
        );
        assert.equal(result.received, 0);
        const refusedAfter = counter(
          await metricsOf(lab, "ctl", metricsPort),
          "weir_bus_auth_total",
          { domain: "weir", result: "refused" },
        );
        assert.ok(refusedAfter > refusedBefore, "the stolen key was not refused");
        await waitUntil("worker-b running again with its new key", async () => {
          const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
          return rows.get("worker-b")?.Status === "running";
        });
      },
    );

    await t.step(
      "an agent restarted on its own gets the configuration and runs its nodes",
      async () => {
        const agent = agents.get("s2")!;
        await agent.stop();
        const again = new WeirProcess(
          ["join", `${ctl}:${ZEEK_PORT + 2}`, "--dir", `${dir}/agent-s2`],
          { wrapper: lab.on("s2") },
        );
        processes.push(again);
        agents.set("s2", again);
        await again.waitForLine(
          (l) => l.startsWith('{"weir":"agent-ready"'),
          "agent ready",
          30_000,
        );
        await waitUntil("worker-b running under the new agent", async () => {
          const rows = statusRows((await weir(lab, "ctl", ["status", "--config", dir])).stdout);
          return rows.get("worker-b")?.Status === "running";
        });
      },
    );

    await t.step("revoking a host stops its agent and its nodes, with one line why", async () => {
      const revoked = await weir(lab, "ctl", ["revoke", s1, "--config", dir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const agent = agents.get("s1")!;
      const status = await agent.status();
      assert.equal(status.code, 1);
      assert.ok(
        agent.errors.some((l) =>
          /^weir: the manager refused this agent: the agent key of .* was revoked/.test(l)
        ),
        agent.errors.join("\n"),
      );
      for (const name of ["worker-a-1", "worker-a-2", "worker-a-3"]) {
        assert.deepEqual(await processesMentioning(`--node ${name} `), [], `${name} still runs`);
      }
      agents.delete("s1");
    });

    await t.step(
      "weir stop stops every host's nodes; the agents stay; every flow is in conn.log once",
      async () => {
        const stopped = await weir(lab, "ctl", ["stop", "--config", dir]);
        assert.equal(stopped.code, 0, stopped.stderr);
        await manager.status();
        for (const name of ["worker-a-1", "worker-a-3", "worker-b"]) {
          assert.deepEqual(await processesMentioning(`--node ${name} `), [], `${name} still runs`);
        }
        for (const agent of agents.values()) {
          assert.ok(isAlive(agent.process.pid), "an agent stopped");
        }
        const rows = await connRows(`${dir}/logs`);
        const seen = new Map<string, number>();
        for (const r of rows) {
          const key = flowKey(r[6]!, r[2]!, r[3]!, r[4]!, r[5]!);
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        for (const trace of traces) {
          for (const key of truthKeys(trace)) {
            assert.equal(seen.get(key), 1, `${key} in conn.log ${seen.get(key) ?? 0} times`);
          }
        }
      },
    );
  } finally {
    for (const p of processes.reverse()) await p.stop(20_000);
    await killLeftovers(dir);
    if (Deno.env.get("WEIR_TEST_KEEP") === undefined) await Deno.remove(dir, { recursive: true });
  }
});
