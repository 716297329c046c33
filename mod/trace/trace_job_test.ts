import assert from "node:assert/strict";
import { generateTrace } from "../../testing/mod.ts";
import { analyzeTrace, TraceJobOptionError } from "./trace_job.ts";
import { parseLogText } from "../../testing/conformance.ts";

async function withTrace(fn: (path: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-job-" });
  try {
    const path = `${dir}/t.pcap`;
    await generateTrace(path, { flows: 300, packetsPerFlow: 8, udpShare: 0.3, icmpShare: 0.1 });
    await fn(path, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a trace becomes one conn.log row per generated flow", async () => {
  await withTrace(async (path, dir) => {
    const r = await analyzeTrace({ path, logDir: `${dir}/out`, utc: true });
    assert.equal(r.connections, 300);
    assert.equal(r.packets, r.analyzed);
    const text = await Deno.readTextFile(r.logPath);
    assert.match(text, /^#separator \\x09\n#set_separator\t,\n/);
    assert.match(text, /\n#close\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\n$/);
    const log = parseLogText(text);
    assert.equal(log.rows.length, 300);
    const state = log.columns.indexOf("conn_state");
    const proto = log.columns.indexOf("proto");
    for (const row of log.rows) {
      if (row[proto] === "tcp") assert.equal(row[state], "SF");
      if (row[proto] === "udp") assert.equal(row[state], "SF");
    }
  });
});

Deno.test("workers split the flows without overlap", async () => {
  await withTrace(async (path, dir) => {
    const uids = new Set<string>();
    let total = 0;
    for (let index = 0; index < 3; index++) {
      const r = await analyzeTrace({
        path,
        logDir: `${dir}/w${index}`,
        worker: { index, count: 3 },
        uids: { seed: index + 1 },
      });
      const log = parseLogText(await Deno.readTextFile(r.logPath));
      const key = log.columns.indexOf("id.orig_h");
      for (const row of log.rows) uids.add(`${row[key]}:${row[key + 1]}`);
      total += r.connections;
    }
    assert.equal(total, 300);
    assert.equal(uids.size, 300);
  });
});

Deno.test("JSON output has Zeek's dotted keys", async () => {
  await withTrace(async (path, dir) => {
    const r = await analyzeTrace({ path, logDir: `${dir}/j`, format: "json" });
    const first = JSON.parse((await Deno.readTextFile(r.logPath)).split("\n")[0]!);
    assert.equal(typeof first["id.orig_h"], "string");
    assert.equal(typeof first["ts"], "number");
    assert.ok("conn_state" in first);
  });
});

Deno.test("bad options are refused before the file is opened", async () => {
  await assert.rejects(
    analyzeTrace({ path: "/nonexistent", logDir: "/tmp", worker: { index: 2, count: 2 } }),
    TraceJobOptionError,
  );
  await assert.rejects(
    analyzeTrace({ path: "/nonexistent", logDir: "/tmp", ignoreChecksumsNets: ["10.0.0.0"] }),
    /ignoreChecksumsNets "10.0.0.0"/,
  );
});
