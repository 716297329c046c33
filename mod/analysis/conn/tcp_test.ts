import assert from "node:assert/strict";
import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../../capture/mod.ts";
import { fill, type PacketSpec, trackerWithRows } from "../../../testing/conn_packets.ts";

const c = (flags: number, seq: number, ack: number, len = 0): PacketSpec => ({
  src: "10.0.0.1",
  dst: "10.0.0.2",
  sport: 50000,
  dport: 80,
  flags,
  seq,
  ack,
  len,
});
const s = (flags: number, seq: number, ack: number, len = 0): PacketSpec => ({
  src: "10.0.0.2",
  dst: "10.0.0.1",
  sport: 80,
  dport: 50000,
  flags,
  seq,
  ack,
  len,
});

function run(packets: readonly (readonly [number, PacketSpec])[], reportGapsForPartial = false) {
  const { tracker, rows } = trackerWithRows({ reportGapsForPartial });
  const d = new DecodedPacket();
  for (const [t, p] of packets) tracker.packet(fill(d, p), 10 + t);
  tracker.flush();
  return rows;
}

Deno.test("acknowledged data never seen counts in the size, missed_bytes and g", () => {
  const rows = run([
    [0, c(TCP_SYN, 1000, 0)],
    [0.1, s(TCP_SYN | TCP_ACK, 5000, 1001)],
    [0.2, c(TCP_ACK, 1001, 5001, 10)],
    [0.3, s(TCP_ACK, 5501, 1011, 100)],
    [0.4, c(TCP_ACK, 1011, 5601)],
  ]);
  const r = rows[0]!;
  assert.equal(r["resp_bytes"], 600);
  assert.equal(r["missed_bytes"], 500);
  assert.equal(r["history"], "ShDdAg");
});

Deno.test("gaps of partial connections are not reported", () => {
  const rows = run([
    [0, c(TCP_ACK, 1001, 5001, 10)],
    [0.1, s(TCP_ACK, 5501, 1011, 100)],
    [0.2, c(TCP_ACK, 1011, 5601)],
  ]);
  assert.equal(rows[0]!["missed_bytes"], 0);
  assert.equal(rows[0]!["history"], "DdA");
});

Deno.test("a SYN after a rejection starts a new REJ row even with the same ISN", () => {
  const rows = run([
    [0, c(TCP_SYN, 1000, 0)],
    [0.05, s(TCP_RST | TCP_ACK, 0, 1001)],
    [0.5, c(TCP_SYN, 1000, 0)],
    [0.55, s(TCP_RST | TCP_ACK, 0, 1001)],
  ]);
  assert.deepEqual(rows.map((r) => `${r["history"]} ${r["conn_state"]}`), ["Sr REJ", "Sr REJ"]);
});

Deno.test("RSTOS0 needs the SYN first; SaFR is OTH", () => {
  const a = run([[0, c(TCP_SYN, 1000, 0)], [0.1, c(TCP_RST, 1001, 0)]]);
  assert.equal(`${a[0]!["history"]} ${a[0]!["conn_state"]}`, "SR RSTOS0");
  const b = run([
    [0, c(TCP_SYN, 1000, 0)],
    [0.1, s(TCP_ACK, 5000, 1001)],
    [0.2, c(TCP_FIN | TCP_ACK, 1001, 5000)],
    [0.3, c(TCP_RST, 1002, 0)],
  ]);
  assert.equal(`${b[0]!["history"]} ${b[0]!["conn_state"]}`, "SaFR OTH");
});

Deno.test("sizes follow sequence numbers across a 32-bit wrap", () => {
  const rows = run([
    [0, c(TCP_SYN, 0xfffffff0, 0)],
    [0.1, s(TCP_SYN | TCP_ACK, 7, 0xfffffff1)],
    [0.2, c(TCP_ACK, 0xfffffff1, 8, 100)],
    [0.3, s(TCP_ACK, 8, 0x55)],
  ]);
  assert.equal(rows[0]!["orig_bytes"], 100);
  assert.equal(rows[0]!["conn_state"], "S1");
});
