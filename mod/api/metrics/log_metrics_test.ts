import assert from "node:assert/strict";
import { LogRegistry } from "../../log/stream.ts";
import { T } from "../../../zeek/types.ts";
import { logReceiverSamples, logShipperSamples, logWriteSamples } from "./log_metrics.ts";

Deno.test("a real LogRegistry's write counters keep Zeek's names and labels and gain help", () => {
  const logs = new LogRegistry();
  const stream = logs.defineStream({
    id: "Test::LOG",
    path: "test",
    columns: [{ name: "note", type: T.string, optional: false }],
  });
  logs.addFilter(stream, { name: "copy", path: "test-copy" });
  logs.write(stream, ["a"]);
  logs.write(stream, ["b"]);
  const samples = logWriteSamples(logs.counters());
  assert.deepEqual(samples.map((s) => [s.name, s.type, s.labels, s.value]), [
    ["zeek_log_stream_writes_total", "counter", { module: "Test", stream: "Test::LOG" }, 2],
    ["zeek_log_writer_writes_total", "counter", {
      writer: "Log::WRITER_ASCII",
      module: "Test",
      stream: "Test::LOG",
      filter_name: "default",
      path: "test",
    }, 2],
    ["zeek_log_writer_writes_total", "counter", {
      writer: "Log::WRITER_ASCII",
      module: "Test",
      stream: "Test::LOG",
      filter_name: "copy",
      path: "test-copy",
    }, 2],
  ]);
  assert.ok(samples.every((s) => s.help.length > 0));
});

Deno.test("shipper counters become weir_log_shipper_*, queue sizes as gauges", () => {
  const samples = logShipperSamples({
    batchesSent: 1,
    recordsSent: 2,
    recordsDropped: 3,
    droppedByPath: new Map([["conn", 3]]),
    batchesDeferred: 4,
    queuedBatches: 5,
    queuedBytes: 6,
    recordsAcked: 7,
    batchesResent: 8,
    unackedBatches: 9,
    spooledBatches: 10,
    spoolBytes: 11,
    spoolPeakBytes: 12,
  });
  assert.deepEqual(samples.map((s) => [s.name, s.type, s.value]), [
    ["weir_log_shipper_batches_sent_total", "counter", 1],
    ["weir_log_shipper_records_sent_total", "counter", 2],
    ["weir_log_shipper_records_dropped_total", "counter", 3],
    ["weir_log_shipper_batches_deferred_total", "counter", 4],
    ["weir_log_shipper_queued_batches", "gauge", 5],
    ["weir_log_shipper_queued_bytes", "gauge", 6],
    ["weir_log_shipper_records_acked_total", "counter", 7],
    ["weir_log_shipper_batches_resent_total", "counter", 8],
    ["weir_log_shipper_unacked_batches", "gauge", 9],
    ["weir_log_shipper_spool_batches", "gauge", 10],
    ["weir_log_shipper_spool_bytes", "gauge", 11],
    ["weir_log_shipper_spool_peak_bytes", "gauge", 12],
    ["weir_log_shipper_path_records_dropped_total", "counter", 3],
  ]);
  assert.deepEqual(samples.at(-1)!.labels, { path: "conn" });
});

Deno.test("receiver counters become weir_log_receiver_*, records by sender labelled", () => {
  const samples = logReceiverSamples({
    batches: 3,
    records: 30,
    malformed: 1,
    unacknowledgedBatches: 1,
    unacknowledgedRecords: 10,
    acknowledgedBatches: 2,
    duplicateBatches: 4,
    bySender: new Map([["worker-1-id", 20], ["worker-2-id", 10]]),
  });
  assert.deepEqual(samples.map((s) => [s.name, s.labels ?? {}, s.value]), [
    ["weir_log_receiver_batches_total", {}, 3],
    ["weir_log_receiver_records_total", {}, 30],
    ["weir_log_receiver_malformed_messages_total", {}, 1],
    ["weir_log_receiver_unacknowledged_batches_total", {}, 1],
    ["weir_log_receiver_unacknowledged_records_total", {}, 10],
    ["weir_log_receiver_acknowledged_batches_total", {}, 2],
    ["weir_log_receiver_duplicate_batches_total", {}, 4],
    ["weir_log_receiver_sender_records_total", { sender: "worker-1-id" }, 20],
    ["weir_log_receiver_sender_records_total", { sender: "worker-2-id" }, 10],
  ]);
});
