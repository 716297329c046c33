import assert from "node:assert/strict";
import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../../capture/mod.ts";
import { EventRegistry } from "../../bus/events.ts";
import { fill, type PacketSpec, trackerWithRows } from "../../../testing/conn_packets.ts";
import { ConnTracker } from "./tracker.ts";

const C = "10.0.0.1";
const S = "93.184.216.34";
const S_ = TCP_SYN;
const SA = TCP_SYN | TCP_ACK;
const A = TCP_ACK;
const FA = TCP_FIN | TCP_ACK;

function run(
  packets: readonly (readonly [number, PacketSpec])[],
  options: ConstructorParameters<typeof ConnTracker>[0] = {},
) {
  const { tracker, rows } = trackerWithRows(options);
  const d = new DecodedPacket();
  for (const [t, spec] of packets) tracker.packet(fill(d, spec), 1000 + t);
  tracker.flush();
  return rows;
}

const c2s = (
  flags: number,
  seq: number,
  ack: number,
  len = 0,
  extra: Partial<PacketSpec> = {},
) => ({
  src: C,
  dst: S,
  sport: 40000,
  dport: 80,
  flags,
  seq,
  ack,
  len,
  ...extra,
});
const s2c = (
  flags: number,
  seq: number,
  ack: number,
  len = 0,
  extra: Partial<PacketSpec> = {},
) => ({
  src: S,
  dst: C,
  sport: 80,
  dport: 40000,
  flags,
  seq,
  ack,
  len,
  ...extra,
});

Deno.test("a normal TCP session is SF with sizes from sequence numbers", () => {
  const rows = run([
    [0, c2s(S_, 100, 0)],
    [0.1, s2c(SA, 500, 101)],
    [0.2, c2s(A, 101, 501)],
    [0.3, c2s(A | 0x08, 101, 501, 20)],
    [0.4, s2c(A, 501, 121)],
    [0.5, s2c(A | 0x08, 501, 121, 300)],
    [0.6, c2s(FA, 121, 801)],
    [0.7, s2c(FA, 801, 122)],
    [0.8, c2s(A, 122, 802)],
  ]);
  assert.equal(rows.length, 1);
  const r = rows[0]!;
  assert.equal(r["history"], "ShADadFf");
  assert.equal(r["conn_state"], "SF");
  assert.equal(r["orig_bytes"], 20);
  assert.equal(r["resp_bytes"], 300);
  assert.equal(r["orig_pkts"], 5);
  assert.equal(r["resp_pkts"], 4);
  assert.equal(r["orig_ip_bytes"], 5 * 40 + 20);
  assert.ok(
    Math.abs((r["duration"] as number) - 0.7) < 1e-9,
    "the final ACK is not in the duration",
  );
  assert.equal(r["local_orig"], true);
  assert.equal(r["local_resp"], false);
  assert.equal(r["missed_bytes"], 0);
  assert.equal(r["ip_proto"], 6);
  assert.match(r["uid"] as string, /^C[0-9a-zA-Z]+$/);
});

Deno.test("W, I, Q and the logarithmic T follow Zeek's letters", () => {
  const packets: [number, PacketSpec][] = [
    [0, c2s(S_, 100, 0)],
    [0.1, s2c(SA, 500, 101)],
    [0.2, c2s(A, 101, 501, 0, { window: 0 })],
    [0.3, c2s(A, 101, 501, 10)],
  ];
  for (let i = 0; i < 10; i++) packets.push([0.4 + i * 0.01, c2s(A, 101, 501, 10)]);
  // A SYN with the initial sequence number is not a reuse of the connection.
  packets.push([0.6, c2s(TCP_SYN | TCP_FIN, 100, 0)]);
  packets.push([0.7, s2c(TCP_FIN | TCP_RST, 501, 111)]);
  const rows = run(packets);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!["history"], "ShAWDTTQi");
});

Deno.test("an unanswered SYN is removed 5 s later; later packets start a new partial row", () => {
  const rows = run([
    [0, c2s(S_, 100, 0)],
    [1, c2s(A, 101, 501)],
    [2, c2s(A, 101, 501, 50)],
    [6, c2s(A, 151, 501, 50)],
    [7, c2s(FA, 201, 501)],
  ]);
  assert.deepEqual(rows.map((r) => [r["history"], r["conn_state"]]), [["SAD", "S0"], ["DF", "SH"]]);
  assert.equal(rows[0]!["resp_bytes"], 0);
});

Deno.test("a RST completes the close; the next RST 5 s later is a new connection", () => {
  const rows = run([
    [0, c2s(TCP_RST, 100, 0)],
    [4.9, c2s(TCP_RST, 100, 0)],
    [60, c2s(TCP_RST, 100, 0)],
  ]);
  assert.deepEqual(rows.map((r) => `${r["history"]} ${r["conn_state"]} ${r["orig_pkts"]}`), [
    "R OTH 2",
    "R OTH 1",
  ]);
  assert.equal(rows[1]!["duration"], undefined, "a one-packet row has no duration");
  assert.equal(rows[1]!["orig_bytes"], undefined);
});

Deno.test("SYN-ACK first: the second-packet flip rewrites H as ^h", () => {
  const rows = run([
    [0, s2c(SA, 500, 101)],
    [0.1, s2c(A, 501, 101)],
    [0.2, s2c(FA, 501, 101)],
  ]);
  assert.equal(rows[0]!["history"], "^haf");
  assert.equal(rows[0]!["id.orig_h"], C);
  assert.equal(rows[0]!["orig_pkts"], 0);
  assert.equal(rows[0]!["resp_pkts"], 3);
});

Deno.test("a likely server port flips at creation, never a plain SYN", () => {
  const ports = ["80/tcp"];
  const flipped = run([[0, s2c(A, 500, 101, 10)]], { likelyServerPorts: ports });
  assert.equal(flipped[0]!["history"], "^d");
  assert.equal(flipped[0]!["id.resp_p"], 80);
  const syn = run([[0, s2c(S_, 500, 0)]], { likelyServerPorts: ports });
  assert.equal(syn[0]!["history"], "S");
  assert.equal(syn[0]!["id.orig_p"], 80);
});

Deno.test("bad checksums create the connection but count nothing", () => {
  const rows = run([[0, c2s(S_, 100, 0, 0, { badChecksum: true })]]);
  assert.equal(rows[0]!["history"], "C");
  assert.equal(rows[0]!["conn_state"], "OTH");
  assert.equal(rows[0]!["orig_pkts"], 0);
  const ignored = run([[0, c2s(S_, 100, 0, 0, { badChecksum: true })]], { checksums: false });
  assert.equal(ignored[0]!["history"], "S");
});

Deno.test("UDP: flip by likely port, not toward 255.255.255.255; inactivity is inclusive", () => {
  const dhcp = ["67/udp"];
  const u = (src: string, dst: string, sport: number, dport: number) => ({
    src,
    dst,
    sport,
    dport,
    proto: 17,
    len: 10,
  });
  const rows = run([
    [0, u("10.0.0.9", "10.0.0.7", 67, 68)],
    [1, u("10.0.0.9", "255.255.255.255", 67, 68)],
  ], { likelyServerPorts: dhcp });
  assert.deepEqual(rows.map((r) => `${r["history"]} ${r["conn_state"]}`).sort(), [
    "D S0",
    "^d SHR",
  ]);
  const timed = run([
    [0, u("10.0.0.1", "10.0.0.2", 5000, 53)],
    [60, u("10.0.0.1", "10.0.0.2", 5000, 53)],
    [61, u("10.0.0.2", "10.0.0.1", 53, 5000)],
  ]);
  assert.deepEqual(timed.map((r) => r["history"]), ["D", "Dd"]);
});

Deno.test("ICMP echo request and reply are one connection with type and counterpart as ports", () => {
  const rows = run([
    [0, { src: C, dst: S, proto: 1, icmpType: 8, len: 56 }],
    [0.1, { src: S, dst: C, proto: 1, icmpType: 0, len: 56 }],
    [0.2, { src: S, dst: C, proto: 1, icmpType: 3, icmpCode: 3, len: 28 }],
  ]);
  assert.equal(rows.length, 2);
  const echo = rows.find((r) => r["id.orig_p"] === 8)!;
  assert.equal(echo["id.resp_p"], 0);
  assert.equal(echo["orig_bytes"], 56);
  assert.equal(echo["resp_bytes"], 56);
  assert.equal(echo["history"], undefined);
  assert.equal(echo["conn_state"], "OTH");
  const unreachable = rows.find((r) => r["id.orig_p"] === 3)!;
  assert.equal(unreachable["id.resp_p"], 3);
  assert.equal(unreachable["id.orig_h"], S);
});

Deno.test("connection events run only when a handler exists", () => {
  const events = new EventRegistry((name, err) => {
    throw new Error(`${name}: ${err}`);
  });
  const seen: string[] = [];
  events.on("connection_established", (c) => {
    seen.push(`established ${(c as { history: string }).history}`);
  });
  events.on("connection_state_remove", (c) => {
    const conn = c as { history: string; orig: { size: number }; uid: string };
    seen.push(`remove ${conn.history} ${conn.orig.size} ${conn.uid.startsWith("C")}`);
  });
  run([
    [0, c2s(S_, 100, 0)],
    [0.1, s2c(SA, 500, 101)],
    [0.2, c2s(A | 0x08, 101, 501, 7)],
  ], { events });
  assert.deepEqual(seen, ["established Sh", "remove ShD 7 true"]);
  assert.equal(events.invocations.get("new_connection"), undefined);
});

Deno.test("advance() expires idle connections by wall clock when traffic stops", () => {
  const { tracker, rows } = trackerWithRows();
  const d = new DecodedPacket();
  tracker.packet(fill(d, { src: C, dst: S, sport: 1, dport: 2, proto: 17, len: 1 }), 100);
  tracker.advance(159.9);
  assert.equal(rows.length, 0);
  tracker.advance(160);
  assert.equal(rows.length, 1);
  assert.equal(tracker.stats().live, 0);
});
