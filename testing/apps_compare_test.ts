import assert from "node:assert/strict";
import { canonify, compareBaseline, compareLog, compareRowMultisets } from "./apps_compare.ts";
import {
  type AppsBaseline,
  appsCorpusAvailable,
  DEFAULT_APPS_CORPUS_DIR,
  parseZeekLogs,
  readAppsManifest,
  readBaseline,
  type ZeekLog,
} from "./apps_corpus.ts";

const available = await appsCorpusAvailable();

const ASCII: AppsBaseline = {
  file: "dns.log",
  command: "zeek -b -r x.pcap base/protocols/dns",
  mode: "bare",
  checksums: "validate",
  kind: "dns-log",
  format: "zeek-ascii",
  rows: 2,
  canonifier: "diff-canonifier (diff-remove-first-timestamp)",
  compare: "all columns except ts (masked) and uid",
};

function log(lines: string): ZeekLog {
  return parseZeekLogs(
    `#separator \\x09\n#path\tdns\n#open 2026-01-01-00-00-00\n${lines}#close 2026-01-01-00-00-01\n`,
  )[0]!;
}

const HEAD =
  "#fields\tts\tuid\tquery\tauth\trtt\n#types\ttime\tstring\tstring\tset[string]\tinterval\n";

Deno.test("the canonifier masks the first epoch time of a line, or all of them", () => {
  assert.equal(
    canonify("1300475167.096535\tC\t0.000214", "diff-canonifier"),
    "XXXXXXXXXX.XXXXXX\tC\t0.000214",
  );
  assert.equal(canonify("1.000000\tC", "diff-canonifier"), "1.000000\tC");
  assert.equal(
    canonify("1300475167.1\t1300475168.2", "diff-remove-x509-names | diff-remove-timestamps"),
    "XXXXXXXXXX.XXXXXX\tXXXXXXXXXX.XXXXXX",
  );
});

Deno.test("uid is ignored, sets compare unordered, rows compare as a multiset", () => {
  const want = log(
    `${HEAD}XXXXXXXXXX.XXXXXX\tCa\ta.example\tx,y\t0.1\nXXXXXXXXXX.XXXXXX\tCb\tb.example\t-\t-\n`,
  );
  const got = log(
    `${HEAD}1300475168.5\tC9\tb.example\t-\t-\n1300475167.5\tC8\ta.example\ty,x\t0.1\n`,
  );
  assert.deepEqual(compareLog(ASCII, want, got), []);
  const wrong = log(`${HEAD}1300475168.5\tC9\tb.example\t-\t0.2\n`);
  assert.deepEqual(compareLog(ASCII, want, wrong), [
    "1 rows, Zeek has 2",
    "missing row: ts=XXXXXXXXXX.XXXXXX query=a.example auth=x,y rtt=0.1",
    "missing row: ts=XXXXXXXXXX.XXXXXX query=b.example",
    "extra row: ts=XXXXXXXXXX.XXXXXX query=b.example rtt=0.2",
  ]);
});

Deno.test("differing rows pair up by their identifying columns", () => {
  const columns = ["id.orig_h", "id.orig_p", "name", "addl"];
  assert.deepEqual(
    compareRowMultisets(columns, [["1.2.3.4", "53", "DNS_x", "10 > 3"]], [[
      "1.2.3.4",
      "53",
      "DNS_x",
      "-",
    ]]),
    ['1.2.3.4 53 DNS_x: addl is "-", Zeek has "10 > 3"'],
  );
});

Deno.test("header lines must match, #open/#close aside", () => {
  const want = log(`${HEAD}`);
  const got = log("#fields\tts\tuid\tquery\n#types\ttime\tstring\tstring\n");
  const d = compareLog(ASCII, want, got);
  assert.equal(d.length, 2);
  assert.match(d[0]!, /^#fields is/);
});

Deno.test("file ids compare exactly: weir computes Zeek's, in Zeek's order", () => {
  const b: AppsBaseline = { ...ASCII, kind: "http-log", file: "http.log" };
  const head = "#fields\tts\tresp_fuids\n#types\ttime\tvector[string]\n";
  const want = log(`${head}XXXXXXXXXX.XXXXXX\tFa1,Fb2\n`);
  assert.deepEqual(compareLog(b, want, log(`${head}1300475167.5\tFa1,Fb2\n`)), []);
  assert.equal(compareLog(b, want, log(`${head}1300475167.5\tFzz,Fyy\n`)).length, 1);
  assert.equal(compareLog(b, want, log(`${head}1300475167.5\tFb2,Fa1\n`)).length, 1);
});

Deno.test("cut baselines compare their columns; a log weir did not write is named", () => {
  const b: AppsBaseline = {
    ...ASCII,
    kind: "conn-log",
    file: "conn.log",
    format: "zeek-cut -m",
    columns: ["uid", "service", "history"],
  };
  const want = parseZeekLogs("### x\nuid\tservice\thistory\nCH\tssl,http\tD^X\n");
  const got = log(
    "#fields\tts\tuid\tservice\thistory\n#types\ttime\tstring\tstring\tstring\nX\tC1\thttp,ssl\tD^X\n",
  );
  assert.deepEqual(compareBaseline(b, want, [got], "conn.log"), []);
  assert.deepEqual(compareBaseline(b, want, [undefined], "conn.log"), [
    "weir wrote no conn.log (Zeek has 1 rows)",
  ]);
});

Deno.test({
  name: "every baseline of the corpus compares identical with itself written unmasked",
  ignore: !available,
  fn: async () => {
    const manifest = await readAppsManifest();
    for (const c of manifest.cases) {
      for (const b of c.baselines) {
        const want = await readBaseline(DEFAULT_APPS_CORPUS_DIR, c, b);
        // What Zeek wrote before btest masked it: a real time where the mask is.
        const got = want.map((l) => ({
          ...l,
          header: new Map(
            [...l.header].map(([k, v]) => [k, k === "open" ? "2026-08-21-00-00-00" : v]),
          ),
          rows: l.rows.map((r) =>
            r.map((v) => v.replace("XXXXXXXXXX.XXXXXX", "1300475167.096535"))
          ),
        }));
        assert.deepEqual(compareBaseline(b, want, got, b.file), [], `${c.case} ${b.file}`);
      }
    }
  },
});
