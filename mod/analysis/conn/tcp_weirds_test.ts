import assert from "node:assert/strict";
import {
  DecodedPacket,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from "../../../capture/mod.ts";
import { fill, type PacketSpec, trackerWithRows } from "../../../testing/conn_packets.ts";
import { CF_WEIRD } from "./conn_table.ts";
import type { ConnTracker, ConnTrackerOptions } from "./tracker.ts";

const S_ = TCP_SYN;
const SA = TCP_SYN | TCP_ACK;
const A = TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const R = TCP_RST;

interface Extra {
  /** Captured payload bytes, when fewer than `len`. */
  readonly caplen?: number;
  /** The window scale option of a SYN. */
  readonly scale?: number;
}

type Step = readonly [number, PacketSpec & Extra];

const c = (
  flags: number,
  seq: number,
  ack: number,
  len = 0,
  extra: Partial<PacketSpec & Extra> = {},
) => ({
  src: "10.0.0.1",
  dst: "10.0.0.2",
  sport: 50000,
  dport: 80,
  flags,
  seq,
  ack,
  len,
  ...extra,
});
const s = (
  flags: number,
  seq: number,
  ack: number,
  len = 0,
  extra: Partial<PacketSpec & Extra> = {},
) => ({
  src: "10.0.0.2",
  dst: "10.0.0.1",
  sport: 80,
  dport: 50000,
  flags,
  seq,
  ack,
  len,
  ...extra,
});

/** Runs the packets; returns every weird as "name|addl|source" and, beside it, the uids. */
function run(steps: readonly Step[], options: ConnTrackerOptions = {}) {
  const weirds: string[] = [];
  const uids: string[] = [];
  const made: ReturnType<typeof trackerWithRows> = trackerWithRows({
    ...options,
    onWeird: (slot, name, addl, source) => {
      weirds.push(`${name}|${addl}|${source}`);
      uids.push(made.tracker.uidOf(slot));
    },
  });
  const tracker = made.tracker;
  const d = new DecodedPacket();
  for (const [t, spec] of steps) {
    fill(d, spec);
    if (spec.caplen !== undefined) d.payloadCaplen = spec.caplen;
    if (spec.scale !== undefined) {
      // The options after a bare 20-byte header: NOP, window scale, EOL.
      d.data = Uint8Array.of(...new Array(20).fill(0), 1, 3, 3, spec.scale, 0, 0, 0, 0);
      d.l4Offset = 0;
      d.tcpHeaderLen = 28;
    }
    tracker.packet(d, 100 + t);
  }
  tracker.flush();
  return { weirds, uids, rows: made.rows };
}

const handshake: readonly Step[] = [
  [0, c(S_, 1000, 0)],
  [0.1, s(SA, 5000, 1001)],
  [0.2, c(A, 1001, 5001)],
];

Deno.test("no TCP weird on a normal session, a rejected one or a half-open probe", () => {
  assert.deepEqual(
    run([
      ...handshake,
      [0.3, c(A | TCP_PSH, 1001, 5001, 20)],
      [0.4, s(A | TCP_PSH, 5001, 1021, 300)],
      [0.5, c(FA, 1021, 5301)],
      [0.6, s(FA, 5301, 1022)],
      [0.7, c(A, 1022, 5302)],
    ]).weirds,
    [],
  );
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, s(R | A, 0, 1001)]]).weirds, []);
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [3, c(S_, 1000, 0)]]).weirds, []);
});

Deno.test("a SYN-ACK from the originator after its SYN, with a new number: SYN_seq_jump, repeated_SYN_with_ack", () => {
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, c(SA, 2000, 7)]]).weirds, [
    "SYN_seq_jump||",
    "repeated_SYN_with_ack||TCP",
  ]);
});

Deno.test("a new SYN while the first is unanswered ends the connection with SYN_seq_jump (IsReuse, source TCP)", () => {
  const r = run([[0, c(S_, 1000, 0)], [1, c(S_, 9000, 0)]]);
  assert.deepEqual(r.weirds, ["SYN_seq_jump||TCP"]);
  assert.equal(r.rows.length, 2);
  assert.equal(r.uids[0], r.rows[0]!["uid"]);
});

Deno.test("a SYN-ACK again after data, with a new number: SYN_inside_connection, SYN_seq_jump", () => {
  assert.deepEqual(
    run([
      ...handshake,
      [0.3, s(A, 5001, 1001, 100)],
      [0.4, c(A, 1001, 5101)],
      [0.5, s(SA, 9000, 1001)],
    ]).weirds,
    ["SYN_inside_connection||", "SYN_seq_jump||"],
  );
});

Deno.test("a window whose right edge moves back is window_recision; a SYN's option sets the slop", () => {
  assert.deepEqual(
    run([
      ...handshake,
      [0.3, s(A, 5001, 1001, 0, { window: 1000 })],
      [0.4, s(A, 5001, 1001, 0, { window: 500 })],
    ]).weirds,
    ["window_recision||"],
  );
  // Scaled by 4: an edge 1 byte back is the scale's granularity, 4 bytes back is not.
  assert.deepEqual(
    run([
      [0, c(S_, 1000, 0, 0, { scale: 2 })],
      [0.1, s(SA, 5000, 1001, 0, { scale: 2 })],
      [0.2, c(A, 1001, 5001, 0, { window: 100 })],
      [0.3, c(A, 1001, 5004, 0, { window: 99 })],
      [0.4, c(A, 1001, 5004, 0, { window: 98 })],
    ]).weirds,
    ["window_recision||"],
  );
  // Windows of SYNs, FINs and RSTs are never compared.
  assert.deepEqual(
    run([
      ...handshake,
      [0.3, s(A, 5001, 1001, 0, { window: 1000 })],
      [0.4, s(FA, 5001, 1001, 0, { window: 10 })],
    ]).weirds,
    [],
  );
});

Deno.test("a window scale above 14 is TCP_scale_range with the value", () => {
  assert.deepEqual(run([[0, c(S_, 1000, 0, 0, { scale: 15 })]]).weirds, [
    "TCP_scale_range|15|TCP",
  ]);
});

Deno.test("sequence and ack numbers below the endpoint's start: the underflow weirds", () => {
  assert.deepEqual(run([...handshake, [0.3, c(A, 900, 5001, 10)]]).weirds, [
    "TCP_seq_underflow_or_misorder||TCP",
  ]);
  assert.deepEqual(run([...handshake, [0.3, s(A, 5001, 500)]]).weirds, [
    "TCP_ack_underflow_or_misorder||TCP",
  ]);
  // A RST's sequence number is not held against it.
  assert.deepEqual(run([...handshake, [0.3, c(R, 900, 0)]]).weirds, []);
});

Deno.test("the 1000th FIN or RST within a second of the endpoint's last packet is a storm", () => {
  const fins: Step[] = [...handshake];
  for (let i = 0; i < 1000; i++) fins.push([0.3 + i * 0.0001, c(FA, 1001, 5001)]);
  const r = run(fins);
  assert.deepEqual(r.weirds, ["FIN_storm||TCP"]);
  assert.deepEqual(run(fins.slice(0, -1)).weirds, []);
  const rsts: Step[] = [...handshake];
  for (let i = 0; i < 1000; i++) rsts.push([0.3 + i * 0.0001, c(R, 1001, 0)]);
  assert.deepEqual(run(rsts).weirds, ["RST_storm||TCP"]);
  // The last one a second after the one before is no storm.
  rsts[rsts.length - 1] = [2, c(R, 1001, 0)];
  assert.deepEqual(run(rsts).weirds, []);
});

Deno.test("handshake oddities: originator SYN-ACK, bad SYN-ACK, simultaneous open, unsolicited SYN-ACK", () => {
  assert.deepEqual(run([[0, c(SA, 1000, 77)]]).weirds, ["connection_originator_SYN_ack||TCP"]);
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, s(SA, 5000, 9999)]]).weirds, [
    "bad_SYN_ack||TCP",
  ]);
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, s(S_, 1000, 0)]]).weirds, [
    "simultaneous_open||TCP",
  ]);
  // A SYN-ACK from a likely server port makes its sender the responder of a silent originator.
  assert.deepEqual(run([[0, s(SA, 5000, 1001)]], { likelyServerPorts: ["80/tcp"] }).weirds, [
    "unsolicited_SYN_response||TCP",
  ]);
  // The SYN of a SYN-ACK seen first flips the roles without a weird.
  assert.deepEqual(run([[0, s(SA, 5000, 1001)], [0.1, c(S_, 1000, 0)]]).weirds, [
    "connection_originator_SYN_ack||TCP",
  ]);
});

Deno.test("a first packet with FIN or RST is spontaneous", () => {
  assert.deepEqual(run([[0, c(FA, 1000, 5000)]]).weirds, ["spontaneous_FIN||TCP"]);
  assert.deepEqual(run([[0, c(R, 1000, 0)]]).weirds, ["spontaneous_RST||TCP"]);
  // Once the peer is partial, neither is.
  assert.deepEqual(run([[0, s(A, 5000, 1000, 10)], [0.1, c(FA, 1000, 5010)]]).weirds, []);
});

Deno.test("a SYN without ACK from a responder still in its handshake: repeated_SYN_reply_wo_ack", () => {
  // The originator's SYN-ACK and the peer's ACK flip the roles (history "^h"); the
  // SYN-ACK sender, now the responder, then sends a bare SYN at the peer's start.
  assert.deepEqual(
    run([[0, c(SA, 500, 1001)], [0.1, s(A, 1001, 501)], [0.2, c(S_, 1000, 0)]]).weirds,
    ["connection_originator_SYN_ack||TCP", "SYN_seq_jump||", "repeated_SYN_reply_wo_ack||TCP"],
  );
});

Deno.test("FIN and data before the handshake completes", () => {
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, c(TCP_FIN, 1001, 0)]]).weirds, [
    "inappropriate_FIN||TCP",
  ]);
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, c(TCP_PSH, 1001, 0, 10)]]).weirds, [
    "data_before_established||TCP",
  ]);
});

Deno.test("acking a silent peer after the SYN is possible_split_routing, once no weird came before", () => {
  assert.deepEqual(run([[0, c(S_, 1000, 0)], [0.1, c(A, 1001, 5001)]]).weirds, [
    "possible_split_routing||",
  ]);
  assert.deepEqual(run([[0, c(S_, 1000, 0, 5)], [0.1, c(A, 1006, 5001)]]).weirds, [
    "SYN_with_data||TCP",
  ]);
});

Deno.test("a SYN after partial data from the same side: SYN_inside_connection, SYN_after_partial", () => {
  assert.deepEqual(run([[0, c(A, 1001, 5001, 10)], [0.1, c(S_, 1000, 0)]]).weirds, [
    "SYN_inside_connection||",
    "SYN_after_partial||TCP",
  ]);
});

Deno.test("after a close: SYN_after_close, FIN_advanced_last_seq", () => {
  assert.deepEqual(run([...handshake, [0.3, c(FA, 1001, 5001)], [0.4, c(SA, 1001, 5001)]]).weirds, [
    "SYN_after_close||TCP",
  ]);
  assert.deepEqual(
    run([...handshake, [0.3, c(FA, 1001, 5001)], [0.4, c(FA, 1001, 5001, 10)]]).weirds,
    ["FIN_advanced_last_seq||TCP"],
  );
});

Deno.test("after a reset: SYN_after_reset, FIN_after_reset, data_after_reset", () => {
  assert.deepEqual(
    run([
      ...handshake,
      [0.3, c(R, 1001, 0)],
      [0.4, c(SA, 1001, 5001)],
      [0.5, c(FA, 1001, 5001)],
      [0.6, c(A, 1001, 5001, 5)],
    ]).weirds,
    ["SYN_after_reset||TCP", "FIN_after_reset||TCP", "data_after_reset||TCP"],
  );
});

Deno.test("a new SYN on a live or just-closed connection: active/premature_connection_reuse on the old uid", () => {
  let r = run([...handshake, [0.3, c(S_, 7000, 0)]]);
  assert.deepEqual(r.weirds, ["active_connection_reuse||TCP"]);
  assert.equal(r.uids[0], r.rows[0]!["uid"]);
  // One side closed, the other still active.
  r = run([...handshake, [0.3, c(FA, 1001, 5001)], [0.4, c(S_, 7000, 0)]]);
  assert.deepEqual(r.weirds, ["active_connection_reuse||TCP"]);
  const closed: Step[] = [
    ...handshake,
    [0.3, c(FA, 1001, 5001)],
    [0.4, s(FA, 5001, 1002)],
    [0.5, c(A, 1002, 5002)],
  ];
  assert.deepEqual(run([...closed, [1, c(S_, 7000, 0)]]).weirds, [
    "premature_connection_reuse||TCP",
  ]);
  assert.deepEqual(run([...closed, [5.6, c(S_, 7000, 0)]]).weirds, []);
  // After a reset reuse is expected.
  assert.deepEqual(run([...handshake, [0.3, c(R, 1001, 0)], [0.4, c(S_, 7000, 0)]]).weirds, []);
});

Deno.test("SYN flags and payload: TCP_christmas, baroque_SYN, SYN_with_data", () => {
  assert.deepEqual(run([[0, c(S_ | R, 1000, 0)]]).weirds, [
    "TCP_christmas||TCP",
    "spontaneous_RST||TCP",
  ]);
  assert.deepEqual(run([[0, c(S_ | TCP_URG, 1000, 0)]]).weirds, ["baroque_SYN||TCP"]);
  assert.deepEqual(run([[0, c(S_, 1000, 0, 10)]]).weirds, ["SYN_with_data||TCP"]);
});

Deno.test("a payload captured short is truncated_tcp_payload unless a reassembler raises it", () => {
  const steps: Step[] = [...handshake, [0.3, c(A, 1001, 5001, 100, { caplen: 50 })]];
  assert.deepEqual(run(steps).weirds, ["truncated_tcp_payload||TCP"]);
  assert.deepEqual(run(steps, { reassembles: () => true }).weirds, []);
  // The reassembler's weird still counts for DidWeird.
  const { tracker } = trackerWithRows({ reassembles: () => true });
  const d = new DecodedPacket();
  for (const [t, spec] of steps) {
    fill(d, spec);
    if (spec.caplen !== undefined) d.payloadCaplen = spec.caplen;
    tracker.packet(d, 100 + t);
    assert.equal((tracker.table.flags[tracker.lastSlot]! & CF_WEIRD) !== 0, t === 0.3);
  }
});

Deno.test("weirds of a packet that flips the connection carry the flipped roles", () => {
  const ids: string[] = [];
  const { tracker }: { tracker: ConnTracker } = trackerWithRows({
    onWeird: (slot, name) => {
      const id = tracker.endpointsOf(slot);
      ids.push(`${name} ${id.origH}:${id.origP}`);
    },
  });
  const d = new DecodedPacket();
  // A SYN-ACK seen first, then a SYN with data: Zeek raises SYN_with_data before
  // the reversal flips the roles, and logs the flipped id.
  tracker.packet(fill(d, s(SA, 5000, 1001)), 100);
  tracker.packet(fill(d, c(S_, 1000, 0, 4)), 100.1);
  assert.deepEqual(ids, [
    "connection_originator_SYN_ack 10.0.0.2:80",
    "SYN_with_data 10.0.0.1:50000",
  ]);
});
