import assert from "node:assert/strict";
import type { ZeekValue } from "../../../zeek/mod.ts";
import type { ConnEndpoints } from "../framework/mod.ts";
import { createDnsAnalyzer, DNS_ANALYZER } from "./mod.ts";
import { FakeHost, FakeWorld } from "./fake_host_test.ts";

/** Builds DNS messages for tests. */
class Msg {
  readonly bytes: number[] = [];
  constructor(
    id: number,
    flags: number,
    counts: [number, number, number, number],
  ) {
    this.u16(id).u16(flags);
    for (const c of counts) this.u16(c);
  }
  u8(...v: number[]): this {
    this.bytes.push(...v);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >> 8, v & 0xff);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  name(text: string): this {
    if (text !== "") {
      for (const label of text.split(".")) {
        this.u8(label.length, ...[...label].map((c) => c.charCodeAt(0)));
      }
    }
    return this.u8(0);
  }
  question(name: string, qtype = 1, qclass = 1): this {
    return this.name(name).u16(qtype).u16(qclass);
  }
  rr(owner: string, type: number, ttl: number, rdata: number[]): this {
    return this.name(owner).u16(type).u16(1).u32(ttl).u16(rdata.length).u8(...rdata);
  }
  get data(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const QUERY = 0x0100; // RD
const REPLY = 0x8180; // QR RD RA

const UDP: ConnEndpoints = {
  origH: "10.0.0.1",
  origP: 40000,
  respH: "10.0.0.2",
  respP: 53,
  proto: "udp",
};

function udp(id: ConnEndpoints = UDP, options = {}, withEvents = false) {
  const world = new FakeWorld(withEvents);
  const host = new FakeHost(world, id, 100);
  const a = createDnsAnalyzer(options).createPacketAnalyzer!(host);
  const at = (t: number, data: Uint8Array, isOrig: boolean) => {
    host.time = t;
    a.packet(data, isOrig);
  };
  return { world, host, a, at };
}

/** A rendered row's columns by name (`ts`/`uid` included). */
function rows(world: FakeWorld): Record<string, string>[] {
  const stream = world.logs.stream("DNS::LOG");
  if (stream === undefined) return [];
  const names = stream.columns.map((c) => c.name);
  return world.render().map((line) =>
    Object.fromEntries(line.split("\t").map((v, i) => [names[i]!, v]))
  );
}

function bytes(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

Deno.test("a query and its reply make one row with rtt, answers and TTLs", () => {
  const { world, a, at } = udp();
  at(100, new Msg(7, QUERY, [1, 0, 0, 0]).question("Example.COM").data, true);
  at(
    100.25,
    new Msg(7, REPLY, [1, 1, 0, 0]).question("example.com").rr("example.com", 1, 300, [
      192,
      0,
      2,
      1,
    ]).data,
    false,
  );
  const [r] = rows(world);
  assert.equal(r!["query"], "example.com");
  assert.equal(r!["rtt"], "0.250000");
  assert.equal(r!["qtype_name"], "A");
  assert.equal(r!["qclass_name"], "C_INTERNET");
  assert.equal(r!["answers"], "192.0.2.1");
  assert.equal(r!["TTLs"], "300.000000");
  assert.equal(r!["rcode_name"], "NOERROR");
  assert.deepEqual([r!["RD"], r!["RA"], r!["AA"]], ["T", "T", "F"]);
  a.done();
  assert.equal(world.rows.length, 1);
});

Deno.test("messages under 12 bytes and unknown opcodes are weirds without rows", () => {
  const { world, host, a, at } = udp();
  at(100, new Uint8Array(11), true);
  at(100, new Msg(1, 0x1000 | QUERY, [1, 0, 0, 0]).question("x").data, true); // opcode 2
  a.done();
  assert.deepEqual(world.weirds.map((w) => [w.name, w.addl]), [
    ["DNS_truncated_len_lt_hdr_len", undefined],
    ["DNS_unknown_opcode", "2"],
  ]);
  assert.equal(host.historyText, "X");
  assert.equal(world.rows.length, 0);
});

Deno.test("more than 25 questions: violation, weird '30 > 25', history X, the row comes at removal", () => {
  const { world, host, a, at } = udp();
  const m = new Msg(99, QUERY, [30, 0, 0, 0]);
  at(100, m.data, true);
  assert.deepEqual(world.violations.map((v) => v.reason), ["DNS_Conn_count_too_large"]);
  assert.deepEqual(world.weirds.map((w) => [w.name, w.addl]), [[
    "DNS_Conn_count_too_large",
    "30 > 25",
  ]]);
  assert.equal(host.historyText, "X");
  assert.equal(host.confirmations, 0);
  a.done();
  const [r] = rows(world);
  assert.equal(r!["trans_id"], "99");
  assert.equal(r!["query"], "-");
});

Deno.test("names: raw bytes kept, owner names lower-cased, the writer escapes", () => {
  const { world, at } = udp();
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("x").data, true);
  const reply = new Msg(1, REPLY, [1, 1, 0, 0]).question("x")
    .u8(5, ...bytes("a B.c"), 3, 0x09, 0x64, 0x2e, 2, 0xff, 0x2c, 7, ...bytes("EXAMPLE"), 0)
    .u16(5).u16(1).u32(60).u16(3).u8(1, 0x79, 0);
  at(100.5, reply.data, false);
  const [r] = rows(world);
  assert.equal(r!["query"], "x");
  assert.equal(r!["answers"], "y");
});

Deno.test("the query of a request keeps case only in the original; a\\x20b.c\\x09d.\\xff,.example prints as Zeek's", () => {
  const { world, a, at } = udp();
  const q = new Msg(1, QUERY, [1, 0, 0, 0])
    .u8(3, ...bytes("a b"), 3, 0x63, 0x09, 0x64, 2, 0xff, 0x2c, 7, ...bytes("EXAMPLE"), 0).u16(1)
    .u16(1);
  at(100, q.data, true);
  a.done();
  const [r] = rows(world);
  assert.equal(r!["query"], "a b.c\\x09d.\\xff,.example");
});

Deno.test("compression: backward pointers work, forward ones are a weird and abort", () => {
  const { world, at, a } = udp();
  const m = new Msg(1, REPLY, [1, 2, 0, 0]).question("www.example.com");
  // 0xc00c points at the question name (offset 12).
  m.u8(0xc0, 12).u16(5).u16(1).u32(10).u16(6).u8(3, ...bytes("cdn"), 0xc0, 16);
  m.u8(0xc0, 0xff).u16(1).u16(1).u32(10).u16(4).u8(1, 2, 3, 4);
  at(100, m.data, true);
  a.done();
  const [r] = rows(world);
  assert.equal(r!["answers"], "cdn.example.com");
  assert.equal(r!["query"], "www.example.com");
  assert.deepEqual(world.weirds.map((w) => w.name), ["DNS_label_forward_compress_offset"]);
});

Deno.test("a compression chain deeper than 20 is cut there with a weird naming the depth", () => {
  const { world, host, at, a } = udp();
  // 23 questions: "a", then each one label "a" and a pointer to the previous question.
  const m = new Msg(1, QUERY, [23, 0, 0, 0]);
  let prev = -1;
  for (let i = 0; i < 23; i++) {
    const start = m.bytes.length;
    m.u8(1, 0x61);
    if (prev < 0) m.u8(0);
    else m.u8(0xc0, prev);
    m.u16(1).u16(1);
    prev = start;
  }
  at(100, m.data, true);
  a.done();
  const depth = world.weirds.filter((w) => w.name === "DNS_max_compression_chain_depth_exceeded");
  // Question 21 (21 pointers) and question 22 each cross the limit.
  assert.deepEqual(depth.map((w) => w.addl), ["21", "21"]);
  assert.ok(host.historyText.includes("X"));
  // The last question wins; its name stops after 21 levels of "a".
  assert.equal(rows(world)[0]!["query"], Array(21).fill("a").join("."));
  assert.equal(host.confirmations, 1);
});

Deno.test("a pointer to itself is a forward pointer (no loop)", () => {
  const { world, at } = udp();
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).u8(0xc0, 12).u16(1).u16(1).data, true);
  assert.deepEqual(world.weirds.map((w) => w.name), ["DNS_label_forward_compress_offset"]);
});

Deno.test("RR rendering: TXT strings, SPF, MX, SOA, SRV, AAAA (v4-mapped), unknown types", () => {
  const { world, at } = udp();
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("t").data, true);
  const txt = [11, ...bytes("hello world"), 6, ...bytes("second"), 0];
  const m = new Msg(1, REPLY, [1, 7, 0, 0]).question("t")
    .rr("t", 16, 1, txt)
    .rr("t", 99, 2, [4, ...bytes("-all"), 2, 0x01, 0x5c])
    .rr("t", 15, 3, [0, 10, 2, ...bytes("mx"), 0])
    .rr("t", 6, 4, [2, ...bytes("ns"), 0, 1, ...bytes("h"), 0, ...new Array(20).fill(0)])
    .rr("t", 33, 5, [0, 1, 0, 2, 0, 3, 3, ...bytes("srv"), 0])
    .rr("t", 28, 6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7])
    .rr("t", 52, 7, [1, 2, 3]);
  at(101, m.data, false);
  const [r] = rows(world);
  assert.equal(
    r!["answers"],
    "TXT 11 hello world TXT 6 second TXT 0 ,SPF 4 -all SPF 2 \\\\x01\\\\,mx,ns,srv,192.0.2.7,<unknown type=52>",
  );
  assert.equal(r!["TTLs"], "1.000000,2.000000,3.000000,4.000000,5.000000,6.000000,7.000000");
  assert.deepEqual(world.weirds.map((w) => [w.name, w.addl]), [["DNS_RR_unknown_type", "52"]]);
});

Deno.test("A with rdlength other than 4 aborts the section; a name RR longer than its name misaligns", () => {
  const { world, at } = udp();
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("q").data, true);
  at(
    101,
    new Msg(1, REPLY, [1, 2, 0, 0]).question("q").rr("q", 1, 1, [1, 2, 3]).rr("q", 1, 1, [
      1,
      2,
      3,
      4,
    ]).data,
    false,
  );
  assert.deepEqual(world.weirds.map((w) => w.name), ["DNS_RR_bad_length"]);
  const [r] = rows(world);
  assert.equal(r!["answers"], "-");
  assert.equal(r!["rtt"], "-");
  const b = udp();
  b.at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("q").data, true);
  b.at(
    101,
    new Msg(1, REPLY, [1, 2, 0, 0]).question("q").rr("q", 5, 1, [1, 0x63, 0, 9]).rr("q", 1, 1, [
      1,
      2,
      3,
      4,
    ]).data,
    false,
  );
  assert.deepEqual(b.world.weirds.map((w) => w.name), [
    "DNS_RR_length_mismatch",
    "DNS_truncated_RR_rdlength_lt_len",
  ]);
  assert.equal(rows(b.world)[0]!["answers"], "c");
});

Deno.test("WKS sets rtt/AA/RA without an answer and consumes nothing (the next RR is misread)", () => {
  const { world, at } = udp();
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("w", 11).data, true);
  at(
    101,
    new Msg(1, REPLY | 0x0400, [1, 2, 0, 0]).question("w", 11).rr("w", 11, 1, [
      0xc0,
      0xff,
      0,
      0,
      0,
      0,
    ])
      .rr("w", 1, 1, [1, 2, 3, 4]).data,
    false,
  );
  const [r] = rows(world);
  assert.equal(r!["rtt"], "1.000000");
  assert.equal(r!["AA"], "T");
  assert.equal(r!["answers"], "-");
  assert.deepEqual(world.weirds.map((w) => w.name), ["DNS_label_forward_compress_offset"]);
});

Deno.test("a reply without RRs is rejected (NOERROR too); NXDOMAIN leaves rtt, AA, RA unset", () => {
  const { world, at } = udp();
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("n").data, true);
  at(101, new Msg(1, REPLY | 0x0403, [1, 0, 0, 0]).question("n").data, false);
  const [r] = rows(world);
  assert.equal(r!["rejected"], "T");
  assert.equal(r!["rcode_name"], "NXDOMAIN");
  assert.equal(r!["rtt"], "-");
  assert.equal(r!["AA"], "F");
});

Deno.test("pairing is FIFO by transaction id only; unmatched replies and queries are written at removal", () => {
  const { world, a, at } = udp();
  at(100, new Msg(4, QUERY, [1, 0, 0, 0]).question("a").data, true);
  at(100, new Msg(4, QUERY, [1, 0, 0, 0]).question("b").data, true);
  at(100, new Msg(5, QUERY, [1, 0, 0, 0]).question("c").data, true);
  at(101, new Msg(5, REPLY, [1, 1, 0, 0]).question("c").rr("c", 1, 1, [3, 3, 3, 3]).data, false);
  at(102, new Msg(4, REPLY, [1, 0, 0, 0]).question("b").data, false);
  at(103, new Msg(4, REPLY, [1, 1, 0, 0]).question("a").rr("a", 1, 1, [1, 1, 1, 1]).data, false);
  at(104, new Msg(4, REPLY, [1, 1, 0, 0]).question("a").rr("a", 1, 1, [1, 1, 1, 1]).data, false);
  const before = rows(world).map((r) => [r["query"], r["rejected"], r["answers"]]);
  assert.deepEqual(before, [["c", "F", "3.3.3.3"], ["a", "T", "-"], ["b", "F", "1.1.1.1"]]);
  a.done();
  const dup = rows(world)[3]!;
  assert.equal(dup["query"], "a");
  assert.equal(dup["rtt"], "-");
  assert.equal(dup["qtype"], "-");
});

Deno.test("multicast: no pairing, one row per message, no flip", () => {
  const id: ConnEndpoints = {
    origH: "192.168.0.2",
    origP: 5353,
    respH: "224.0.0.251",
    respP: 5353,
    proto: "udp",
  };
  const { world, host, at } = udp(id);
  at(100, new Msg(0, 0x8400, [0, 1, 0, 0]).rr("x.local", 1, 120, [1, 2, 3, 4]).data, true);
  at(100, new Msg(0, 0, [1, 0, 0, 0]).question("y.local", 1, 0x8001).data, true);
  assert.equal(host.flips, 0);
  const r = rows(world);
  assert.deepEqual(
    r.map((x) => [x["query"], x["answers"], x["qclass"], x["qclass_name"], x["rtt"]]),
    [
      ["x.local", "1.2.3.4", "-", "-", "-"],
      ["y.local", "-", "32769", "qclass-32769", "-"],
    ],
  );
});

Deno.test("a first reply from the originator flips the roles", () => {
  const { world, host, at, a } = udp({ ...UDP, origP: 53 });
  at(100, new Msg(3, REPLY, [1, 1, 0, 0]).question("f").rr("f", 1, 1, [1, 2, 3, 4]).data, true);
  a.done();
  assert.equal(host.flips, 1);
  const [r] = rows(world);
  assert.equal(r!["id.orig_h"], "10.0.0.2");
  assert.equal(r!["rtt"], "-");
});

Deno.test("more than 50 pending ids flush the table; the 52nd message of one id flushes its queue", () => {
  const { world, at } = udp();
  at(100, new Msg(1000, QUERY, [1, 0, 0, 0]).question("fast").data, true);
  for (let i = 0; i < 52; i++) {
    at(100, new Msg(i, QUERY, [1, 0, 0, 0]).question(`q${i}`).data, true);
  }
  assert.equal(world.rows.length, 51);
  const b = udp();
  for (let i = 0; i < 53; i++) {
    b.at(100, new Msg(7, QUERY, [1, 0, 0, 0]).question(`q${i}`).data, true);
  }
  assert.equal(b.world.rows.length, 51);
});

Deno.test("NetBIOS: names decoded on 137/udp, SRV is NBSTAT, opcodes from the NetBIOS table", () => {
  const id: ConnEndpoints = {
    origH: "10.0.0.1",
    origP: 137,
    respH: "10.0.0.255",
    respP: 137,
    proto: "udp",
  };
  const { world, a, at } = udp(id);
  at(
    100,
    new Msg(1, 0x2910, [1, 0, 0, 1]).question("FEEIEFCAEOEFFEECEJEPFDCAEOEBENEF", 33).data,
    true,
  );
  a.done();
  const [r] = rows(world);
  assert.equal(r!["query"], "THE NETBIOS NAM");
  assert.equal(r!["qtype_name"], "NBSTAT");
  assert.equal(r!["opcode_name"], "netbios-registration");
});

Deno.test("auth-addl: authority and additional answers go into the auth and addl sets", () => {
  const { world, at } = udp(UDP, { authAddl: true });
  at(100, new Msg(1, QUERY, [1, 0, 0, 0]).question("a").data, true);
  at(
    101,
    new Msg(1, REPLY, [1, 1, 2, 1]).question("a").rr("a", 1, 1, [1, 1, 1, 1])
      .rr("a", 2, 1, [2, ...bytes("ns"), 0]).rr("a", 2, 1, [2, ...bytes("ns"), 0])
      .rr("ns.a", 1, 1, [2, 2, 2, 2]).data,
    false,
  );
  const [r] = rows(world);
  assert.equal(r!["answers"], "1.1.1.1");
  assert.equal(r!["auth"], "ns");
  assert.equal(r!["addl"], "2.2.2.2");
});

Deno.test("events: dns_request and dns_end go to site handlers only when handled", () => {
  const { world, at } = udp(UDP, {}, true);
  const seen: ZeekValue[][] = [];
  world.events!.on("dns_request", (...args) => void seen.push(args));
  at(100, new Msg(9, QUERY, [1, 0, 0, 0]).question("Ev.example", 28).data, true);
  assert.equal(seen.length, 1);
  const [, msg, query, qtype, qclass] = seen[0]!;
  assert.equal((msg as { id: number }).id, 9);
  assert.deepEqual([query, qtype, qclass], ["ev.example", 28, 1]);
  assert.equal(world.events!.invocations.get("dns_end"), undefined);
});

Deno.test("TCP: framing across segments, a split length prefix, several messages per segment", () => {
  const world = new FakeWorld();
  const host = new FakeHost(world, { ...UDP, proto: "tcp" }, 100);
  const a = DNS_ANALYZER.createStreamAnalyzer!(host);
  const frame = (m: Uint8Array) => Uint8Array.from([m.length >> 8, m.length & 0xff, ...m]);
  const q1 = frame(new Msg(1, QUERY, [1, 0, 0, 0]).question("one").data);
  const q2 = frame(new Msg(2, QUERY, [1, 0, 0, 0]).question("two").data);
  const both = Uint8Array.from([...q1, ...q2]);
  a.stream(both.subarray(0, 1), true);
  a.stream(both.subarray(1, 7), true);
  a.stream(both.subarray(7), true);
  const r1 = frame(
    new Msg(1, REPLY, [1, 1, 0, 0]).question("one").rr("one", 1, 1, [1, 1, 1, 1]).data,
  );
  const r2 = frame(
    new Msg(2, REPLY, [1, 1, 0, 0]).question("two").rr("two", 1, 1, [2, 2, 2, 2]).data,
  );
  host.time = 100.5;
  a.stream(Uint8Array.from([...r1, ...r2]), false);
  assert.deepEqual(rows(world).map((r) => [r["query"], r["answers"], r["proto"]]), [
    ["one", "1.1.1.1", "tcp"],
    ["two", "2.2.2.2", "tcp"],
  ]);
});

Deno.test("TCP: a partial message is parsed at every close (twice), a zero length after it", () => {
  const world = new FakeWorld();
  const host = new FakeHost(world, { ...UDP, proto: "tcp" }, 100);
  const a = DNS_ANALYZER.createStreamAnalyzer!(host);
  const m = new Msg(41, QUERY, [1, 0, 0, 0]).question("flush.example").data;
  a.stream(Uint8Array.from([0, m.length + 10, ...m]), true);
  a.closed(true);
  a.closed(false);
  a.stream(Uint8Array.from([0]), true);
  a.done();
  assert.deepEqual(rows(world).map((r) => [r["trans_id"], r["query"]]), [
    ["41", "flush.example"],
    ["41", "flush.example"],
  ]);
  assert.deepEqual(world.weirds.map((w) => w.name), ["DNS_truncated_len_lt_hdr_len"]);
});

Deno.test("dynamic update: prerequisites, deletions and additions as Zeek renders them", () => {
  const { world, at } = udp();
  const zone = (m: Msg) => m.name("example.org").u16(6).u16(1);
  const q = zone(new Msg(5, 0x2800, [1, 1, 3, 0]))
    .name("h.example.org").u16(5).u16(254).u32(0).u16(0)
    .name("h.example.org").u16(28).u16(255).u32(0).u16(0)
    .name("h.example.org").u16(255).u16(255).u32(0).u16(0)
    .rr("h.example.org", 1, 1200, [192, 0, 2, 6]);
  at(100, q.data, true);
  const r = zone(new Msg(5, 0xa800, [1, 1, 3, 0]))
    .name("h.example.org").u16(5).u16(254).u32(0).u16(0)
    .name("h.example.org").u16(28).u16(255).u32(0).u16(0)
    .name("h.example.org").u16(255).u16(255).u32(0).u16(0)
    .rr("h.example.org", 1, 1200, [192, 0, 2, 6]);
  at(100.1, r.data, false);
  const [row] = rows(world);
  assert.equal(
    row!["answers"],
    "pre: NoRRSet CNAME h.example.org,del: RRSet AAAA,del: RRSet * h.example.org,add: A h.example.org 192.0.2.6",
  );
  assert.equal(row!["opcode_name"], "dynamic-update");
});
