/**
 * The DNS and analyzer-framework behaviours the research note observed on
 * a real Zeek 9.1 (`../shared/research/analysis-framework-dns.md`, §5):
 * its own trace generators (Python with scapy) make the traces, weir reads
 * them as `weir -r -C` would, and the rows must be what Zeek wrote there.
 * Skipped, with the reason, when the note's folder or scapy is missing.
 */

import assert from "node:assert/strict";
import { analyzeTrace } from "../mod/trace/mod.ts";
import { parseLogText } from "../testing/mod.ts";

const EXPERIMENTS = new URL("../../shared/research/dns-experiments/", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

async function unavailable(): Promise<string | undefined> {
  try {
    await Deno.stat(`${EXPERIMENTS}/dnsbuild.py`);
  } catch {
    return `no research experiments at ${EXPERIMENTS}`;
  }
  const probe = await new Deno.Command(PYTHON, { args: ["-c", "import scapy"], stderr: "null" })
    .output().catch(() => undefined);
  return probe?.success
    ? undefined
    : "python3-scapy is not installed (scripts/setup.sh installs it)";
}

const skip = await unavailable();
if (skip !== undefined) console.error(`dns experiments: skipped: ${skip}`);

/** Runs one of the note's generators and weir on its trace; the logs' rows by path. */
async function experiment(name: string): Promise<Map<string, Record<string, string>[]>> {
  const dir = await Deno.makeTempDir({ prefix: `weir-dns-exp-${name}-` });
  try {
    for await (const entry of Deno.readDir(EXPERIMENTS)) {
      if (entry.name.endsWith(".py")) {
        await Deno.copyFile(`${EXPERIMENTS}/${entry.name}`, `${dir}/${entry.name}`);
      }
    }
    const gen = await new Deno.Command(PYTHON, { args: [`gen_${name}.py`], cwd: dir }).output();
    assert.ok(gen.success, new TextDecoder().decode(gen.stderr));
    const r = await analyzeTrace({
      path: `${dir}/${name}.pcap`,
      logDir: `${dir}/out`,
      checksums: false,
    });
    const logs = new Map<string, Record<string, string>[]>();
    for (const [path, file] of r.logPaths) {
      const table = parseLogText(await Deno.readTextFile(file));
      logs.set(
        path,
        table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i]!]))),
      );
    }
    return logs;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const pick = (rows: Record<string, string>[] | undefined, ...columns: string[]) =>
  (rows ?? []).map((r) => columns.map((c) => r[c]).join(" "));

Deno.test({
  name:
    "C6: DNS session timeouts split a late reply, pair a slow one, and log a retransmission twice",
  ignore: skip !== undefined,
  async fn() {
    const logs = await experiment("late");
    assert.deepEqual(
      pick(
        logs.get("dns"),
        "id.orig_p",
        "trans_id",
        "rtt",
        "query",
        "qtype_name",
        "rcode_name",
        "answers",
      ),
      [
        "51001 1 - late.example A - -",
        "51001 1 - late.example - NOERROR 192.0.2.1",
        "51002 2 9.500000 slow.example A NOERROR 192.0.2.2",
        "51003 3 - rexmit.example A - -",
        "51003 3 - rexmit.example A - -",
        "51003 3 - rexmit.example - NOERROR 192.0.2.3",
      ],
    );
    const uids = pick(logs.get("dns"), "uid");
    assert.notEqual(uids[0], uids[1], "the late reply starts a new connection");
    assert.equal(uids[3], uids[4]);
    assert.notEqual(uids[4], uids[5]);
  },
});

Deno.test({
  name:
    "C8: a DNS violation after a confirmation removes the analyzer, logs analyzer.log once, keeps the weird",
  ignore: skip !== undefined,
  async fn() {
    const logs = await experiment("viol");
    // Rows left at the end are written in the order connections drain: compare them as a set.
    assert.deepEqual(pick(logs.get("dns"), "id.orig_p", "trans_id", "query", "answers").sort(), [
      "50001 1 good1.example 192.0.2.9",
      "50001 99 - -",
      "50002 99 - -",
    ]);
    assert.deepEqual(pick(logs.get("conn"), "id.orig_p", "service", "history").sort(), [
      "50001 - DdX",
      "50002 - DXd",
    ]);
    assert.deepEqual(pick(logs.get("analyzer"), "analyzer_name", "id.orig_p", "failure_reason"), [
      "DNS 50001 DNS_Conn_count_too_large",
    ]);
    assert.deepEqual(pick(logs.get("weird"), "id.orig_p", "name", "addl", "source").sort(), [
      "50001 DNS_Conn_count_too_large 30 > 25 DNS",
      "50002 DNS_Conn_count_too_large 30 > 25 DNS",
    ]);
  },
});

Deno.test({
  name:
    "C9: weird.log de-duplicates per name and 4-tuple, per originator, and after the core's sampling",
  ignore: skip !== undefined,
  async fn() {
    const logs = await experiment("weird");
    assert.deepEqual(
      pick(logs.get("weird"), "id.orig_h", "id.orig_p", "name", "addl", "notice", "peer", "source"),
      [
        "10.7.0.1 49001 DNS_RR_unknown_type 52 F zeek DNS",
        "10.7.0.1 49002 DNS_RR_unknown_type 52 F zeek DNS",
        "10.7.0.1 49003 DNS_label_too_long - F zeek DNS",
        "10.7.0.2 49005 DNS_label_too_long - F zeek DNS",
        "10.7.0.1 49006 DNS_RR_unknown_type 52 F zeek DNS",
      ],
    );
  },
});

Deno.test({
  name:
    "C10: DNS over TCP frames messages across segments, flushes partial ones at each FIN, desyncs like Zeek",
  ignore: skip !== undefined,
  async fn() {
    const logs = await experiment("tcpdns");
    const rows = pick(logs.get("dns"), "id.orig_p", "trans_id", "rtt", "query", "answers");
    assert.deepEqual(rows.filter((r) => !r.startsWith("42004 ")), [
      "42001 21 0.020000 one.example 192.0.2.21",
      "42001 22 0.030000 two.example 192.0.2.22",
      "42001 23 0.010000 three.example 192.0.2.23",
      "42002 31 0.010000 partial.example 192.0.2.31",
      "42003 41 - flush.example -",
      "42003 41 - flush.example -",
    ]);
    // The note gives the desynchronised connection's count of garbage rows, not their fields.
    assert.equal(rows.filter((r) => r.startsWith("42004 ")).length, 2);
    assert.deepEqual(pick(logs.get("weird"), "id.orig_p", "name", "source"), [
      "42004 DNS_label_len_gt_pkt DNS",
    ]);
  },
});
