import assert from "node:assert/strict";
import { compareTables, maskedColumns, parseLogText, traceOptionsFor } from "./conformance.ts";

const HEADER =
  "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\thistory\n";

Deno.test("baselines and logs parse with their columns", () => {
  const t = parseLogText(
    `### BTest baseline\n${HEADER}XXXX\tC1\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tS\n#close x\n`,
  );
  assert.deepEqual(t.columns.slice(0, 3), ["ts", "uid", "id.orig_h"]);
  assert.equal(t.rows.length, 1);
  const cut = parseLogText("### x\nuid\thistory\nC1\tC\n");
  assert.deepEqual(cut.columns, ["uid", "history"]);
  assert.deepEqual(cut.rows, [["C1", "C"]]);
});

Deno.test("rows compare as a multiset per 5-tuple, in uid creation order", () => {
  const want = parseLogText(
    `${HEADER}X\tC2\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tD\nX\tC1\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tS\n`,
  );
  const got = parseLogText(
    `${HEADER}9\tC1\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tS\n8\tC2\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tD\n`,
  );
  assert.deepEqual(compareTables(want, got, new Set(["ts"]), false, ["C1", "C2"]), []);
  const wrong = parseLogText(
    `${HEADER}9\tC1\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tS\n8\tC2\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\tDa\n`,
  );
  const diffs = compareTables(want, wrong, new Set(["ts"]), false, ["C1", "C2"]);
  assert.equal(diffs.length, 1);
  assert.match(diffs[0]!, /#2: history is "Da", Zeek has "D"/);
});

Deno.test("manifest entries map onto trace options", () => {
  const b = {
    file: "x",
    command: "zeek -b -r x.pcap protocols/conn/mac-logging",
    mode: "bare + http, report_gaps_for_partial=T",
    checksums: "exempt 192.168.0.0/16",
    likely_server_ports: ["80/tcp"],
    kind: "conn-log",
    compare: "all except ts, uid, service",
    rows: 1,
  };
  const o = traceOptionsFor(b);
  assert.equal(o.checksums, true);
  assert.deepEqual(o.ignoreChecksumsNets, ["192.168.0.0/16"]);
  assert.equal(o.reportGapsForPartial, true);
  assert.equal(o.macAddresses, true);
  assert.ok(maskedColumns(b).has("service"));
  assert.ok(!maskedColumns(b).has("uid"));
  assert.equal(traceOptionsFor({ ...b, checksums: "-C" }).checksums, false);
});
