import assert from "node:assert/strict";
import { createPcapWriter } from "../../capture/mod.ts";
import { EventRegistry } from "../bus/mod.ts";
import { generateTrace } from "../../testing/mod.ts";
import { ethernet, ipv4, udp } from "../../testing/frames.ts";
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

/** A DNS query for `name` (type A) and its answer 192.0.2.7, as UDP payloads. */
function dnsPair(id: number, name: string): [Uint8Array, Uint8Array] {
  const qname = [...name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]), 0];
  const question = [...qname, 0, 1, 0, 1];
  const query = new Uint8Array([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...question]);
  const answer = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 7];
  const reply = new Uint8Array([
    id >> 8,
    id & 255,
    0x81,
    0x80,
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    0,
    ...question,
    ...answer,
  ]);
  return [query, reply];
}

Deno.test("weir -r: dns.log, conn.log's service, and the events site scripts see", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-dns-" });
  try {
    const [query, reply] = dnsPair(0x1234, "www.example.org");
    const w = createPcapWriter();
    const client = { src: "10.0.0.1", dst: "10.0.0.53" };
    const server = { src: "10.0.0.53", dst: "10.0.0.1" };
    w.write(1700000000, 0, ethernet(0x0800, ipv4(17, udp(40000, 53, query), client)));
    w.write(1700000000, 25_000_000, ethernet(0x0800, ipv4(17, udp(53, 40000, reply), server)));
    await Deno.writeFile(`${dir}/dns.pcap`, w.bytes());

    const events = new EventRegistry((name, error) => {
      throw new Error(`${name}: ${error}`);
    });
    const seen: string[] = [];
    events.on("DNS::log_dns", (rec) => {
      const r = rec as { query: string; answers: string[]; id: { resp_p: number } };
      seen.push(`log_dns ${r.query} ${r.answers.join(",")} ${r.id.resp_p}`);
    });
    events.on(
      "Conn::log_conn",
      (rec) => void seen.push(`log_conn ${(rec as { service: string }).service}`),
    );
    events.on("dns_request", (_c, _msg, query) => void seen.push(`dns_request ${query}`));
    const r = await analyzeTrace({ path: `${dir}/dns.pcap`, logDir: `${dir}/out`, events });
    assert.deepEqual(seen, [
      "dns_request www.example.org",
      "log_dns www.example.org 192.0.2.7 53",
      "log_conn dns",
    ]);
    const dns = parseLogText(await Deno.readTextFile(r.logPaths.get("dns")!));
    assert.equal(dns.rows.length, 1);
    assert.equal(dns.rows[0]![dns.columns.indexOf("rtt")], "0.025000");
    const conn = parseLogText(await Deno.readTextFile(r.logPath));
    assert.equal(conn.rows[0]![conn.columns.indexOf("service")], "dns");

    // Without analyzers (zeek -b base/protocols/conn), no dns.log and no service.
    const bare = await analyzeTrace({
      path: `${dir}/dns.pcap`,
      logDir: `${dir}/bare`,
      analyzers: "none",
    });
    assert.equal(bare.logPaths.has("dns"), false);
    const bareConn = parseLogText(await Deno.readTextFile(bare.logPath));
    assert.equal(bareConn.rows[0]![bareConn.columns.indexOf("service")], "-");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
