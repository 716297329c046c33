import assert from "node:assert/strict";
import { curveKeyPair, ZmqContext } from "../../ffi/libzmq.ts";
import { ZapHandler } from "../bus/zap.ts";
import { T } from "../../zeek/types.ts";
import { AckedDelivery, type AckedDeliveryOptions } from "../log/acked_delivery.ts";
import { LogSpool } from "../log/log_spool.ts";
import { LogShipper } from "../log/shipper.ts";
import { LogRegistry } from "../log/stream.ts";
import { LEDGER_FILE, LogLedger } from "./log_ledger.ts";
import { LogReceiver } from "./log_receiver.ts";
import { LogWriterPool } from "./log_writer_pool.ts";
import { findFreePortRange } from "../../testing/ports.ts";

const COLUMNS = [
  { name: "ts", type: T.time, optional: false },
  { name: "n", type: T.count, optional: false },
];

async function until(condition: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The `n` column of every data row of `file`. */
async function numbers(file: string): Promise<number[]> {
  const text = await Deno.readTextFile(file);
  return text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"))
    .map((l) => Number(l.split("\t")[1]));
}

function assertOnce(seen: number[], n: number): void {
  const sorted = [...seen].sort((a, b) => a - b);
  assert.equal(sorted.length, n, `${sorted.length} rows instead of ${n}`);
  sorted.forEach((v, i) => assert.equal(v, i, `row ${i} is ${v}`));
}

/** A logger: pool, ledger and receiver on loopback ports (`ackPort` 0: any). */
function openLogger(zmq: ZmqContext, dir: string, ackPort = 0) {
  const ledger = LogLedger.open(dir);
  const pool = new LogWriterPool({
    spoolDir: dir,
    rotationIntervalSec: 0,
    journal: ledger,
    truncations: ledger.truncations,
  });
  const receiver = new LogReceiver({
    zmq,
    endpoint: "tcp://127.0.0.1:*",
    pool,
    acks: { endpoint: `tcp://127.0.0.1:${ackPort === 0 ? "*" : ackPort}`, ledger },
  });
  return {
    receiver,
    pool,
    ledger,
    ackPort: Number(receiver.ackEndpoint!.split(":").at(-1)),
    async close() {
      await receiver.close();
      await pool.close();
      receiver.closeAcks();
    },
  };
}

function shipper(zmq: ZmqContext, ackPort: number, extra: Partial<AckedDeliveryOptions> = {}) {
  const delivery = new AckedDelivery({
    zmq,
    nodeId: "worker-1-id",
    nodeName: "worker-1",
    writers: [{ name: "logger-1", endpoint: `tcp://127.0.0.1:${ackPort}` }],
    ...extra,
  });
  const ship = new LogShipper({ delivery, flushIntervalMs: 0 });
  const registry = new LogRegistry({ sink: ship });
  const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
  return {
    delivery,
    ship,
    write: (from: number, to: number) => {
      for (let i = from; i < to; i++) registry.write(stream, [1700000000 + i / 1000, i]);
      ship.flush();
    },
  };
}

Deno.test("acked delivery: every batch is acknowledged once its chunk is in the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const logger = openLogger(zmq, dir);
  const s = shipper(zmq, logger.ackPort);
  try {
    s.write(0, 2500);
    await until(() => s.delivery.counters.recordsAcked === 2500, "every acknowledgement");
    assert.equal(s.delivery.counters.unackedBatches, 0);
    assert.equal(logger.receiver.counters.acknowledgedBatches, 3);
    assert.equal(logger.receiver.counters.unacknowledgedBatches, 0);
    // Acknowledged means handed to the OS: the rows are in the file now.
    assertOnce(await numbers(`${dir}/test.log`), 2500);
  } finally {
    await s.ship.close(1000);
    await logger.close();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acked delivery: batches resent before their acknowledgement are written once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const logger = openLogger(zmq, dir);
  // Chunks reach the file at most every second; a 30 ms timeout resends every batch many times.
  const s = shipper(zmq, logger.ackPort, { ackTimeoutMs: 30 });
  try {
    s.write(0, 5000);
    await until(() => s.delivery.counters.recordsAcked === 5000, "every acknowledgement");
    assert.ok(s.delivery.counters.batchesResent > 0, "nothing was resent");
    assert.ok(logger.receiver.counters.duplicateBatches > 0, "no duplicate arrived");
    await logger.pool.flush();
    assertOnce(await numbers(`${dir}/test.log`), 5000);
  } finally {
    await s.ship.close(1000);
    await logger.close();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acked delivery: with no logger, batches go to the disk spool and drain when one starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  // A free port below the ephemeral range: a DEALER connecting to a free
  // ephemeral port can be given that very port as its own and talk to itself.
  const port = findFreePortRange(1);
  const spool = LogSpool.open(`${dir}/spool`, 64 * 1024 * 1024);
  const s = shipper(zmq, port, { spool, maxQueuedBytes: 0 });
  let logger: ReturnType<typeof openLogger> | undefined;
  try {
    s.write(0, 3000);
    assert.equal(s.delivery.counters.spooledBatches, 3);
    assert.ok(s.delivery.counters.spoolBytes > 0);
    logger = openLogger(zmq, `${dir}/logger`, port);
    await until(() => s.delivery.counters.recordsAcked === 3000, "the spool drained");
    assert.equal(s.delivery.counters.spooledBatches, 0);
    assert.equal(s.delivery.counters.recordsDropped, 0);
    assert.ok(s.delivery.counters.spoolPeakBytes > 0);
    assertOnce(await numbers(`${dir}/logger/test.log`), 3000);
    assert.deepEqual([...Deno.readDirSync(`${dir}/spool`)], [], "segments left behind");
  } finally {
    await s.ship.close(1000);
    await logger?.close();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acked delivery: a full spool drops records, counted per path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const spool = LogSpool.open(`${dir}/spool`, 4096);
  const s = shipper(zmq, 1, { spool, maxQueuedBytes: 0 });
  const reported: string[] = [];
  s.delivery.reportTo((message) => reported.push(message));
  try {
    s.write(0, 3000);
    assert.equal(s.delivery.counters.recordsDropped, 3000);
    assert.deepEqual([...s.delivery.counters.droppedByPath], [["test", 3000]]);
    // What the node writes to cluster.log (once per 10 s at most).
    assert.equal(reported.length, 1);
    assert.match(reported[0]!, /^Dropped 1000 test\.log records because .*spool is full/);
  } finally {
    await s.ship.close(100);
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acked delivery: what is unacknowledged at close is spooled and sent by the next run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const port = findFreePortRange(1);
  const first = shipper(zmq, port, { spool: LogSpool.open(`${dir}/spool`, 1 << 26) });
  first.write(0, 1500);
  await first.ship.close(200);
  assert.equal(first.delivery.counters.recordsDropped, 0);
  const logger = openLogger(zmq, `${dir}/logger`, port);
  const second = shipper(zmq, port, { spool: LogSpool.open(`${dir}/spool`, 1 << 26) });
  try {
    second.write(1500, 2000);
    await until(() => second.delivery.counters.recordsAcked === 2000, "both runs' records");
    assertOnce(await numbers(`${dir}/logger/test.log`), 2000);
  } finally {
    await second.ship.close(1000);
    await logger.close();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ledger: a chunk cut short by a kill is cut out of the file and its batches count as unwritten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-ledger-" });
  try {
    const full = "#fields\tts\tn\n1\t0\n1\t1\n";
    await Deno.writeTextFile(`${dir}/test.log`, full + "1\t2\n1\t"); // the last chunk, half written
    const inode = Deno.statSync(`${dir}/test.log`).ino!;
    const lines = [
      { c: ["test", inode, 0, full.length], b: [["w", 7, 1]] },
      { c: ["test", inode, full.length, full.length + 10], b: [["w", 7, 2], ["w", 7, 3]] },
    ];
    await Deno.writeTextFile(
      `${dir}/${LEDGER_FILE}`,
      lines.map((l) => JSON.stringify(l)).join("\n") + '\n{"c":[',
    );
    const ledger = LogLedger.open(dir);
    assert.deepEqual([...ledger.truncations], [["test", full.length]]);
    assert.equal(ledger.admit("w", 7, 1, 0), "written");
    assert.equal(ledger.admit("w", 7, 2, 0), "new");
    assert.equal(ledger.admit("w", 7, 2, 0), "in-progress");
    assert.equal(ledger.admit("w", 7, 3, 0), "new");
    // The low-water mark forgets what is below it.
    assert.equal(ledger.admit("w", 7, 9, 5), "new");
    assert.equal(ledger.admit("w", 7, 1, 5), "written");
    ledger.close();
    // The pool cuts the live file back before it recovers (rotates) it.
    const pool = new LogWriterPool({
      spoolDir: dir,
      rotationIntervalSec: 0,
      truncations: ledger.truncations,
    });
    pool.writeRows("test", [...COLUMNS], [[1700000000, 5]]);
    await pool.close();
    const rotated = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.startsWith("test-")
    );
    const recovered = rotated.map((n) => Deno.readTextFileSync(`${dir}/${n}`)).find((t) =>
      t.startsWith("#fields")
    );
    assert.equal(recovered, full);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Zeek's path beside it: a batch pushed without an id is written and counted as unacknowledged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const logger = openLogger(zmq, dir);
  // What a Zeek node (or LogAcks = no) sends: the four log-write frames to the PULL port.
  const push = new LogShipper({
    zmq,
    nodeId: "zeromq_zeek-worker_host_1_x",
    endpoints: [logger.receiver.endpoint],
    flushIntervalMs: 0,
  });
  const registry = new LogRegistry({ sink: push });
  const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
  try {
    for (let i = 0; i < 1500; i++) registry.write(stream, [1700000000 + i / 1000, i]);
    push.flush();
    await until(() => logger.receiver.counters.records === 1500, "the pushed records");
    assert.equal(logger.receiver.counters.unacknowledgedBatches, 2);
    assert.equal(logger.receiver.counters.unacknowledgedRecords, 1500);
    assert.equal(logger.receiver.counters.acknowledgedBatches, 0);
    await logger.pool.flush();
    assertOnce(await numbers(`${dir}/test.log`), 1500);
  } finally {
    await push.close(1000);
    await logger.close();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "closed bus: a batch whose id names another node than its key's is refused",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const server = curveKeyPair();
  const worker1 = curveKeyPair();
  const zap = ZapHandler.open(
    zmq,
    (request) =>
      request.publicKey === worker1.publicKey ? { userId: "worker-1" } : { refused: "unknown" },
  );
  const ledger = LogLedger.open(dir);
  const pool = new LogWriterPool({ spoolDir: dir, rotationIntervalSec: 0, journal: ledger });
  const receiver = new LogReceiver({
    zmq,
    endpoint: "tcp://127.0.0.1:*",
    pool,
    curveSecretKey: server.secretKey,
    acks: { endpoint: "tcp://127.0.0.1:*", ledger },
  });
  const ship = (nodeName: string) => {
    const delivery = new AckedDelivery({
      zmq,
      nodeId: `zeromq_${nodeName}_x`,
      nodeName,
      writers: [{ name: "logger-1", endpoint: receiver.ackEndpoint!, serverKey: server.publicKey }],
      curveKeys: worker1,
    });
    const shipper = new LogShipper({ delivery, flushIntervalMs: 0 });
    const registry = new LogRegistry({ sink: shipper });
    const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
    for (let i = 0; i < 10; i++) registry.write(stream, [1700000000, i]);
    shipper.flush();
    return shipper;
  };
  const honest = ship("worker-1");
  const forger = ship("worker-2"); // worker-1's key, worker-2's name
  try {
    await until(() => honest.counters.recordsAcked === 10, "the honest batch");
    await until(() => receiver.counters.malformed === 1, "the forged batch refused");
    assert.equal(forger.counters.recordsAcked, 0);
    assert.equal(receiver.counters.records, 10);
  } finally {
    await honest.close(100);
    await forger.close(100);
    await receiver.close();
    await pool.close();
    receiver.closeAcks();
    await zap.close();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acked delivery: a batch whose file cannot be opened is not acknowledged, and is written once it can", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-acked-" });
  const zmq = new ZmqContext();
  const spool = `${dir}/logger`;
  const ledger = LogLedger.open(`${dir}/ledger`);
  // The live files' directory is a regular file: opening test.log fails.
  await Deno.writeTextFile(spool, "in the way");
  const pool = new LogWriterPool({ spoolDir: spool, rotationIntervalSec: 0, journal: ledger });
  const receiver = new LogReceiver({
    zmq,
    endpoint: "tcp://127.0.0.1:*",
    pool,
    acks: { endpoint: "tcp://127.0.0.1:*", ledger },
  });
  const port = Number(receiver.ackEndpoint!.split(":").at(-1));
  const s = shipper(zmq, port, { ackTimeoutMs: 200 });
  try {
    s.write(0, 1000);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(s.delivery.counters.recordsAcked, 0, "acknowledged without a file");
    assert.ok(s.delivery.counters.batchesResent > 0);
    await Deno.remove(spool);
    await until(() => s.delivery.counters.recordsAcked === 1000, "the batch written at last");
    await pool.flush();
    assertOnce(await numbers(`${spool}/test.log`), 1000);
  } finally {
    await s.ship.close(1000);
    await receiver.close();
    await pool.close();
    receiver.closeAcks();
    zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});
