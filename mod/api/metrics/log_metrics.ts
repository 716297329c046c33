/**
 * Log write counters: Zeek's stream and writer counts, and weir's own for
 * shipping batches to the loggers and receiving them there.
 *
 * @module
 */

import type { LogCounterSample, LogReceiverCounters, LogShipperCounters } from "../../log/mod.ts";
import type { MetricSample } from "./sample.ts";

const LOG_HELP: Readonly<Record<LogCounterSample["name"], string>> = {
  zeek_log_stream_writes_total: "Records written to a log stream.",
  zeek_log_writer_writes_total: "Records a log filter handed to its writer.",
};

/** Samples of `LogRegistry.counters()`. */
export function logWriteSamples(counters: Iterable<LogCounterSample>): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const { name, labels, value } of counters) {
    samples.push({ name, help: LOG_HELP[name], type: "counter", labels, value });
  }
  return samples;
}

/** Samples of `LogShipper.counters` (a node sending log batches to the loggers). */
export function logShipperSamples(counters: Readonly<LogShipperCounters>): MetricSample[] {
  const samples: MetricSample[] = [
    {
      name: "weir_log_shipper_batches_sent_total",
      help: "Log batches sent (first sends; resends are counted apart).",
      type: "counter",
      value: counters.batchesSent,
    },
    {
      name: "weir_log_shipper_records_sent_total",
      help: "Log records in batches sent.",
      type: "counter",
      value: counters.recordsSent,
    },
    {
      name: "weir_log_shipper_records_dropped_total",
      help: "Log records dropped because the queue and spool were full or the shipper closed.",
      type: "counter",
      value: counters.recordsDropped,
    },
    {
      name: "weir_log_shipper_batches_deferred_total",
      help: "Log batches that waited in the retry queue at least once.",
      type: "counter",
      value: counters.batchesDeferred,
    },
    {
      name: "weir_log_shipper_queued_batches",
      help: "Log batches waiting in the retry queue now.",
      type: "gauge",
      value: counters.queuedBatches,
    },
    {
      name: "weir_log_shipper_queued_bytes",
      help: "Bytes of log batches waiting in the retry queue now.",
      type: "gauge",
      value: counters.queuedBytes,
    },
    {
      name: "weir_log_shipper_records_acked_total",
      help: "Log records whose batch a logger (or NATS) acknowledged.",
      type: "counter",
      value: counters.recordsAcked,
    },
    {
      name: "weir_log_shipper_batches_resent_total",
      help: "Log batches sent again after their acknowledgement did not come in time.",
      type: "counter",
      value: counters.batchesResent,
    },
    {
      name: "weir_log_shipper_unacked_batches",
      help: "Log batches sent and not acknowledged yet.",
      type: "gauge",
      value: counters.unackedBatches,
    },
    {
      name: "weir_log_shipper_spool_batches",
      help: "Log batches in the disk spool now.",
      type: "gauge",
      value: counters.spooledBatches,
    },
    {
      name: "weir_log_shipper_spool_bytes",
      help: "Bytes of log batches in the disk spool now.",
      type: "gauge",
      value: counters.spoolBytes,
    },
    {
      name: "weir_log_shipper_spool_peak_bytes",
      help: "The most bytes the disk spool held at once.",
      type: "gauge",
      value: counters.spoolPeakBytes,
    },
  ];
  for (const [path, value] of counters.droppedByPath) {
    samples.push({
      name: "weir_log_shipper_path_records_dropped_total",
      help: "Log records dropped, by log path.",
      type: "counter",
      labels: { path },
      value,
    });
  }
  return samples;
}

/** Samples of `LogReceiver.counters` (a logger); `bySender` is keyed by node id. */
export function logReceiverSamples(counters: Readonly<LogReceiverCounters>): MetricSample[] {
  const samples: MetricSample[] = [
    {
      name: "weir_log_receiver_batches_total",
      help: "Log batches received from other nodes.",
      type: "counter",
      value: counters.batches,
    },
    {
      name: "weir_log_receiver_records_total",
      help: "Log records received from other nodes.",
      type: "counter",
      value: counters.records,
    },
    {
      name: "weir_log_receiver_malformed_messages_total",
      help: "Log-write messages dropped as malformed.",
      type: "counter",
      value: counters.malformed,
    },
    {
      name: "weir_log_receiver_unacknowledged_batches_total",
      help: "Log batches on Zeek's PULL path, which nothing acknowledges (Zeek nodes, LogAcks=no).",
      type: "counter",
      value: counters.unacknowledgedBatches,
    },
    {
      name: "weir_log_receiver_unacknowledged_records_total",
      help: "Log records in batches on Zeek's unacknowledged PULL path.",
      type: "counter",
      value: counters.unacknowledgedRecords,
    },
    {
      name: "weir_log_receiver_acknowledged_batches_total",
      help: "Log batches written and acknowledged.",
      type: "counter",
      value: counters.acknowledgedBatches,
    },
    {
      name: "weir_log_receiver_duplicate_batches_total",
      help: "Log batches that arrived again after (or while) they were written; written once.",
      type: "counter",
      value: counters.duplicateBatches,
    },
  ];
  for (const [sender, value] of counters.bySender) {
    samples.push({
      name: "weir_log_receiver_sender_records_total",
      help: "Log records received, by sending node id.",
      type: "counter",
      labels: { sender },
      value,
    });
  }
  return samples;
}
