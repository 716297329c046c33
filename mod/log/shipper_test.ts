import assert from "node:assert/strict";
import { ZmqContext } from "../../ffi/libzmq.ts";
import { T } from "../../zeek/types.ts";
import { LogReceiver } from "../logger/log_receiver.ts";
import { decodeLogBatch } from "./log_batch_decoder.ts";
import { LogWriterPool } from "../logger/log_writer_pool.ts";
import { LOG_WRITE_TOPIC, LogShipper } from "./shipper.ts";
import { LogRegistry } from "./stream.ts";

const COLUMNS = [
  { name: "ts", type: T.time, optional: false },
  { name: "n", type: T.count, optional: false },
  { name: "host", type: T.addr, optional: false },
  { name: "note", type: T.string, optional: true },
];

async function until(condition: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function dataRows(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(file);
  return text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"));
}

Deno.test("shipper → receiver: batches of 1000 arrive whole, as log-write messages, in Zeek's file format", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-ship-" });
  const zmq = new ZmqContext();
  const pool = new LogWriterPool({ spoolDir: dir, rotationIntervalSec: 0 });
  const receiver = new LogReceiver({ zmq, endpoint: "tcp://127.0.0.1:*", pool });
  const shipper = new LogShipper({
    zmq,
    nodeId: "worker-1-id",
    endpoints: [receiver.endpoint],
    flushIntervalMs: 0,
  });
  try {
    const registry = new LogRegistry({ sink: shipper });
    const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
    for (let i = 0; i < 2500; i++) {
      registry.write(stream, [1700000000 + i / 1000, i, "10.0.0.1", i % 2 ? undefined : "a\tb"]);
    }
    // 2 full batches went out by size; the rest waits for the flush.
    await until(() => receiver.counters.records === 2000, "the two full batches");
    assert.equal(shipper.counters.batchesSent, 2);
    shipper.flush();
    await until(() => receiver.counters.records === 2500, "the partial batch");
    assert.equal(receiver.counters.bySender.get("worker-1-id"), 2500);
    await pool.flush();
    const rows = await dataRows(`${dir}/test.log`);
    assert.equal(rows.length, 2500);
    assert.equal(rows[0], "1700000000.000000\t0\t10.0.0.1\ta\\x09b");
    assert.equal(rows[1], "1700000000.001000\t1\t10.0.0.1\t-");
    assert.equal(rows[2499]!.split("\t")[1], "2499");
  } finally {
    await shipper.close();
    await receiver.close();
    await pool.close();
    await zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shipper frames: log-write, sender id, zeek-bin-serializer, one batch per path", async () => {
  const zmq = new ZmqContext();
  const pull = zmq.openSocket("pull");
  pull.bind("tcp://127.0.0.1:*");
  const shipper = new LogShipper({
    zmq,
    nodeId: "node-x",
    endpoints: [pull.lastEndpoint],
    flushIntervalMs: 0,
  });
  try {
    const registry = new LogRegistry({ sink: shipper });
    const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
    registry.addFilter(stream, { name: "copy", path: "test-copy", include: ["n"] });
    registry.write(stream, [1, 7, "::1", "x"]);
    shipper.flush();
    const got: { frames: string[]; path: string; fields: string[]; rows: unknown[] }[] = [];
    await until(() => {
      const m = pull.receive();
      if (m !== null) {
        const d = new TextDecoder();
        const batch = decodeLogBatch(m.frames[3]!);
        got.push({
          frames: m.frames.slice(0, 3).map((f) => d.decode(f)),
          path: batch.path,
          fields: batch.fields.map((f) => f.name),
          rows: batch.rows,
        });
      }
      return got.length === 2;
    }, "two batches");
    got.sort((a, b) => a.path.localeCompare(b.path));
    assert.deepEqual(got[0]!.frames, [LOG_WRITE_TOPIC, "node-x", "zeek-bin-serializer"]);
    assert.deepEqual(got[0]!.fields, ["ts", "n", "host", "note"]);
    assert.deepEqual(got[1], {
      frames: [LOG_WRITE_TOPIC, "node-x", "zeek-bin-serializer"],
      path: "test-copy",
      fields: ["n"],
      rows: [[7]],
    });
  } finally {
    await shipper.close(0);
    pull.close();
    await zmq.close();
  }
});

Deno.test("shipper: with no logger reachable, batches wait in the bounded queue, then drops are counted", async () => {
  const zmq = new ZmqContext();
  // Nobody listens on this endpoint: libzmq queues SNDHWM messages for it, then refuses.
  const pull = zmq.openSocket("pull");
  pull.bind("tcp://127.0.0.1:*");
  const endpoint = pull.lastEndpoint;
  pull.close();
  const shipper = new LogShipper({
    zmq,
    nodeId: "n",
    endpoints: [endpoint],
    flushRecords: 1,
    flushIntervalMs: 0,
    sndHwm: 10,
    maxQueuedBytes: 4096,
  });
  try {
    const registry = new LogRegistry({ sink: shipper });
    const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
    for (let i = 0; i < 500; i++) registry.write(stream, [1, i, "10.0.0.1", "x"]);
    const c = shipper.counters;
    assert.ok(c.batchesDeferred > 0, "refused batches are queued for retry");
    assert.ok(c.queuedBytes <= 4096, "the queue stays within its bound");
    assert.ok(c.recordsDropped > 0, "beyond the bound, records are dropped");
    assert.equal(
      c.recordsSent + c.queuedBatches + c.recordsDropped,
      500,
      "every record is sent, queued or counted as dropped",
    );
  } finally {
    await shipper.close(0);
    await zmq.close();
  }
  assert.equal(shipper.counters.queuedBatches, 0);
});

Deno.test("shipper: a logger that starts late gets the queued batches, none lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-ship-" });
  const zmq = new ZmqContext();
  // An ipc endpoint, not a probed TCP port: while nothing listens, the
  // shipper's reconnects could take a probed ephemeral port themselves (TCP
  // self-connect) and the late bind would fail. CI saw it once.
  const endpoint = `ipc://${dir}/logger.sock`;
  const shipper = new LogShipper({
    zmq,
    nodeId: "n",
    endpoints: [endpoint],
    flushRecords: 10,
    flushIntervalMs: 20,
    sndHwm: 5,
  });
  const pool = new LogWriterPool({ spoolDir: dir, rotationIntervalSec: 0 });
  let receiver: LogReceiver | undefined;
  try {
    const registry = new LogRegistry({ sink: shipper });
    const stream = registry.defineStream({ id: "Test::LOG", path: "late", columns: COLUMNS });
    for (let i = 0; i < 3000; i++) registry.write(stream, [1, i, "10.0.0.1", undefined]);
    assert.ok(shipper.counters.queuedBatches > 0);
    assert.equal(shipper.counters.recordsDropped, 0);
    receiver = new LogReceiver({ zmq, endpoint, pool });
    await until(() => receiver!.counters.records === 3000, "every queued record");
    await pool.flush();
    const ns = (await dataRows(`${dir}/late.log`)).map((r) => Number(r.split("\t")[1]));
    assert.deepEqual(ns, Array.from({ length: 3000 }, (_, i) => i), "in order, each once");
  } finally {
    await shipper.close(0);
    await receiver?.close();
    await pool.close();
    await zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});
