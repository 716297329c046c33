/**
 * JetStream benchmark, into a file-storage stream of one local nats-server:
 * a bare `@nats-io/jetstream` publisher sending encoded conn-like batches
 * (22 columns, 1000 records) with message ids and a bounded number of
 * publishes in flight; weir's `JetStreamDelivery` given the same payloads
 * (the target compares these two); and a worker's whole path from records
 * (encoding included). Interleaved round by round in one run.
 *
 *   deno task bench nats
 */

import { fmt, median } from "./_figures.ts";
import { createDefaultSettings } from "../config/mod.ts";
import { defineConnStream } from "../mod/analysis/conn/mod.ts";
import {
  encodeLogBatch,
  JetStreamDelivery,
  loadJetStream,
  LogRegistry,
  LogShipper,
} from "../mod/log/mod.ts";
import { ByteWriter } from "../zeek/mod.ts";
import { NatsServer } from "../testing/mod.ts";
import { connLikeRows } from "./log_writer.ts";

/** Records per round (`WEIR_BENCH_NATS_RECORDS`). */
export const DEFAULT_NATS_RECORDS = 500_000;
const ROUNDS = 5;
const DISTINCT_ROWS = 10_000;
const BATCH = 1000;

/** Runs the JetStream benchmark and returns its table rows. */
export async function benchJetStream(n = DEFAULT_NATS_RECORDS): Promise<string[]> {
  await using server = await NatsServer.open();
  const js = await loadJetStream();
  const nats = { ...createDefaultSettings("/nowhere").nats, url: server.url };
  const stream = defineConnStream();
  const rows = connLikeRows(DISTINCT_ROWS);
  // The bare publisher's payloads: the batches weir's shipper encodes.
  const registry = new LogRegistry({ validate: false });
  const filter = registry.filters(registry.add(stream))[0]!;
  const writer = new ByteWriter(1 << 20);
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < DISTINCT_ROWS / BATCH; i++) {
    payloads.push(
      encodeLogBatch(
        writer,
        { streamId: stream.id, writerName: filter.writer, filterName: filter.name, path: "conn" },
        filter.fields,
        rows.slice(i * BATCH, (i + 1) * BATCH),
        filter.indices,
      ).slice(),
    );
  }
  const bytesPerBatch = payloads[0]!.length;

  const bare = async (round: number): Promise<number> => {
    await using conn = await js.connectJetStream({ url: server.url, name: "bench-bare" });
    await js.ensureLogStream(conn.jsm, {
      stream: nats.stream,
      subjectPrefix: nats.subjectPrefix,
      storage: "file",
      replicas: 1,
      duplicateWindowSec: nats.duplicateWindowSec,
      maxAgeSec: 0,
    });
    const subject = js.logSubject(nats.subjectPrefix, "conn");
    const pending = new Set<Promise<unknown>>();
    const start = performance.now();
    for (let b = 0; b < n / BATCH; b++) {
      while (pending.size >= nats.maxPending) await Promise.race(pending);
      const p: Promise<unknown> = conn.js.publish(subject, payloads[b % payloads.length]!, {
        msgID: js.logMessageId("bench-bare", String(round), b + 1),
      }).finally(() => pending.delete(p));
      pending.add(p);
    }
    await Promise.all(pending);
    return n / ((performance.now() - start) / 1000);
  };

  /**
   * Holds the sender while batches wait beyond the window: a node would
   * spool them (the bare publisher waits for its window the same way).
   */
  const held = async (delivery: JetStreamDelivery) => {
    while (delivery.counters.queuedBatches > 0) await new Promise((r) => setTimeout(r, 1));
  };

  /** A delivery, connected and its stream ensured before the clock starts, as for the bare publisher. */
  const connected = async (): Promise<JetStreamDelivery> => {
    const delivery = new JetStreamDelivery({ nodeName: "bench-worker", nats });
    delivery.deliver("conn", BATCH, payloads[0]!);
    while (delivery.counters.recordsAcked === 0) await new Promise((r) => setTimeout(r, 5));
    return delivery;
  };

  const sameBatches = async (): Promise<number> => {
    const delivery = await connected();
    const acked = delivery.counters.recordsAcked;
    const start = performance.now();
    for (let b = 0; b < n / BATCH; b++) {
      delivery.deliver("conn", BATCH, payloads[b % payloads.length]!);
      // As a worker between packet batches: the event loop runs the publishes.
      if (b % 10 === 9) await new Promise((r) => setTimeout(r, 0));
      await held(delivery);
    }
    while (delivery.counters.recordsAcked < acked + n) await new Promise((r) => setTimeout(r, 1));
    const rate = n / ((performance.now() - start) / 1000);
    await delivery.close(10_000);
    return rate;
  };

  const worker = async (): Promise<number> => {
    const delivery = new JetStreamDelivery({ nodeName: "bench-worker", nats });
    const shipper = new LogShipper({ delivery });
    const reg = new LogRegistry({ sink: shipper, validate: false });
    const conn = reg.add(defineConnStream());
    // Connected and the stream ensured before the clock starts, as for the bare publisher.
    while (delivery.counters.recordsAcked === 0) {
      reg.write(conn, rows[0]!);
      shipper.flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    const acked = delivery.counters.recordsAcked;
    const start = performance.now();
    let sent = 0;
    while (sent < n) {
      const end = Math.min(n, sent + 10_000);
      for (; sent < end; sent++) reg.write(conn, rows[sent % DISTINCT_ROWS]!);
      await new Promise((r) => setTimeout(r, 0));
      await held(delivery);
    }
    shipper.flush();
    while (delivery.counters.recordsAcked < acked + n) await new Promise((r) => setTimeout(r, 1));
    const rate = n / ((performance.now() - start) / 1000);
    await shipper.close(10_000);
    return rate;
  };

  const bares: number[] = [];
  const deliveries: number[] = [];
  const workers: number[] = [];
  // Each phase starts with an empty stream (a full store would only measure the disk).
  const purge = async () => {
    await using conn = await js.connectJetStream({ url: server.url, name: "bench-purge" });
    await conn.jsm.streams.purge(nats.stream);
  };
  for (let round = 0; round < ROUNDS; round++) {
    bares.push(await bare(round));
    await purge();
    deliveries.push(await sameBatches());
    await purge();
    workers.push(await worker());
    await purge();
  }
  const b = median(bares);
  const d = median(deliveries);
  const w = median(workers);
  const ratio = d / b;
  const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");
  const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  return [
    `${"nats: bare @nats-io/jetstream publisher".padEnd(50)} ${fmt(b)} records/s, ${
      fmt(b / BATCH)
    } batches/s (median of ${ROUNDS}: ${range(bares)}; ${fmt(bytesPerBatch)} B per batch)`,
    `${"nats: JetStreamDelivery, the same batches".padEnd(50)} ${fmt(d)} records/s, ${
      fmt(d / BATCH)
    } batches/s (median of ${ROUNDS}: ${range(deliveries)})  ${
      ratio.toFixed(2)
    } × bare  [target ≥ 0.8 ×: ${verdict(ratio >= 0.8)}]`,
    `${"nats: worker records → encode → JetStream".padEnd(50)} ${fmt(w)} records/s, ${
      fmt(w / BATCH)
    } batches/s (median of ${ROUNDS}: ${range(workers)})  ${(w / b).toFixed(2)} × bare`,
  ];
}

if (import.meta.main) {
  for (const row of await benchJetStream()) console.log(row);
}
