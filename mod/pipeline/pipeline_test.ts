import assert from "node:assert/strict";
import {
  type Borrowed,
  lend,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PacketBatch,
  type PacketSource,
  type SourceStats,
} from "../../capture/mod.ts";
import { LogRegistry } from "../log/stream.ts";
import type { ZeekValue } from "../../zeek/types.ts";
import { concat, ethernet, ipv4, tcp, udp } from "../../testing/frames.ts";
import { type AnalyzerStage, PacketPipeline, type PacketPipelineOptions } from "./mod.ts";

type Row = Record<string, ZeekValue>;

const T0 = 1_700_000_000;

/** A batch holding `frames` back to back, one per millisecond from T0. */
function batchOf(
  frames: readonly Uint8Array[],
  linkType: number,
  vouched?: readonly number[],
): Borrowed<PacketBatch> {
  const batch = new PacketBatch(frames.length, { checksumVouched: vouched !== undefined });
  batch.data = concat(...frames);
  let at = 0;
  frames.forEach((frame, i) => {
    batch.offset[i] = at;
    batch.caplen[i] = frame.length;
    batch.wireLen[i] = frame.length;
    batch.linkType[i] = linkType;
    batch.tsSec[i] = T0;
    batch.tsNsec[i] = i * 1_000_000;
    if (vouched !== undefined) batch.checksumVouched![i] = vouched[i]!;
    at += frame.length;
  });
  batch.count = frames.length;
  return lend(batch);
}

/** A pipeline whose conn.log rows land in `rows`, in the order they are written. */
function pipelineWithRows(
  options: PacketPipelineOptions = {},
  seen: string[] = [],
): { pipeline: PacketPipeline; rows: Row[] } {
  const rows: Row[] = [];
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream, _filter, values) {
        const row: Row = {};
        stream.columns.forEach((c, i) => (row[c.name] = values[i]));
        rows.push(row);
        seen.push(`row ${row["uid"]}`);
      },
    },
  });
  const pipeline = new PacketPipeline({ ...options, sessions: { ...options.sessions, logs } });
  return { pipeline, rows };
}

function datagram(sport: number, src = "10.0.0.1", dst = "10.0.0.2"): Uint8Array {
  return ipv4(17, udp(sport, 53, new Uint8Array(12)), { src, dst });
}

/** A SYN whose TCP checksum is left zero, as a host with checksum offload hands it to the ring. */
function unsummedSyn(): Uint8Array {
  return ipv4(6, tcp({ sport: 40000, dport: 80, flags: 0x02 }), { keepTransportChecksum: true });
}

Deno.test("a packet the batch vouches for keeps its connection despite the checksum", () => {
  const judged = pipelineWithRows();
  judged.pipeline.runBatch(batchOf([unsummedSyn()], LINKTYPE_RAW));
  judged.pipeline.flush();
  assert.equal(judged.pipeline.stats().sessions.badChecksums, 1);
  assert.equal(judged.rows[0]!["history"], "C");

  const vouched = pipelineWithRows();
  vouched.pipeline.runBatch(batchOf([unsummedSyn()], LINKTYPE_RAW, [1]));
  vouched.pipeline.flush();
  assert.equal(vouched.pipeline.stats().sessions.badChecksums, 0);
  assert.equal(vouched.rows[0]!["history"], "S");
});

Deno.test("workers of a flow split see every flow exactly once", () => {
  const frames = Array.from({ length: 40 }, (_, i) => datagram(1000 + i));
  const seen = new Set<number>();
  let analyzed = 0;
  for (let index = 0; index < 3; index++) {
    const { pipeline, rows } = pipelineWithRows({ flowSplit: { index, count: 3 } });
    pipeline.runBatch(batchOf(frames, LINKTYPE_RAW));
    pipeline.flush();
    assert.equal(pipeline.stats().packets, 40);
    analyzed += pipeline.stats().analyzed;
    for (const row of rows) {
      assert.ok(!seen.has(row["id.orig_p"] as number));
      seen.add(row["id.orig_p"] as number);
    }
  }
  assert.equal(analyzed, 40);
  assert.equal(seen.size, 40);
  assert.throws(
    () => new PacketPipeline({ flowSplit: { index: 3, count: 3 } }),
    /Cannot split flows as worker 3 of 3/,
  );
});

Deno.test("skip bytes drop a prefix and decode the rest as raw IP", () => {
  const { pipeline, rows } = pipelineWithRows({ skipBytes: 4 });
  const prefix = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
  pipeline.runBatch(
    batchOf([concat(prefix, datagram(1111)), prefix, concat(prefix, datagram(2222))], LINKTYPE_RAW),
  );
  pipeline.flush();
  assert.equal(pipeline.stats().packets, 3);
  assert.equal(pipeline.stats().analyzed, 2);
  assert.deepEqual(rows.map((r) => r["id.orig_p"]).sort(), [1111, 2222]);
});

Deno.test("MAC addresses come from the frame when asked for", () => {
  const { pipeline, rows } = pipelineWithRows({ macAddresses: true });
  pipeline.runBatch(batchOf([ethernet(0x0800, datagram(1111))], LINKTYPE_ETHERNET));
  pipeline.flush();
  assert.equal(rows[0]!["orig_l2_addr"], "02:00:00:00:00:02");
  assert.equal(rows[0]!["resp_l2_addr"], "02:00:00:00:00:01");
});

Deno.test("the analyzers stage sees counted packets with their connection, and ends before the row", () => {
  const seen: string[] = [];
  let stage: Recorder | undefined;
  class Recorder implements AnalyzerStage {
    constructor(readonly uid: (slot: number) => string) {}
    packet(_packet: unknown, slot: number, isOrig: boolean, now: number): void {
      seen.push(`packet ${this.uid(slot)} ${isOrig ? "orig" : "resp"} ${now}`);
    }
    remove(slot: number): void {
      seen.push(`remove ${this.uid(slot)}`);
    }
  }
  const { pipeline } = pipelineWithRows({
    analyzers: (sessions) => (stage = new Recorder((slot) => sessions.uidOf(slot))),
  }, seen);
  assert.ok(stage !== undefined);
  const reply = ipv4(17, udp(53, 1111, new Uint8Array(40)), { src: "10.0.0.2", dst: "10.0.0.1" });
  pipeline.runBatch(batchOf([datagram(1111), reply, unsummedSyn()], LINKTYPE_RAW));
  const dns = seen[0]!.split(" ")[1]!;
  // The SYN failed its checksum: its connection exists, but the stage never saw the packet.
  assert.deepEqual(seen, [`packet ${dns} orig ${T0}`, `packet ${dns} resp ${T0 + 0.001}`]);
  pipeline.flush();
  const ends = seen.slice(2);
  assert.equal(ends.length, 4);
  for (let i = 0; i < ends.length; i += 2) {
    const uid = ends[i]!.split(" ")[1]!;
    assert.deepEqual(ends.slice(i, i + 2), [`remove ${uid}`, `row ${uid}`]);
  }
  assert.ok(ends.includes(`row ${dns}`));
});

/** A live source: hands out its batches, then waits for packets until closed. */
class QuietSource implements PacketSource {
  readonly name = "test::quiet";
  #batches: Borrowed<PacketBatch>[];
  #wake: (() => void) | undefined;
  #closed = false;
  constructor(batches: Borrowed<PacketBatch>[]) {
    this.#batches = batches;
  }
  next(): Promise<Borrowed<PacketBatch> | null> {
    const batch = this.#batches.shift();
    if (batch !== undefined) return Promise.resolve(batch);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#wake = () => resolve(null)));
  }
  stats(): SourceStats {
    return { received: 0, dropped: 0, ifDropped: 0, link: 0, bytes: 0, warning: undefined };
  }
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
  [Symbol.dispose](): void {
    this.close();
  }
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

Deno.test("a live pipeline's idle tick expires connections when traffic stops", async () => {
  const { pipeline, rows } = pipelineWithRows({ idleTickMs: 10 });
  using source = new QuietSource([batchOf([datagram(1111)], LINKTYPE_RAW)]);
  const running = pipeline.run(source);
  // The datagram's time lies in 2023; the wall clock is long past its 60 s UDP timeout.
  for (let waited = 0; rows.length === 0 && waited < 2000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  source.close();
  await running;
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!["id.orig_p"], 1111);
  assert.ok(pipeline.sessions.now > T0 + 60);
});

Deno.test("a trace pipeline has no wall clock: its connections wait for flush", async () => {
  const { pipeline, rows } = pipelineWithRows();
  using source = new QuietSource([batchOf([datagram(1111)], LINKTYPE_RAW)]);
  const running = pipeline.run(source);
  await new Promise((resolve) => setTimeout(resolve, 50));
  source.close();
  await running;
  assert.equal(rows.length, 0);
  assert.equal(pipeline.sessions.now, T0);
  pipeline.flush();
  assert.equal(rows.length, 1);
});
