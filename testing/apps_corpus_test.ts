import assert from "node:assert/strict";
import {
  appsCorpusAvailable,
  cutColumns,
  expandLikelyServerPorts,
  loadedAnalyzers,
  parseZeekLogs,
  planRuns,
  portsOfDescription,
  readAppsManifest,
  readBaseline,
} from "./apps_corpus.ts";

const available = await appsCorpusAvailable();

Deno.test("a concatenated log splits into one log per header block; CRs and btest's line go", () => {
  const block = (n: number) =>
    `#separator \\x09\r\n#path\tssl\r\n#open XXXX\r\n#fields\tts\tuid\r\n#types\ttime\tstring\r\nX\tC${n}\r\n#close XXXX\r\n`;
  const logs = parseZeekLogs(`### BTest baseline data\r\n${block(1)}${block(2)}`);
  assert.equal(logs.length, 2);
  assert.deepEqual(logs[1]!.columns, ["ts", "uid"]);
  assert.deepEqual(logs[1]!.types, ["time", "string"]);
  assert.deepEqual(logs[1]!.rows, [["X", "C2"]]);
  assert.equal(logs[0]!.header.get("path"), "ssl");
});

Deno.test("zeek-cut files: -m has a header line, plain cut takes its columns from the command", () => {
  assert.deepEqual(parseZeekLogs("### x\nuid\tname\nC1\tw\n")[0]!.columns, ["uid", "name"]);
  const b = {
    file: "weird.log.standard",
    command: "same run; zeek-cut uid name < weird.log (no header line)",
    mode: "bare",
    checksums: "-C",
    kind: "weird-log" as const,
    format: "zeek-cut (no header)",
    rows: 1,
    canonifier: "",
    compare: "uid, name",
  };
  const columns = cutColumns(b)!;
  assert.deepEqual(columns, ["uid", "name"]);
  assert.deepEqual(parseZeekLogs("### x\nC1\tlowercase_HTTP_keyword\n", columns)[0]!.rows, [[
    "C1",
    "lowercase_HTTP_keyword",
  ]]);
});

Deno.test("likely_server_ports notation expands from the manifest's own descriptions", () => {
  assert.deepEqual(portsOfDescription("{6666..6668}/tcp"), ["6666/tcp", "6667/tcp", "6668/tcp"]);
  assert.deepEqual(portsOfDescription("{443,465}/tcp + 443/udp (DTLS)"), [
    "443/tcp",
    "465/tcp",
    "443/udp",
  ]);
  const notation = { T: "{2123}/udp (tunnels)", "+DNS": "{53/tcp,53/udp}" };
  assert.deepEqual(expandLikelyServerPorts("T+DNS", notation), ["2123/udp", "53/tcp", "53/udp"]);
  assert.deepEqual(expandLikelyServerPorts("T (POP3 registers no ports)", notation), ["2123/udp"]);
  assert.throws(() => expandLikelyServerPorts("T+FOO", notation), /FOO/);
});

Deno.test("a bare command's scripts name the analyzers it loads", () => {
  assert.deepEqual(
    loadedAnalyzers(
      "zeek -b -r x.pcap base/protocols/conn base/protocols/dns base/frameworks/notice/weird",
    ),
    ["DNS"],
  );
  assert.deepEqual(loadedAnalyzers("zeek -b -C -r nsec3.pcap policy/protocols/dns/auth-addl"), [
    "DNS",
  ]);
  assert.deepEqual(loadedAnalyzers("zeek -b -r P protocols/ssl/validate-sct"), ["SSL"]);
});

Deno.test({
  name: "every baseline of the corpus is planned into a run, and reads with its row count",
  ignore: !available,
  fn: async () => {
    const manifest = await readAppsManifest();
    let baselines = 0;
    const runs = manifest.cases.flatMap((c) => planRuns(c, manifest.likely_server_ports_notation));
    for (const run of runs) {
      for (const b of run.baselines) {
        baselines++;
        const logs = await readBaseline(defaultDir(), run.case, b);
        assert.equal(logs.reduce((n, l) => n + l.rows.length, 0), b.rows, b.file);
        assert.equal(logs.length, b.format.startsWith("concatenated") ? run.pcaps.length : 1);
      }
    }
    assert.equal(baselines, 133);
    const byCase = (name: string) => runs.filter((r) => r.case.case === name);
    // Two pcaps, two runs, each with its own baselines.
    assert.deepEqual(byCase("http-lower-case").map((r) => r.pcaps), [
      ["http-lower-case.pcap"],
      ["http-lower-case-nonstandard-port.pcap"],
    ]);
    assert.equal(byCase("tls13-multi")[0]!.pcaps.length, 7);
    const maxQueries = byCase("dns-max-queries");
    assert.equal(maxQueries.length, 1, "weird.log and conn.log come from the same run");
    assert.equal(maxQueries[0]!.options.dnsMaxQueries, 3);
    assert.deepEqual(maxQueries[0]!.options.analyzers, ["DNS"]);
    assert.equal(maxQueries[0]!.options.checksums, true);
    assert.ok(maxQueries[0]!.options.likelyServerPorts!.includes("53/udp"));
    const notify = byCase("dns-notify")[0]!.options;
    assert.equal(notify.analyzers, "default");
    assert.equal(notify.checksums, false);
    assert.equal(byCase("dns-nsec3-auth")[0]!.options.dnsAuthAddl, true);
    assert.equal(byCase("dns-tkey-tcp")[0]!.options.dnsSkipAllAddl, false);
  },
});

function defaultDir(): string {
  return new URL("../../shared/conformance/zeek-apps", import.meta.url).pathname;
}
