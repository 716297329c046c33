/**
 * Zeek's own dns.log baselines (the zeek-apps conformance corpus), each
 * trace driven through the DNS analyzer by the fake host of
 * `fake_host_test.ts`, rows rendered by weir's ASCII writer and compared with
 * Zeek's rows on every column but `ts` and `uid` (masked there). Rows are
 * compared as multisets where Zeek's write order depends on its hash seed
 * (rows written at connection removal), in order otherwise.
 */

import assert from "node:assert/strict";
import { createDnsAnalyzer, type DnsAnalyzerOptions } from "./mod.ts";
import { driveTrace, type FakeWorld } from "./fake_host_test.ts";

const CORPUS = new URL("../../../../shared/conformance/zeek-apps/", import.meta.url);

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

const HAVE_CORPUS = exists(CORPUS);

async function pcapOf(dir: string): Promise<string> {
  for await (const e of Deno.readDir(new URL(`${dir}/`, CORPUS))) {
    if (e.isFile && /\.pcap$/.test(e.name)) return new URL(`${dir}/${e.name}`, CORPUS).pathname;
  }
  throw new Error(`no pcap in ${dir}`);
}

/** A baseline's data rows (header lines dropped), split into columns. */
function baselineRows(file: URL): { fields: string[]; rows: string[][] } {
  const lines = Deno.readTextFileSync(file).replace(/\r/g, "").split("\n");
  let fields: string[] = [];
  const rows: string[][] = [];
  for (const line of lines) {
    if (line.startsWith("###") || line === "") continue;
    if (line.startsWith("#fields\t")) {
      fields = line.split("\t").slice(1);
      continue;
    }
    if (line.startsWith("#")) continue;
    if (fields.length === 0) {
      fields = line.split("\t"); // zeek-cut -m: one plain header line
      continue;
    }
    rows.push(line.split("\t"));
  }
  return { fields, rows };
}

/** Set columns are unordered in Zeek: sort their elements before comparing. */
function normalise(fields: string[], row: string[]): string {
  return row.map((v, i) =>
    (fields[i] === "auth" || fields[i] === "addl") && v !== "-" ? v.split(",").sort().join(",") : v
  ).join("\t");
}

function compare(world: FakeWorld, file: URL, ordered: boolean, columns?: string[]): void {
  const { fields, rows } = baselineRows(file);
  const stream = world.logs.stream("DNS::LOG")!;
  const ours = world.render().map((l) => l.split("\t"));
  const names = stream.columns.map((c) => c.name);
  const pick = columns ?? fields.filter((f) => f !== "ts" && f !== "uid");
  if (columns === undefined) assert.deepEqual(names, fields, "the #fields line differs");
  const want = rows.map((r) => normalise(pick, pick.map((f) => r[fields.indexOf(f)]!)));
  const got = ours.map((r) => normalise(pick, pick.map((f) => r[names.indexOf(f)]!)));
  if (ordered) assert.deepEqual(got, want);
  else assert.deepEqual([...got].sort(), [...want].sort());
}

interface Case {
  readonly dir: string;
  readonly baseline: string;
  readonly options?: DnsAnalyzerOptions;
  readonly ordered?: boolean;
  readonly columns?: string[];
  /** The case runs without `-C`: packets with bad checksums are dropped. */
  readonly checksums?: boolean;
}

const DNS_CASES: readonly Case[] = [
  { dir: "dns-flip", checksums: true, baseline: "scripts.base.protocols.dns.flip/dns.log" },
  {
    dir: "dns-two-responses",
    checksums: true,
    baseline: "scripts.base.protocols.dns.duplicate-reponses/dns.log",
  },
  {
    dir: "dns-txt-multiple",
    checksums: true,
    baseline: "scripts.base.protocols.dns.multiple-txt-strings/dns.log",
  },
  {
    dir: "dns-zero-rrs",
    checksums: true,
    baseline: "scripts.base.protocols.dns.zero-responses/dns.log",
  },
  { dir: "dns-spf", checksums: true, baseline: "scripts.base.protocols.dns.spf/dns.log" },
  { dir: "dns-dnskey2", checksums: true, baseline: "scripts.base.protocols.dns.dns-key/dns.log" },
  { dir: "dns-dnskey", baseline: "scripts.base.protocols.dns.dnskey/dns.log" },
  { dir: "dns-ds", baseline: "scripts.base.protocols.dns.ds/dns.log" },
  { dir: "dns-rrsig", baseline: "scripts.base.protocols.dns.rrsig/dns.log" },
  { dir: "dns-notify", baseline: "scripts.base.protocols.dns.notify/dns.log" },
  { dir: "dns-mdns-no-assoc", baseline: "scripts.base.protocols.dns.mdns-no-assoc/dns.log" },
  { dir: "dns-loc-trunc", baseline: "scripts.base.protocols.dns.loc/dns.log" },
  { dir: "dns-sshfp-trunc", baseline: "scripts.base.protocols.dns.sshfp/dns.log" },
  {
    dir: "dns-tkey-tcp",
    baseline: "scripts.base.protocols.dns.tkey/dns.log",
    options: { skipAllAddl: false },
  },
  { dir: "dns-ipv6-frag", checksums: true, baseline: "core.ipv6-frag/dns.log" },
  { dir: "dns-dynamic-update", baseline: "scripts.base.protocols.dns.dynamic-update/dns.log" },
  {
    dir: "dns-nsec3-auth",
    baseline: "scripts.base.protocols.dns.nsec3/dns.log",
    options: { authAddl: true },
  },
  {
    dir: "dns-wks-auth",
    baseline: "scripts.base.protocols.dns.wks/dns.log",
    options: { authAddl: true },
  },
  {
    dir: "dns-binds-auth",
    baseline: "scripts.base.protocols.dns.binds/dns.log",
    options: { authAddl: true },
  },
  {
    dir: "dns-naptr",
    checksums: true,
    baseline: "scripts.base.protocols.dns.naptr/dns.log.cut",
    columns: ["query", "qclass_name", "qtype_name", "answers"],
  },
  { dir: "dns-false-gtp", checksums: true, baseline: "core.tunnels.gtp.false_gtp/dns.log" },
  // Rows written at connection removal follow Zeek's seeded hash order there: a multiset.
  { dir: "wikipedia-default", checksums: true, baseline: "opt.basic/dns.log", ordered: false },
];

for (const c of DNS_CASES) {
  Deno.test({
    name: `corpus ${c.dir}: dns.log rows equal Zeek's`,
    ignore: !HAVE_CORPUS,
    fn: async () => {
      const world = await driveTrace(await pcapOf(c.dir), createDnsAnalyzer(c.options), {
        checksums: c.checksums ?? false,
      });
      compare(world, new URL(`${c.dir}/${c.baseline}`, CORPUS), c.ordered ?? true, c.columns);
    },
  });
}

Deno.test({
  name: "corpus dns-max-queries: the count limit is a violation and a weird with 'n > limit'",
  ignore: !HAVE_CORPUS,
  fn: async () => {
    const world = await driveTrace(
      await pcapOf("dns-max-queries"),
      createDnsAnalyzer({ maxQueries: 3 }),
      { checksums: true },
    );
    assert.deepEqual(world.weirds.map((w) => [w.name, w.addl]), [[
      "DNS_Conn_count_too_large",
      "10 > 3",
    ]]);
    assert.deepEqual(world.violations.map((v) => v.reason), ["DNS_Conn_count_too_large"]);
  },
});

Deno.test({
  name: "corpus dns-max-compression-depth: the chain limit weird names the depth, the row goes on",
  ignore: !HAVE_CORPUS,
  fn: async () => {
    const world = await driveTrace(
      await pcapOf("dns-max-compression-depth"),
      createDnsAnalyzer({ maxCompressionDepth: 5 }),
      { checksums: true },
    );
    const depth = world.weirds.filter((w) => w.name === "DNS_max_compression_chain_depth_exceeded");
    assert.ok(depth.length > 0);
    assert.ok(depth.every((w) => w.addl === "6"));
    const row = world.render()[0]!.split("\t");
    // The flip: the lone reply came from the originator, so roles swap (conn history D^X).
    assert.deepEqual(row.slice(2, 6), ["5.6.7.8", "53", "1.2.3.4", "12345"]);
  },
});

Deno.test({
  name: "corpus dns-edns-bad-length: with the additional section parsed, EDNS_truncated_option",
  ignore: !HAVE_CORPUS,
  fn: async () => {
    const world = await driveTrace(
      await pcapOf("dns-edns-bad-length"),
      createDnsAnalyzer({ skipAllAddl: false }),
    );
    assert.deepEqual(world.weirds.map((w) => [w.name, w.addl]), [[
      "EDNS_truncated_option",
      undefined,
    ]]);
  },
});
