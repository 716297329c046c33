import assert from "node:assert/strict";
import { concat, ethernet, ipv4, tcp, udp } from "../../../testing/frames.ts";
import {
  type Borrowed,
  lend,
  LINKTYPE_ETHERNET,
  PacketBatch,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
} from "../../../capture/mod.ts";
import { LogRegistry } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { PacketPipeline } from "../../pipeline/mod.ts";
import { ReassemblyMemory } from "../tcp/mod.ts";
import { WeirdLog } from "../weird/mod.ts";
import type { AnalyzerSpec } from "./analyzer.ts";
import { createAnalyzerStage } from "./stage.ts";

const T0 = 1_700_000_000;
const text = (s: string) => new TextEncoder().encode(s);
const CLIENT = { src: "10.0.0.1", dst: "10.0.0.2" };
const SERVER = { src: "10.0.0.2", dst: "10.0.0.1" };

/** One batch of `[seconds after T0, frame]`. */
function batch(packets: readonly (readonly [number, Uint8Array])[]): Borrowed<PacketBatch> {
  const b = new PacketBatch(packets.length);
  b.data = concat(...packets.map(([, f]) => f));
  let at = 0;
  packets.forEach(([t, frame], i) => {
    b.offset[i] = at;
    b.caplen[i] = frame.length;
    b.wireLen[i] = frame.length;
    b.linkType[i] = LINKTYPE_ETHERNET;
    b.tsSec[i] = T0 + Math.floor(t);
    b.tsNsec[i] = Math.round((t - Math.floor(t)) * 1e9);
    at += frame.length;
  });
  b.count = packets.length;
  return lend(b);
}

/** A TCP segment from `from` with `data` as its payload. */
function seg(
  from: typeof CLIENT,
  sport: number,
  dport: number,
  flags: number,
  seq: number,
  ack: number,
  data = "",
): Uint8Array {
  return ethernet(
    0x0800,
    ipv4(6, tcp({ sport, dport, flags, seq, ack, payload: text(data) }), from),
  );
}

const udpFrame = (from: typeof CLIENT, sport: number, dport: number, payload: string) =>
  ethernet(0x0800, ipv4(17, udp(sport, dport, text(payload)), from));

/**
 * A toy protocol on 7777/udp and 7777/tcp, for the framework's rules: a
 * message `OK` confirms, `BAD` violates, `IDLE` asks for the session timer;
 * what it saw and when it was done is recorded.
 */
function toySpec(seen: string[]): AnalyzerSpec {
  return {
    name: "TOY",
    ports: ["7777/udp", "7777/tcp"],
    serverPorts: ["7777/udp"],
    signatures: [],
    createPacketAnalyzer(host) {
      return {
        packet(data, isOrig) {
          const msg = new TextDecoder().decode(data);
          seen.push(`${isOrig ? ">" : "<"} ${msg}`);
          if (msg === "OK") host.confirm();
          if (msg === "BAD") host.violate("toy says bad", text("0123456789".repeat(5)));
          if (msg === "IDLE") host.expireWhenIdle(10, 9);
          if (msg === "WEIRD") host.weird("toy_weird", "42");
        },
        done: () => void seen.push(`done ${host.uid.length > 0}`),
      };
    },
    createStreamAnalyzer(host) {
      return {
        stream(data, isOrig) {
          const msg = new TextDecoder().decode(data);
          seen.push(`${isOrig ? ">" : "<"} ${msg}`);
          if (msg.includes("OK")) host.confirm();
          if (msg.includes("BAD")) host.violate("toy says bad");
          if (msg.includes("DONE")) host.disable();
        },
        undelivered: (seq, len) => void seen.push(`gap ${seq} ${len}`),
        closed: (isOrig) => void seen.push(`closed ${isOrig}`),
        done: () => void seen.push("done"),
      };
    },
  };
}

function run(
  packets: readonly (readonly [number, Uint8Array])[],
  specs?: (seen: string[]) => AnalyzerSpec[],
) {
  const seen: string[] = [];
  const rows = new Map<string, Record<string, ZeekValue>[]>();
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream, _filter, values) {
        const row: Record<string, ZeekValue> = {};
        stream.columns.forEach((c, i) => (row[c.name] = values[i]));
        rows.set(stream.path, [...(rows.get(stream.path) ?? []), row]);
      },
    },
  });
  const pipeline = new PacketPipeline({
    checksums: false,
    sessions: { logs },
    weirds: new WeirdLog({ logs }),
    analyzers: createAnalyzerStage({
      analyzers: specs?.(seen) ?? [toySpec(seen)],
      logs,
      reassembly: new ReassemblyMemory(),
    }),
  });
  pipeline.runBatch(batch(packets));
  pipeline.flush();
  return { seen, rows };
}

Deno.test("framework: attaches by responder port, confirmation names the service, done at the end", () => {
  const { seen, rows } = run([
    [0, udpFrame(CLIENT, 40000, 7777, "hello")],
    [0.1, udpFrame(SERVER, 7777, 40000, "OK")],
    [0.2, udpFrame(CLIENT, 40001, 8888, "OK")],
  ]);
  assert.deepEqual(seen, ["> hello", "< OK", "done true"]);
  const conn = rows.get("conn")!;
  assert.deepEqual(conn.map((r) => `${r["id.resp_p"]} ${r["service"]}`).sort(), [
    "7777 toy",
    "8888 undefined",
  ]);
});

Deno.test("framework: a violation before confirmation removes quietly, after it logs analyzer.log once", () => {
  const early = run([
    [0, udpFrame(CLIENT, 40000, 7777, "BAD")],
    [0.1, udpFrame(SERVER, 7777, 40000, "OK")],
  ]);
  assert.deepEqual(early.seen, ["> BAD", "done true"], "nothing reaches a removed analyzer");
  assert.equal(early.rows.has("analyzer"), false);
  assert.equal(early.rows.get("conn")![0]!["service"], undefined);

  const late = run([
    [0, udpFrame(CLIENT, 40000, 7777, "OK")],
    [0.1, udpFrame(SERVER, 7777, 40000, "BAD")],
    [0.2, udpFrame(CLIENT, 40000, 7777, "BAD")],
  ]);
  assert.deepEqual(late.seen, ["> OK", "< BAD", "done true"]);
  const analyzer = late.rows.get("analyzer")!;
  assert.equal(analyzer.length, 1);
  assert.equal(analyzer[0]!["analyzer_name"], "TOY");
  assert.equal(analyzer[0]!["failure_reason"], "toy says bad");
  assert.equal(analyzer[0]!["proto"], "udp");
  assert.equal((analyzer[0]!["failure_data"] as Uint8Array).length, 40, "40 bytes at most");
  assert.equal(late.rows.get("conn")![0]!["service"], undefined, "the service goes with it");
});

Deno.test("framework: violations past 10,240 bytes are ignored", () => {
  const big = "x".repeat(1400);
  const packets: [number, Uint8Array][] = [[0, udpFrame(CLIENT, 40000, 7777, "OK")]];
  for (let i = 0; i < 8; i++) packets.push([0.01 * (i + 1), udpFrame(CLIENT, 40000, 7777, big)]);
  packets.push([1, udpFrame(SERVER, 7777, 40000, "BAD")]);
  const { rows } = run(packets);
  assert.equal(rows.has("analyzer"), false);
  assert.equal(rows.get("conn")![0]!["service"], "toy");
});

Deno.test("framework: the session timer ends a connection idle for 9 s, re-arms while it is not", () => {
  const { rows } = run([
    [0, udpFrame(CLIENT, 40000, 7777, "IDLE")],
    [8, udpFrame(CLIENT, 40000, 7777, "more")],
    [12, udpFrame({ src: "10.0.0.3", dst: "10.0.0.4" }, 1, 2, "tick")],
    [19.5, udpFrame({ src: "10.0.0.3", dst: "10.0.0.4" }, 1, 2, "tick")],
    [30, udpFrame({ src: "10.0.0.3", dst: "10.0.0.4" }, 1, 2, "tick")],
  ]);
  const conn = rows.get("conn")!;
  const toy = conn.find((r) => r["id.resp_p"] === 7777)!;
  assert.equal(toy["duration"], 8);
  // Written when the re-armed timer (due at 20) fired with the packet at 30: 22 s idle.
  assert.equal(conn.indexOf(toy), 0, "removed before the end of input");
});

Deno.test("framework: weirds of an analyzer reach weird.log with the connection and its source", () => {
  const { rows } = run([
    [0, udpFrame(CLIENT, 40000, 7777, "WEIRD")],
    [0.1, udpFrame(CLIENT, 40000, 7777, "WEIRD")],
  ]);
  const weird = rows.get("weird")!;
  assert.equal(weird.length, 1, "once per name and 4-tuple");
  assert.equal(weird[0]!["name"], "toy_weird");
  assert.equal(weird[0]!["addl"], "42");
  assert.equal(weird[0]!["source"], "TOY");
  assert.equal(weird[0]!["id.resp_p"], 7777);
});

Deno.test("framework: TCP analyzers get the reassembled streams; violations on a partial connection are suppressed", () => {
  const whole = run([
    [0, seg(CLIENT, 40000, 7777, TCP_SYN, 100, 0)],
    [0.01, seg(SERVER, 7777, 40000, TCP_SYN | TCP_ACK, 500, 101)],
    [0.02, seg(CLIENT, 40000, 7777, TCP_ACK, 101, 501)],
    // Out of order: "LD" arrives before "WOR".
    [0.03, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 104, 501, "LD")],
    [0.04, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 101, 501, "WOR")],
    [0.05, seg(SERVER, 7777, 40000, TCP_ACK | TCP_PSH, 501, 106, "OK")],
    [0.06, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_FIN, 106, 503)],
    [0.07, seg(SERVER, 7777, 40000, TCP_ACK | TCP_FIN, 503, 107)],
    [0.08, seg(CLIENT, 40000, 7777, TCP_ACK, 107, 504)],
  ]);
  assert.deepEqual(whole.seen, ["> WOR", "> LD", "< OK", "closed true", "closed false", "done"]);
  assert.equal(whole.rows.get("conn")![0]!["service"], "toy");

  // No TCP_SYN seen: partial; the violation after confirmation is suppressed (Zeek's TCP_ApplicationAnalyzer).
  const partial = run([
    [0, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 101, 501, "OK")],
    [0.01, seg(SERVER, 7777, 40000, TCP_ACK | TCP_PSH, 501, 103, "BAD")],
  ]);
  assert.equal(partial.rows.has("analyzer"), false);
  assert.equal(partial.rows.get("conn")![0]!["service"], "toy");
});

/**
 * A parent that hands everything after `UPGRADE` to a child TOY (as SMTP
 * hands the stream to SSL after STARTTLS), and the child.
 */
function upgradingToy(seen: string[]): AnalyzerSpec[] {
  return [{
    name: "PARENT",
    ports: ["7777/tcp"],
    serverPorts: [],
    signatures: [],
    createStreamAnalyzer(host) {
      let child: ReturnType<typeof host.startChild>;
      return {
        stream(data, isOrig) {
          if (child !== undefined) return child.stream(data, isOrig);
          const msg = new TextDecoder().decode(data);
          seen.push(`parent ${msg}`);
          host.confirm();
          const at = msg.indexOf("UPGRADE");
          if (at >= 0) {
            child = host.startChild("toy");
            const rest = data.subarray(at + "UPGRADE".length);
            if (rest.length > 0) child?.stream(rest, isOrig);
          }
        },
        undelivered: (seq, len, isOrig) => child?.undelivered(seq, len, isOrig),
        closed: (isOrig) => child?.closed(isOrig),
        done: () => void seen.push("parent done"),
      };
    },
  }, { ...toySpec(seen), ports: [] }];
}

Deno.test("framework: a child analyzer gets what its parent forwards, confirms after it, ends with the connection", () => {
  const { seen, rows } = run([
    [0, seg(CLIENT, 40000, 7777, TCP_SYN, 100, 0)],
    [0.01, seg(SERVER, 7777, 40000, TCP_SYN | TCP_ACK, 500, 101)],
    [0.02, seg(CLIENT, 40000, 7777, TCP_ACK, 101, 501)],
    [0.03, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 101, 501, "hiUPGRADEOK")],
    [0.04, seg(SERVER, 7777, 40000, TCP_ACK | TCP_PSH, 501, 112, "BAD")],
    [0.05, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 112, 504, "more")],
  ], upgradingToy);
  // The child saw the rest of the first delivery and the next; its violation
  // removed it (nothing more reached it), the parent stayed.
  assert.deepEqual(seen, ["parent hiUPGRADEOK", "> OK", "< BAD", "parent done", "done"]);
  assert.equal(rows.get("conn")![0]!["service"], "parent");
  assert.equal(rows.get("analyzer")![0]!["analyzer_name"], "TOY");
});

Deno.test("framework: a disabled analyzer keeps its service, gets nothing more, and its connection is no longer reassembled", () => {
  const packets: [number, Uint8Array][] = [
    [0, seg(CLIENT, 40000, 7777, TCP_SYN, 100, 0)],
    [0.01, seg(SERVER, 7777, 40000, TCP_SYN | TCP_ACK, 500, 101)],
    [0.02, seg(CLIENT, 40000, 7777, TCP_ACK, 101, 501)],
    [0.03, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 101, 501, "OK DONE")],
  ];
  // Enough bytes after it for the DPD buffer to give up (1,024 bytes).
  for (let i = 0; i < 12; i++) {
    packets.push([
      0.04 + i / 100,
      seg(SERVER, 7777, 40000, TCP_ACK, 501 + 100 * i, 108, "x".repeat(100)),
    ]);
  }
  packets.push([0.2, seg(CLIENT, 40000, 7777, TCP_ACK | TCP_PSH, 108, 1701, "BAD")]);
  const { seen, rows } = run(packets);
  assert.deepEqual(seen, ["> OK DONE", "done"]);
  assert.equal(rows.get("conn")![0]!["service"], "toy");
  assert.equal(rows.has("analyzer"), false);
});

/** The toy protocol found by content only: no port, a DPD signature per transport. */
function detectedToy(seen: string[]): AnalyzerSpec[] {
  return [{
    ...toySpec(seen),
    ports: [],
    serverPorts: [],
    signatures: [
      { name: "toy_udp", proto: "udp", direction: "any", payload: /^HELLO/ },
      { name: "toy_server", proto: "tcp", direction: "responder", payload: /^TOY\/[0-9]/ },
    ],
  }];
}

Deno.test("DPD: a UDP signature attaches the analyzer on any port and replays what was buffered", () => {
  const { seen, rows } = run([
    [0, udpFrame(CLIENT, 40000, 9999, "first")],
    [0.1, udpFrame(SERVER, 9999, 40000, "HELLO OK")],
    [0.2, udpFrame(CLIENT, 40000, 9999, "OK")],
  ], detectedToy);
  assert.deepEqual(seen, ["> first", "< HELLO OK", "> OK", "done true"]);
  assert.equal(rows.get("conn")![0]!["service"], "toy");
});

Deno.test("DPD: a TCP responder signature matches the responder's stream start; the replay keeps arrival order", () => {
  const { seen, rows } = run([
    [0, seg(CLIENT, 40000, 4242, TCP_SYN, 100, 0)],
    [0.01, seg(SERVER, 4242, 40000, TCP_SYN | TCP_ACK, 500, 101)],
    [0.02, seg(CLIENT, 40000, 4242, TCP_ACK | TCP_PSH, 101, 501, "ask")],
    [0.03, seg(SERVER, 4242, 40000, TCP_ACK | TCP_PSH, 501, 104, "TOY/1 OK")],
    [0.04, seg(CLIENT, 40000, 4242, TCP_ACK | TCP_PSH, 104, 509, "more")],
  ], detectedToy);
  assert.deepEqual(seen.slice(0, 3), ["> ask", "< TOY/1 OK", "> more"]);
  assert.equal(rows.get("conn")![0]!["service"], "toy");
});

Deno.test("DPD: nothing is matched once the buffer passed dpd_buffer_size", () => {
  const junk = "x".repeat(600);
  const { seen, rows } = run([
    [0, udpFrame(CLIENT, 40000, 9999, junk)],
    [0.1, udpFrame(CLIENT, 40000, 9999, junk)],
    [0.2, udpFrame(SERVER, 9999, 40000, "HELLO")],
  ], detectedToy);
  assert.deepEqual(seen, []);
  assert.equal(rows.get("conn")![0]!["service"], undefined);
  // Under the limit, the same signature attaches (Zeek's observation with 10-byte junk).
  const small = run([
    [0, udpFrame(CLIENT, 40000, 9999, "x".repeat(10))],
    [0.1, udpFrame(CLIENT, 40000, 9999, "x".repeat(10))],
    [0.2, udpFrame(SERVER, 9999, 40000, "HELLO")],
  ], detectedToy);
  assert.equal(small.seen.length, 4);
});
