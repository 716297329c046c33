/**
 * Packets stamped earlier than the packet before them, as real captures
 * hold. Expected values follow Zeek's sources (see tracker.ts's module
 * comment): connections take each packet's own stamp for `start_time` and
 * `last_time`, network time (which fires timers) never goes back, and
 * conn.log's `duration` is `last_time - start_time`, logged only when
 * positive.
 */

import assert from "node:assert/strict";
import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_SYN } from "../../../capture/mod.ts";
import { fill, type PacketSpec, type Row, trackerWithRows } from "../../../testing/conn_packets.ts";
import { DEFAULT_CONN_TIMEOUTS } from "./tracker.ts";

const C = "10.0.0.1";
const S = "93.184.216.34";
const OTHER = "10.0.0.9";

const c2s = (flags: number, seq: number, ack: number, len = 0): PacketSpec => ({
  src: C,
  dst: S,
  sport: 40000,
  dport: 80,
  flags,
  seq,
  ack,
  len,
});
const s2c = (flags: number, seq: number, ack: number, len = 0): PacketSpec => ({
  src: S,
  dst: C,
  sport: 80,
  dport: 40000,
  flags,
  seq,
  ack,
  len,
});
const udp = (src: string, dst: string, sport: number, dport: number): PacketSpec => ({
  src,
  dst,
  sport,
  dport,
  proto: 17,
  len: 10,
});
/** A packet of an unrelated connection: it only moves network time. */
const elsewhere = udp(OTHER, S, 5000, 53);

function setup() {
  const { tracker, rows } = trackerWithRows();
  const d = new DecodedPacket();
  const send = (ts: number, spec: PacketSpec) => tracker.packet(fill(d, spec), ts);
  const rowOf = (port: number): Row | undefined => rows.find((r) => r["id.orig_p"] === port);
  return { tracker, rows, send, rowOf };
}

Deno.test("a SYN stamped before the packet ahead of it starts its connection at its own stamp", () => {
  const { tracker, send, rowOf } = setup();
  send(1000.736166, elsewhere);
  send(1000.736154, c2s(TCP_SYN, 100, 0));
  assert.equal(tracker.now, 1000.736166, "network time does not step back");
  send(1000.8, s2c(TCP_SYN | TCP_ACK, 500, 101));
  send(1000.9, c2s(TCP_ACK, 101, 501));
  send(1001.0, c2s(TCP_FIN | TCP_ACK, 101, 501));
  send(1001.1, s2c(TCP_FIN | TCP_ACK, 501, 102));
  send(1001.2, c2s(TCP_ACK, 102, 502));
  tracker.flush();
  const row = rowOf(40000)!;
  assert.equal(row["ts"], 1000.736154);
  // The last ACK comes after both sides closed, which no longer moves last_time.
  assert.equal(row["duration"], 1001.1 - 1000.736154);
  assert.equal(row["conn_state"], "SF");
});

Deno.test("a last packet stamped before the one ahead of it ends its connection at its own stamp", () => {
  const { tracker, send, rowOf } = setup();
  // UDP: the third datagram is stamped before the second.
  send(2000, udp(C, S, 41000, 53));
  send(2000.5, udp(S, C, 53, 41000));
  send(2000.4, udp(C, S, 41000, 53));
  // TCP: the final ACK is stamped before the data it acknowledges.
  send(3000, c2s(TCP_SYN, 100, 0));
  send(3000.1, s2c(TCP_SYN | TCP_ACK, 500, 101));
  send(3000.2, c2s(TCP_ACK, 101, 501));
  send(3000.5, c2s(TCP_ACK | 0x08, 101, 501, 20));
  send(3000.3, s2c(TCP_ACK, 501, 121));
  // A connection whose second packet is stamped before its first: the
  // duration is negative, so conn.log leaves it (and the sizes) unset.
  send(4000.5, udp(C, S, 42000, 53));
  send(4000.2, udp(C, S, 42000, 53));
  assert.equal(tracker.now, 4000.5);
  tracker.flush();

  const u = rowOf(41000)!;
  assert.equal(u["ts"], 2000);
  assert.equal(u["duration"], 2000.4 - 2000);
  assert.equal(u["orig_pkts"], 2);
  const t = rowOf(40000)!;
  assert.equal(t["ts"], 3000);
  assert.equal(t["duration"], 3000.3 - 3000);
  assert.equal(t["orig_bytes"], 20);
  const n = rowOf(42000)!;
  assert.equal(n["ts"], 4000.5);
  assert.equal(n["duration"], undefined);
  assert.equal(n["orig_bytes"], undefined);
  assert.equal(n["orig_pkts"], 2);
});

Deno.test("timers count from packet stamps but fire on network time", () => {
  const timeouts = DEFAULT_CONN_TIMEOUTS;

  // Inactivity: a datagram stamped 100.2 after network time reached 100.5
  // sets last_time to 100.2, so the connection expires at 100.2 + 60.
  {
    const { tracker, rows, send } = setup();
    send(100, udp(C, S, 41000, 53));
    send(100.5, elsewhere);
    send(100.2, udp(C, S, 41000, 53));
    tracker.advance(100.2 + timeouts.udpInactivity - 0.1);
    assert.equal(rows.length, 0);
    tracker.advance(100.2 + timeouts.udpInactivity);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!["ts"], 100);
    assert.equal(rows[0]!["duration"], 100.2 - 100);
  }

  // Attempt: an unanswered SYN stamped 9.9 after network time 10 times out
  // tcp_attempt_delay after its own stamp.
  {
    const { tracker, rows, send } = setup();
    send(10, elsewhere);
    send(9.9, c2s(TCP_SYN, 100, 0));
    tracker.advance(9.9 + timeouts.tcpAttemptDelay - 0.01);
    assert.equal(rows.length, 0);
    tracker.advance(9.9 + timeouts.tcpAttemptDelay);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!["ts"], 9.9);
    assert.equal(rows[0]!["conn_state"], "S0");
  }

  // Expire: the first TCP expire check is due tcp_SYN_timeout after network
  // time (10), not after the packet (9). A packet with a bad checksum leaves
  // both endpoints inactive, so that check (last_time 9 + linger < 15)
  // removes the connection.
  {
    const { tracker, rows, send } = setup();
    send(10, elsewhere);
    send(9, { ...c2s(TCP_ACK, 100, 0), badChecksum: true });
    tracker.advance(10 + timeouts.tcpSynTimeout - 0.01);
    assert.equal(rows.length, 0);
    tracker.advance(10 + timeouts.tcpSynTimeout);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!["ts"], 9);
    assert.equal(rows[0]!["history"], "C");
  }
});

Deno.test("after an idle wall-clock tick, packets keep their stamps and timers fire once", () => {
  const { tracker, rows, send } = setup();
  tracker.advance(500);
  // Stamped behind network time: its inactivity timer (160) is already due.
  send(100, udp(C, S, 41000, 53));
  assert.equal(tracker.now, 500);
  assert.equal(rows.length, 0, "a timer armed in the past waits for the next advance");
  tracker.advance(400);
  assert.equal(tracker.now, 500, "network time does not step back");
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!["ts"], 100);
  tracker.advance(500);
  tracker.advance(1000);
  assert.equal(rows.length, 1);
});
