/**
 * Cluster logging with real processes: workers write through a site script,
 * the records travel as acknowledged `log-write` batches to the loggers,
 * and the loggers' archived files are read back and checked record by
 * record.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { ZmqContext } from "../ffi/libzmq.ts";
import { killLeftovers, type TestConfig, WeirProcess, writeConfig } from "./harness.ts";
import { NatsServer, natsServerUnavailable } from "../testing/nats_server.ts";
import { connectJetStream, logSubject } from "../mod/log/jetstream.ts";
import { AckPolicy } from "@nats-io/jetstream";

/** A site script: once every logger is up, each worker writes `count` records at `perSecond`. */
function writerScript(count: number, perSecond: number, loggers: number): string {
  return `
export default function (zeek) {
  const out = (o) => console.log(JSON.stringify({ test: true, node: zeek.node, pid: Deno.pid, ...o }));
  const stream = zeek.log.createStream({ id: "Test::LOG", path: "test", columns: [
    { name: "ts", type: zeek.T.time, optional: false },
    { name: "node", type: zeek.T.string, optional: false },
    { name: "seq", type: zeek.T.count, optional: false },
    { name: "host", type: zeek.T.addr, optional: false },
    { name: "port", type: zeek.T.port, optional: false },
    { name: "tags", type: zeek.T.set(zeek.T.string), optional: false },
    { name: "note", type: zeek.T.string, optional: true },
  ] });
  out({ kind: "loaded" });
  if (zeek.localNodeType() !== "worker") return;
  const loggers = new Set();
  let started = false;
  zeek.on("Cluster::node_up", (name) => {
    if (zeek.nodes().find((n) => n.name === name)?.type === "logger") loggers.add(name);
    if (started || loggers.size < ${loggers}) return;
    started = true;
    const chunk = Math.max(1, Math.round(${perSecond} / 100));
    let seq = 0;
    const tick = () => {
      const end = Math.min(${count}, seq + chunk);
      for (; seq < end; seq++) {
        zeek.log.write(stream, [1700000000 + seq / 1e6, zeek.node, seq, "10.1." + (seq % 250) + ".7",
          (seq % 65535) + "/tcp", ["a", "b" + (seq % 3)], seq % 10 === 0 ? undefined : "x\\ty"]);
      }
      if (seq % (chunk * 100) === 0 || seq === ${count}) out({ kind: "progress", seq });
      if (seq < ${count}) setTimeout(tick, 10);
      else out({ kind: "written", count: seq });
    };
    tick();
  });
}
`;
}

interface Row {
  node: string;
  seq: number;
  logger: string;
  line: string;
}

/** Every data row of every archived `test` log, with the logger it came from. */
async function archivedRows(
  logDir: string,
  unclosedFrom?: string,
): Promise<{ rows: Row[]; files: string[] }> {
  const rows: Row[] = [];
  const files: string[] = [];
  for await (const day of Deno.readDir(logDir)) {
    if (!day.isDirectory || !/^\d{4}-\d\d-\d\d$/.test(day.name)) continue;
    for await (const f of Deno.readDir(`${logDir}/${day.name}`)) {
      if (!f.name.startsWith("test.")) continue;
      files.push(`${day.name}/${f.name}`);
      const logger = /-(logger-\d)\.log\.gz$/.exec(f.name)?.[1] ?? "logger";
      const text = new TextDecoder().decode(
        gunzipSync(await Deno.readFile(`${logDir}/${day.name}/${f.name}`)),
      );
      assert.match(text, /^#separator \\x09\n/, `${f.name} starts with Zeek's header`);
      // A file a killed logger left behind is archived as it was, without #close.
      if (logger !== unclosedFrom && unclosedFrom !== "*") {
        assert.match(text, /\n#close\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\n$/, `${f.name} is closed`);
      }
      for (const line of text.split("\n")) {
        if (line.length === 0 || line.startsWith("#")) continue;
        const cols = line.split("\t");
        rows.push({ node: cols[1]!, seq: Number(cols[2]), logger, line });
      }
    }
  }
  return { rows, files: files.sort() };
}

/** The line the writer script's record `seq` of `node` renders to. */
function expectedLine(node: string, seq: number): string {
  const ts = (1700000000 + seq / 1e6).toFixed(6);
  const note = seq % 10 === 0 ? "-" : "x\\x09y";
  return [ts, node, seq, `10.1.${seq % 250}.7`, seq % 65535, `a,b${seq % 3}`, note].join("\t");
}

function nodeCfg(loggers: number): string {
  let cfg = "[manager]\ntype=manager\nhost=localhost\n\n";
  for (let i = 1; i <= loggers; i++) cfg += `[logger-${i}]\ntype=logger\nhost=localhost\n\n`;
  cfg += "[proxy-1]\ntype=proxy\nhost=localhost\n\n";
  cfg += "[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n\n";
  cfg += "[worker-2]\ntype=worker\nhost=localhost\ninterface=lo\n";
  return cfg;
}

type Json = Record<string, unknown>;
const isTest = (kind: string, extra: (o: Json) => boolean = () => true) => (o: Json) =>
  o.test === true && o.kind === kind && extra(o);

async function runCluster(
  options: {
    loggers: number;
    count: number;
    perSecond: number;
    weirCfg?: string;
    unclosedFrom?: string;
    /** Runs before the manager starts; what it returns runs before the directory goes. */
    before?: (config: TestConfig) => Promise<() => Promise<void>>;
  },
  during?: (manager: WeirProcess & TestConfig) => Promise<void>,
): Promise<{ rows: Row[]; files: string[]; weirLog: string; manager: WeirProcess }> {
  const config = await writeConfig({
    nodeCfg: nodeCfg(options.loggers),
    weirCfg: `StopTimeout = 20\n${options.weirCfg ?? ""}`,
    site: { "writer.js": writerScript(options.count, options.perSecond, options.loggers) },
  });
  const cleanUp = await options.before?.(config);
  const manager = new WeirProcess(["--role", "manager", "--config", config.dir]);
  try {
    await manager.waitForLine((l) => l.startsWith('{"weir":"ready","node":"manager"'), "ready");
    if (during !== undefined) await during(Object.assign(manager, config));
    await manager.waitForJson(isTest("written"), "both workers done", 2, 120_000);
    const status = await manager.stop(60_000);
    assert.equal(status.code, 0, `manager exit ${JSON.stringify(status)}`);
    const logDir = `${config.dir}/logs`;
    if (options.loggers === 0 && /LogTransport = nats/.test(options.weirCfg ?? "")) {
      return { rows: [], files: [], weirLog: "", manager }; // logger-less: no files
    }
    const { rows, files } = await archivedRows(logDir, options.unclosedFrom);
    const weirLog = new TextDecoder().decode(
      gunzipSync(await Deno.readFile(await findArchive(logDir, "weir."))),
    );
    return { rows, files, weirLog, manager };
  } finally {
    await manager.stop();
    await killLeftovers(config.dir);
    await cleanUp?.();
    if (Deno.env.get("WEIR_KEEP_TEST_DIRS") === undefined) {
      await Deno.remove(config.dir, { recursive: true });
    }
  }
}

Deno.test({
  name: "logging: 2 workers × 100,000 records reach 2 loggers round robin, each exactly once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const count = 100_000;
    const { rows } = await runCluster({ loggers: 2, count, perSecond: 100_000 });
    const seen = new Map<string, number>();
    const perLogger = new Map<string, number>();
    for (const r of rows) {
      const key = `${r.node}/${r.seq}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      perLogger.set(r.logger, (perLogger.get(r.logger) ?? 0) + 1);
      if (r.line !== expectedLine(r.node, r.seq)) {
        assert.equal(r.line, expectedLine(r.node, r.seq), "a row parses back to what was written");
      }
    }
    const dupes = [...seen.values()].filter((n) => n > 1).length;
    assert.equal(dupes, 0, "no record twice");
    for (const node of ["worker-1", "worker-2"]) {
      for (let seq = 0; seq < count; seq++) {
        if (!seen.has(`${node}/${seq}`)) assert.fail(`${node} record ${seq} is missing`);
      }
    }
    assert.equal(rows.length, 2 * count);
    console.log(`  per logger: ${JSON.stringify(Object.fromEntries(perLogger))}`);
    assert.ok((perLogger.get("logger-1") ?? 0) > 0 && (perLogger.get("logger-2") ?? 0) > 0);
  },
});

Deno.test({
  name:
    "logging: a 2 s rotation interval under steady load archives valid gzip files holding every record once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const count = 30_000;
    const { rows, files } = await runCluster({
      loggers: 1,
      count,
      perSecond: 6_000,
      weirCfg: "LogRotationInterval = 2\n",
    });
    assert.ok(files.length >= 3, `several archives: ${files.join(" ")}`);
    for (const f of files) {
      assert.match(f, /^\d{4}-\d\d-\d\d\/test\.\d\d:\d\d:\d\d-\d\d:\d\d:\d\d\.log\.gz$/, f);
    }
    const keys = rows.map((r) => `${r.node}/${r.seq}`);
    assert.equal(new Set(keys).size, keys.length, "no record in two archives");
    assert.equal(keys.length, 2 * count, "no record lost across rotations");
  },
});

Deno.test({
  name:
    "logging: kill -9 of one of two loggers every 3 s under load loses nothing and writes nothing twice",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const count = 120_000;
    const perSecond = 10_000;
    const kills: string[] = [];
    const { rows, manager } = await runCluster(
      { loggers: 2, count, perSecond, unclosedFrom: "*" },
      async (manager) => {
        await manager.waitForJson(isTest("progress", (o) => (o.seq as number) >= 10_000), "load");
        for (let k = 0; k < 4; k++) {
          const name = `logger-${1 + k % 2}`;
          const victim = manager.json().filter(isTest("loaded", (o) => o.node === name))
            .at(-1)!.pid as number;
          Deno.kill(victim, "SIGKILL");
          kills.push(name);
          await manager.waitForJson(
            isTest("loaded", (o) => o.node === name && o.pid !== victim),
            `${name} restarted`,
          );
          await new Promise((r) => setTimeout(r, 3000));
        }
      },
    );
    const seen = new Map<string, number>();
    for (const r of rows) {
      const key = `${r.node}/${r.seq}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    let lost = 0;
    for (const node of ["worker-1", "worker-2"]) {
      for (let seq = 0; seq < count; seq++) if (!seen.has(`${node}/${seq}`)) lost++;
    }
    const twice = [...seen.values()].filter((n) => n > 1).length;
    console.log(
      `  ${kills.length} kills (${kills.join(", ")}): ${lost} of ${2 * count} records lost, ` +
        `${twice} written twice`,
    );
    assert.equal(lost, 0, "records lost");
    assert.equal(twice, 0, "records written twice");
    assert.equal(rows.length, 2 * count);
    assert.ok(
      manager.errors.some((l) => /logger-1 crashed/.test(l)),
      "the supervisor reported the crash",
    );
  },
});

/** A verb (`stop logger-1`) against the running cluster of `config`. */
async function verb(config: TestConfig, ...args: string[]): Promise<void> {
  const p = new WeirProcess([...args, "--config", config.dir]);
  const status = await p.status();
  assert.equal(status.code, 0, `weir ${args.join(" ")}: ${p.errors.join("\n")}`);
}

/** A gauge or counter of a node's /metrics. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(" ").at(-1) ?? NaN);
}

Deno.test({
  name: "logging: every logger down for 20 s under load, then back: the spool holds it all, 0 lost",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const count = 300_000;
    const perSecond = 10_000;
    let peak = 0;
    let spooled = 0;
    const { rows } = await runCluster(
      { loggers: 2, count, perSecond },
      async (manager) => {
        await manager.waitForJson(isTest("progress", (o) => (o.seq as number) >= 20_000), "load");
        await verb(manager, "stop", "logger-1", "logger-2");
        // manager, logger-1, logger-2, proxy-1, worker-1, worker-2: worker-1's metrics port.
        const worker1 = manager.metricsPort + 4;
        await new Promise((r) => setTimeout(r, 20_000));
        spooled = await metric(worker1, "weir_log_shipper_spool_bytes");
        await verb(manager, "start", "logger-1", "logger-2");
        await manager.waitForJson(isTest("written"), "both workers done", 2, 120_000);
        const deadline = Date.now() + 60_000;
        while (await metric(worker1, "weir_log_shipper_spool_bytes") > 0) {
          if (Date.now() > deadline) assert.fail("worker-1's spool never drained");
          await new Promise((r) => setTimeout(r, 500));
        }
        peak = await metric(worker1, "weir_log_shipper_spool_peak_bytes");
      },
    );
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(`${r.node}/${r.seq}`, (seen.get(`${r.node}/${r.seq}`) ?? 0) + 1);
    let lost = 0;
    for (const node of ["worker-1", "worker-2"]) {
      for (let seq = 0; seq < count; seq++) if (!seen.has(`${node}/${seq}`)) lost++;
    }
    const twice = [...seen.values()].filter((n) => n > 1).length;
    console.log(
      `  loggers down 20 s: worker-1's spool held ${(spooled / 1e6).toFixed(1)} MB after 20 s, ` +
        `peak ${(peak / 1e6).toFixed(1)} MB; ${lost} of ${2 * count} lost, ${twice} twice`,
    );
    assert.ok(spooled > 0, "the outage went to the disk spool");
    assert.equal(lost, 0, "records lost");
    assert.equal(twice, 0, "records written twice");
  },
});

Deno.test({
  name:
    "logging: a logger whose disk fills holds the batches back and loses nothing once space returns",
  ignore: Deno.uid() !== 0, // mounts a tmpfs
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const count = 60_000;
    let full = false;
    let mount = "";
    const { rows, manager } = await runCluster(
      {
        loggers: 1,
        count,
        perSecond: 6_000,
        before: async (config) => {
          // logger-1's working directory, where its live files are, on 3 MB.
          mount = `${config.dir}/spool/logger-1`;
          await Deno.mkdir(mount, { recursive: true });
          await run("mount", "-t", "tmpfs", "-o", "size=3m", "weir-test-full", mount);
          return () => run("umount", "-l", mount);
        },
      },
      async (manager) => {
        const deadline = Date.now() + 60_000;
        while (!manager.errors.some((l) => /No space left on device/.test(l))) {
          if (Date.now() > deadline) assert.fail("the logger's disk never filled");
          await new Promise((r) => setTimeout(r, 100));
        }
        full = true;
        await new Promise((r) => setTimeout(r, 3000));
        await run("mount", "-o", "remount,size=64m", mount);
      },
    );
    const seen = new Map<string, number>();
    for (const r of rows) {
      seen.set(`${r.node}/${r.seq}`, (seen.get(`${r.node}/${r.seq}`) ?? 0) + 1);
    }
    let lost = 0;
    for (const node of ["worker-1", "worker-2"]) {
      for (let seq = 0; seq < count; seq++) if (!seen.has(`${node}/${seq}`)) lost++;
    }
    const twice = [...seen.values()].filter((n) => n > 1).length;
    console.log(`  disk full for 3 s: ${lost} of ${2 * count} lost, ${twice} twice`);
    assert.ok(full);
    assert.equal(lost, 0, "records lost");
    assert.equal(twice, 0, "records written twice");
    for (const r of rows) {
      if (r.line !== expectedLine(r.node, r.seq)) {
        assert.equal(r.line, expectedLine(r.node, r.seq));
      }
    }
    assert.ok(manager.errors.some((l) => /is written again/.test(l)), "the logger said so");
  },
});

async function run(...argv: string[]): Promise<void> {
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), stderr: "piped" }).output();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test({
  name:
    "logging over NATS JetStream: a logger consumes the stream into files; nats-server killed and restarted mid-run loses nothing",
  ignore: natsServerUnavailable() !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await NatsServer.open();
    const count = 60_000;
    const { rows } = await runCluster(
      {
        loggers: 1,
        count,
        perSecond: 10_000,
        weirCfg: `LogTransport = nats\nNatsURL = ${server.url}\n`,
      },
      async (manager) => {
        await manager.waitForJson(isTest("progress", (o) => (o.seq as number) >= 20_000), "load");
        await server.kill();
        await new Promise((r) => setTimeout(r, 2000));
        await server.start();
      },
    );
    const seen = new Map<string, number>();
    const perLogger = new Map<string, number>();
    for (const r of rows) {
      seen.set(`${r.node}/${r.seq}`, (seen.get(`${r.node}/${r.seq}`) ?? 0) + 1);
      perLogger.set(r.logger, (perLogger.get(r.logger) ?? 0) + 1);
    }
    let lost = 0;
    for (const node of ["worker-1", "worker-2"]) {
      for (let seq = 0; seq < count; seq++) if (!seen.has(`${node}/${seq}`)) lost++;
    }
    const twice = [...seen.values()].filter((n) => n > 1).length;
    console.log(
      `  NATS down 2 s: ${lost} of ${2 * count} lost, ${twice} twice; per logger ${
        JSON.stringify(Object.fromEntries(perLogger))
      }`,
    );
    assert.equal(lost, 0, "records lost");
    assert.equal(twice, 0, "records written twice");
  },
});

Deno.test({
  name:
    "logging over NATS JetStream without loggers: every node publishes, a plain consumer reads the logs",
  ignore: natsServerUnavailable() !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await NatsServer.open();
    const count = 5_000;
    await runCluster({
      loggers: 0,
      count,
      perSecond: 5_000,
      weirCfg: `LogTransport = nats\nNatsURL = ${server.url}\nNatsFormat = json\n`,
    });
    await using nats = await connectJetStream({ url: server.url, name: "reader" });
    // What `nats consumer add --filter weir.logs.test` makes: a consumer of one log.
    const reader = await nats.jsm.consumers.add("WEIR_LOGS", {
      ack_policy: AckPolicy.None,
      filter_subject: logSubject("weir.logs", "test"),
    });
    const consumer = await nats.js.consumers.get("WEIR_LOGS", reader.name);
    const seen = new Set<string>();
    let messages = 0;
    while (true) {
      const m = await consumer.next({ expires: 2000 });
      if (m === null) break;
      messages++;
      for (const line of new TextDecoder().decode(m.data).split("\n")) {
        if (line === "") continue;
        const record = JSON.parse(line);
        seen.add(`${record.node}/${record.seq}`);
      }
    }
    console.log(`  ${messages} messages on weir.logs.test, ${seen.size} records`);
    assert.equal(seen.size, 2 * count);
    const subjects = await nats.jsm.streams.info("WEIR_LOGS", { subjects_filter: ">" });
    const names = Object.keys(subjects.state.subjects ?? {});
    for (const path of ["test", "cluster"]) {
      assert.ok(names.includes(logSubject("weir.logs", path)), `${path} is published: ${names}`);
    }
  },
});

Deno.test({
  name:
    "logging: LogAcks = no ships as Zeek does; the logger writes it and counts it unacknowledged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const count = 5_000;
    let unacknowledged = 0;
    let acknowledged = 0;
    const { rows } = await runCluster(
      { loggers: 1, count, perSecond: 5_000, weirCfg: "LogAcks = no\n" },
      async (manager) => {
        await manager.waitForJson(isTest("written"), "both workers done", 2, 60_000);
        // manager, logger-1: the logger's metrics port is the second.
        const logger = manager.metricsPort + 1;
        const deadline = Date.now() + 10_000;
        while (unacknowledged < 2 * count && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          unacknowledged = await metric(logger, "weir_log_receiver_unacknowledged_records_total");
        }
        acknowledged = await metric(logger, "weir_log_receiver_acknowledged_batches_total");
      },
    );
    assert.equal(rows.length, 2 * count);
    assert.ok(unacknowledged >= 2 * count, `${unacknowledged} unacknowledged records counted`);
    assert.equal(acknowledged, 0);
  },
});

Deno.test({
  name:
    "logging: garbage sent to a real logger's port is counted and dropped; the logger keeps writing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const zmq = new ZmqContext();
    const push = zmq.openSocket("push");
    try {
      const { rows, weirLog } = await runCluster(
        { loggers: 1, count: 2000, perSecond: 2000 },
        (manager) => {
          // logger-1's PULL port, in zeekctl's order: forwarder (2 ports), control, manager, loggers.
          push.connect(`tcp://127.0.0.1:${manager.zeekPort + 4}`);
          const enc = new TextEncoder();
          push.send([
            enc.encode("log-write"),
            enc.encode("evil"),
            enc.encode("zeek-bin-serializer"),
            new Uint8Array([0, 0, 0, 99, 1, 2]),
          ]);
          push.send([enc.encode("not a log")]);
          return Promise.resolve();
        },
      );
      assert.equal(rows.length, 4000, "the workers' records all arrived");
      const loggerRow = weirLog.split("\n").find((l) => l.split("\t")[1] === "logger-1")!;
      assert.equal(loggerRow.split("\t")[6], "2", "weir.log counts the 2 malformed messages");
    } finally {
      push.close();
      await zmq.close();
    }
  },
});

async function findArchive(logDir: string, prefix: string): Promise<string> {
  for await (const day of Deno.readDir(logDir)) {
    if (!day.isDirectory) continue;
    for await (const f of Deno.readDir(`${logDir}/${day.name}`)) {
      if (f.name.startsWith(prefix)) return `${logDir}/${day.name}/${f.name}`;
    }
  }
  throw new Error(`no ${prefix}* archive in ${logDir}`);
}
