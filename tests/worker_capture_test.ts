/**
 * The whole path a sensor runs: a cluster inside a network namespace, two
 * workers in one AF_PACKET fanout group on a veth, traffic replayed into the
 * other end with tcpreplay, and the logs read back from the logger's
 * archive: every generated flow once in conn.log, whole, and the DNS the
 * workers analysed in dns.log.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { type GenerateOptions, generateTrace, type TraceTruth } from "../testing/generate.ts";
import { labUnavailable, VethLab } from "../testing/live_lab.ts";
import { killLeftovers, WeirProcess, writeConfig } from "./harness.ts";

const reason = await labUnavailable();
if (reason !== undefined) console.error(`worker_capture_test: skipped (${reason})`);

/**
 * Runs a two-worker sensor in a namespace, replays a generated trace into
 * it, stops the cluster, and returns the truth and the archived rows of
 * each log path.
 */
async function captureReplay(
  options: GenerateOptions,
): Promise<{ truth: TraceTruth; logs: Map<string, string[][]> }> {
  await using lab = await VethLab.create();
  await lab.inCapture("ip", ["link", "set", "lo", "up"]);
  const config = await writeConfig({
    nodeCfg:
      `[manager]\ntype=manager\nhost=localhost\n\n[logger]\ntype=logger\nhost=localhost\n\n` +
      `[worker]\ntype=worker\nhost=localhost\ninterface=${lab.captureDevice}\n` +
      `lb_method=af_packet\nlb_procs=2\naf_packet_fanout_id=${20 + (Deno.pid % 1000)}\n`,
    weirCfg: "StopTimeout = 20\n",
  });
  const manager = new WeirProcess(["--role", "manager", "--config", config.dir], {
    wrapper: ["ip", "netns", "exec", lab.captureNs],
  });
  try {
    await manager.waitForLine((l) => l.startsWith('{"weir":"ready","node":"manager"'), "ready");
    const deadline = Date.now() + 10000;
    while (manager.errors.filter((l) => /capturing on af_packet::/.test(l)).length < 2) {
      if (Date.now() > deadline) {
        assert.fail(`workers did not start capturing:\n${manager.errors.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const trace = `${config.dir}/replay.pcap`;
    const truth = await generateTrace(trace, options);
    const sent = await lab.replay(trace, { pps: 20_000 });
    assert.equal(sent.failed, 0);
    await new Promise((r) => setTimeout(r, 1000));
    const status = await manager.stop(60_000);
    assert.equal(status.code, 0);

    const logs = new Map<string, string[][]>();
    for await (const day of Deno.readDir(`${config.dir}/logs`)) {
      if (!day.isDirectory) continue;
      for await (const f of Deno.readDir(`${config.dir}/logs/${day.name}`)) {
        const path = f.name.slice(0, f.name.indexOf("."));
        const text = new TextDecoder().decode(
          gunzipSync(await Deno.readFile(`${config.dir}/logs/${day.name}/${f.name}`)),
        );
        const rows = logs.get(path) ?? [];
        for (const l of text.split("\n")) if (l && !l.startsWith("#")) rows.push(l.split("\t"));
        logs.set(path, rows);
      }
    }
    return { truth, logs };
  } finally {
    await manager.stop();
    await killLeftovers(config.dir);
    await Deno.remove(config.dir, { recursive: true });
  }
}

/** conn.log-style rows by `proto a b` with the endpoints sorted (direction-free). */
function byFlow(rows: string[][], proto: (r: string[]) => string): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const r of rows) {
    const a = `${r[2]}/${r[3]}`, b = `${r[4]}/${r[5]}`;
    const key = `${proto(r)} ${[a, b].sort().join(" ")}`;
    out.set(key, [...(out.get(key) ?? []), r]);
  }
  return out;
}

function flowKey(flow: TraceTruth["flows"][number]): string {
  const a = `${flow.client}/${flow.clientPort}`, b = `${flow.server}/${flow.serverPort}`;
  return `${flow.proto} ${[a, b].sort().join(" ")}`;
}

Deno.test({
  name: "workers in one fanout group capture a replayed trace; conn.log has every flow once, whole",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { truth, logs } = await captureReplay({
      flows: 2000,
      packetsPerFlow: 8,
      udpShare: 0.4,
      icmpShare: 0,
      seed: 7,
    });
    const conns = byFlow(logs.get("conn") ?? [], (r) => r[6]!);
    let whole = 0;
    for (const flow of truth.flows) {
      const found = conns.get(flowKey(flow)) ?? [];
      assert.equal(found.length, 1, `flow ${flowKey(flow)} appears once (${found.length})`);
      const r = found[0]!;
      if (Number(r[16]) + Number(r[18]) === flow.datagrams) whole++;
    }
    assert.equal(
      whole,
      truth.flows.length,
      "every flow's packets, both directions, on one worker",
    );
  },
});

Deno.test({
  name: "workers analyse DNS over UDP and TCP; the logger's dns.log has every transaction once",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { truth, logs } = await captureReplay({
      flows: 600,
      packetsPerFlow: 8,
      applications: { dns: 0.5, dnsTcp: 0.2 },
      icmpShare: 0,
      seed: 11,
    });
    const dnsFlows = truth.flows.filter((f) => f.application === "dns");
    assert.ok(dnsFlows.length > 300, `${dnsFlows.length} DNS flows generated`);
    const conns = byFlow(logs.get("conn") ?? [], (r) => r[6]!);
    const dns = byFlow(logs.get("dns") ?? [], (r) => r[6]!);
    for (const flow of dnsFlows) {
      const conn = conns.get(flowKey(flow)) ?? [];
      assert.equal(conn.length, 1, `${flowKey(flow)} in conn.log once`);
      assert.equal(conn[0]![7], "dns", `${flowKey(flow)}: service`);
      // Every query was answered: one paired row per query.
      const rows = dns.get(flowKey(flow)) ?? [];
      assert.equal(rows.length, flow.clientMessages, `${flowKey(flow)}: dns.log rows`);
      for (const row of rows) {
        // A paired row has the query's qtype and the reply's rcode.
        assert.notEqual(row[13], "-", `${flowKey(flow)}: qtype_name`);
        assert.notEqual(row[15], "-", `${flowKey(flow)}: rcode_name`);
      }
    }
    const others = truth.flows.filter((f) => f.application !== "dns");
    for (const flow of others) assert.equal(dns.has(flowKey(flow)), false);
  },
});

Deno.test({
  name:
    "workers analyse HTTP; the logger's http.log has every exchange once and files.log its bodies",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { truth, logs } = await captureReplay({
      flows: 200,
      packetsPerFlow: 10,
      applications: { http: 0.6 },
      icmpShare: 0,
      seed: 13,
    });
    const httpFlows = truth.flows.filter((f) => f.application === "http");
    assert.ok(httpFlows.length > 80, `${httpFlows.length} HTTP flows generated`);
    const conns = byFlow(logs.get("conn") ?? [], (r) => r[6]!);
    const http = byFlow(logs.get("http") ?? [], (_r) => "tcp");
    const fuids = new Set<string>();
    for (const flow of httpFlows) {
      const conn = conns.get(flowKey(flow)) ?? [];
      assert.equal(conn.length, 1, `${flowKey(flow)} in conn.log once`);
      assert.equal(conn[0]![7], "http", `${flowKey(flow)}: service`);
      const rows = http.get(flowKey(flow)) ?? [];
      assert.equal(rows.length, flow.serverMessages, `${flowKey(flow)}: http.log rows`);
      // resp_fuids is the 28th column.
      for (const row of rows) {
        if (row[27] !== "-") { for (const f of row[27]!.split(",")) fuids.add(f); }
      }
    }
    const files = logs.get("files") ?? [];
    assert.ok(files.length > 0);
    assert.deepEqual(
      new Set(files.map((r) => r[1]!)),
      fuids,
      "files.log names the bodies http.log names",
    );
  },
});
