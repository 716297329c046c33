import assert from "node:assert/strict";
import { NatsServer, natsServerUnavailable } from "../../testing/nats_server.ts";
import { createDefaultSettings, type NatsSettings } from "../../config/mod.ts";
import { T } from "../../zeek/types.ts";
import { JetStreamDelivery } from "../log/jetstream_delivery.ts";
import { LogSpool } from "../log/log_spool.ts";
import { LogShipper } from "../log/shipper.ts";
import { LogRegistry } from "../log/stream.ts";
import { connectJetStream, logSubject } from "../log/jetstream.ts";
import { JetStreamSource } from "./jetstream_source.ts";
import { LogLedger } from "./log_ledger.ts";
import { LogWriterPool } from "./log_writer_pool.ts";
import { newReceiverCounters } from "../log/mod.ts";

const skip = natsServerUnavailable();
const COLUMNS = [
  { name: "ts", type: T.time, optional: false },
  { name: "node", type: T.string, optional: false },
  { name: "n", type: T.count, optional: false },
];

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function natsSettings(url: string, extra: Partial<NatsSettings> = {}): NatsSettings {
  return { ...createDefaultSettings("/nowhere").nats, url, ...extra };
}

/** A worker's shipper publishing to JetStream: `write(from, to)` logs records `from`…`to - 1`. */
function publisher(node: string, nats: NatsSettings, spoolDir: string) {
  const delivery = new JetStreamDelivery({
    nodeName: node,
    nats,
    spool: LogSpool.open(spoolDir, 1 << 28),
  });
  const ship = new LogShipper({ delivery, flushRecords: 500, flushIntervalMs: 0 });
  const registry = new LogRegistry({ sink: ship });
  const stream = registry.defineStream({ id: "Test::LOG", path: "test", columns: COLUMNS });
  return {
    delivery,
    ship,
    write(from: number, to: number) {
      for (let i = from; i < to; i++) registry.write(stream, [1700000000 + i / 1e6, node, i]);
      ship.flush();
    },
  };
}

/** A JetStream-fed logger writing `<dir>/test.log`. */
function logger(dir: string, nats: NatsSettings) {
  const ledger = LogLedger.open(dir);
  const pool = new LogWriterPool({
    spoolDir: dir,
    rotationIntervalSec: 0,
    journal: ledger,
    truncations: ledger.truncations,
  });
  const c = newReceiverCounters();
  const source = new JetStreamSource({ nodeName: "logger-1", nats, pool, ledger, counters: c });
  return {
    counters: c,
    pool,
    async close() {
      await source.close();
      await pool.close();
      await source.disconnect();
      ledger.close();
    },
  };
}

function rowsOf(file: string): string[] {
  return Deno.readTextFileSync(file).split("\n").filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => `${l.split("\t")[1]}/${l.split("\t")[2]}`);
}

Deno.test({
  name:
    "JetStream: batches published through a nats-server killed and restarted mid-run reach the logger's file once each",
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await NatsServer.open();
    const dir = await Deno.makeTempDir({ prefix: "weir-js-" });
    const nats = natsSettings(server.url);
    const a = publisher("worker-1", nats, `${dir}/spool-1`);
    const b = publisher("worker-2", nats, `${dir}/spool-2`);
    const l = logger(`${dir}/logger`, nats);
    const per = 40_000;
    try {
      for (let i = 0; i < per; i += 2000) {
        a.write(i, i + 2000);
        b.write(i, i + 2000);
        await new Promise((r) => setTimeout(r, 20));
        if (i === 10_000) {
          await server.kill();
          // Published while NATS is down: queued, then spooled, never dropped.
          await new Promise((r) => setTimeout(r, 1500));
          await server.start();
        }
      }
      await until(
        () => a.delivery.counters.recordsAcked === per && b.delivery.counters.recordsAcked === per,
        "every publish acknowledged",
      );
      await until(() => l.counters.records - 0 >= 2 * per, "the logger took every record", 60_000);
      await l.pool.flush();
      const rows = rowsOf(`${dir}/logger/test.log`);
      const unique = new Set(rows);
      let lost = 0;
      for (const node of ["worker-1", "worker-2"]) {
        for (let i = 0; i < per; i++) if (!unique.has(`${node}/${i}`)) lost++;
      }
      console.log(
        `  nats-server killed for 1.5 s: ${lost} lost, ${rows.length - unique.size} twice, ` +
          `${
            a.delivery.counters.batchesResent + b.delivery.counters.batchesResent
          } publishes retried, ` +
          `${a.delivery.duplicates + b.delivery.duplicates} answered as duplicates`,
      );
      assert.equal(lost, 0);
      assert.equal(rows.length, unique.size, "no record twice");
      assert.equal(a.delivery.counters.recordsDropped + b.delivery.counters.recordsDropped, 0);
    } finally {
      await a.ship.close(2000);
      await b.ship.close(2000);
      await l.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "JetStream: a batch published again with its id inside the duplicate window is refused as a duplicate",
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await NatsServer.open();
    const dir = await Deno.makeTempDir({ prefix: "weir-js-" });
    const nats = natsSettings(server.url, { format: "json" });
    const a = publisher("worker-1", nats, `${dir}/spool`);
    try {
      a.write(0, 1000);
      await until(() => a.delivery.counters.recordsAcked === 1000, "the publishes");
      await using conn = await connectJetStream({ url: server.url, name: "test" });
      // JSON lines on the path's subject, as any consumer reads them.
      const consumer = await conn.js.consumers.get(nats.stream);
      const m = await consumer.next({ expires: 5000 });
      assert.ok(m !== null);
      assert.equal(m.subject, logSubject("weir.logs", "test"));
      assert.equal(m.headers?.get("Zeek-Log-Format"), "json");
      const first = JSON.parse(new TextDecoder().decode(m.data).split("\n")[0]!);
      assert.deepEqual(first, { ts: 1700000000, node: "worker-1", n: 0 });
      const id = m.headers!.get("Nats-Msg-Id");
      const again = await conn.js.publish(m.subject, m.data, { msgID: id });
      assert.equal(again.duplicate, true);
      assert.equal((await conn.jsm.streams.info(nats.stream)).state.messages, 2);
    } finally {
      await a.ship.close(2000);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "JetStream: a logger whose consumer is deleted makes it again and goes on",
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await NatsServer.open();
    const dir = await Deno.makeTempDir({ prefix: "weir-js-" });
    const nats = natsSettings(server.url);
    const a = publisher("worker-1", nats, `${dir}/spool`);
    const l = logger(`${dir}/logger`, nats);
    try {
      a.write(0, 1000);
      await until(() => l.counters.records === 1000, "the first records");
      await using conn = await connectJetStream({ url: server.url, name: "operator" });
      await conn.jsm.consumers.delete(nats.stream, nats.consumer);
      a.write(1000, 2000);
      await until(() => l.counters.records >= 2000, "the records after the deletion", 60_000);
      await l.pool.flush();
      const rows = rowsOf(`${dir}/logger/test.log`);
      assert.equal(new Set(rows).size, 2000);
    } finally {
      await a.ship.close(2000);
      await l.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "JetStream: a publisher whose stream is deleted makes it again; nothing published after is lost",
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await NatsServer.open();
    const dir = await Deno.makeTempDir({ prefix: "weir-js-" });
    const nats = natsSettings(server.url);
    const a = publisher("worker-1", nats, `${dir}/spool`);
    try {
      a.write(0, 1000);
      await until(() => a.delivery.counters.recordsAcked === 1000, "the first publishes");
      await using conn = await connectJetStream({ url: server.url, name: "operator" });
      await conn.jsm.streams.delete(nats.stream);
      a.write(1000, 3000);
      await until(() => a.delivery.counters.recordsAcked === 3000, "the publishes after", 60_000);
      const info = await conn.jsm.streams.info(nats.stream);
      assert.equal(info.state.messages, 4, "2000 records in batches of 500");
    } finally {
      await a.ship.close(2000);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
