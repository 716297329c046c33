/**
 * Zeek's logging framework: typed streams and filters (`LogRegistry`), the
 * ASCII and JSON writers with Zeek's exact rendering, log files with
 * rotation and zeekctl's archive names, the zeek-bin-serializer batches
 * nodes exchange, and a node's logging (shipping to the loggers, the
 * `weir.log` traffic row, `cluster.log`). The writing half a logger adds
 * (receiver, writer pool) is the logger role's, in `mod/logger/`.
 *
 * ```ts
 * import { LogFile, LogRegistry } from "./mod.ts";
 * import { T } from "../../zeek/mod.ts";
 *
 * const logs = new LogRegistry();
 * const stream = logs.defineStream({
 *   id: "Site::LOG",
 *   path: "site",
 *   columns: [{ name: "ts", type: T.time, optional: false }],
 * });
 * const filter = logs.filters(stream)[0]!;
 * const file = await LogFile.open({ dir: ".", path: filter.path, fields: filter.fields });
 * logs.setSink({ write: (_s, f, values) => file.writeRow(values, f.indices) });
 * logs.write(stream, [Date.now() / 1000]);
 * await file.close();
 * ```
 *
 * @module
 */

export {
  checkValue,
  createFilter,
  DEFAULT_FILTER_NAME,
  DEFAULT_WRITER,
  defineStream,
  type FilterSpec,
  type LogColumn,
  type LogCounterSample,
  type LogEvents,
  type LogFilter,
  type LogRecord,
  LogRegistry,
  type LogRegistryOptions,
  LogSchemaError,
  type LogSink,
  LogStream,
  LogValueError,
  type StreamSpec,
  validateRow,
} from "./stream.ts";
export {
  type ChunkJournal,
  type ChunkPlace,
  DEFAULT_MAX_PENDING_BYTES,
  type LogArchiveOptions,
  LogFile,
  LogFileClosedError,
  type LogFileFormat,
  type LogFileOptions,
  LogWriteError,
  type RotationResult,
} from "./log_file.ts";
export { AsciiWriter, type AsciiWriterOptions, type LogFormatter } from "./ascii_writer.ts";
export { type JsonTimestamps, JsonWriter, type JsonWriterOptions } from "./json_writer.ts";
export { AsciiTranscoder } from "./ascii_transcoder.ts";
export {
  archiveLogFile,
  DEFAULT_ROTATION_INTERVAL_SEC,
  expireArchives,
  formatLogTimestamp,
  LogArchiveError,
  nextRotationTime,
  rotatedFileName,
} from "./rotation.ts";
export {
  type DecodedLogBatch,
  LOG_SERIALIZER_FORMAT,
  LogDecodeError,
  LogEncodeError,
  type LogWriteHeader,
} from "./log_batch_format.ts";
export { DEFAULT_LOG_BATCH_CAPACITY, encodeLogBatch } from "./log_batch_encoder.ts";
export { type LogBatchLayout, readLogBatchLayout } from "./log_batch_layout.ts";
export { decodeLogBatch, decodeLogRows } from "./log_batch_decoder.ts";
export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_FLUSH_RECORDS,
  DEFAULT_LOG_SNDHWM,
  DEFAULT_MAX_QUEUED_BYTES,
  DropReport,
  LOG_WRITE_TOPIC,
  type LogBatchingOptions,
  type LogDelivery,
  LogShipper,
  type LogShipperCounters,
  type LogShipperOptions,
  newShipperCounters,
  PushDelivery,
  type PushDeliveryOptions,
} from "./shipper.ts";
export {
  AckedDelivery,
  type AckedDeliveryOptions,
  type AckedWriter,
  DEFAULT_ACK_TIMEOUT_MS,
  LOG_ACK_TOPIC,
  LOG_ID_HEADER_BYTES,
} from "./acked_delivery.ts";
export { decodeRecords, LogSpool, type ShippedBatch } from "./log_spool.ts";
export {
  CLUSTER_LOG,
  createNodeLogging,
  DEFAULT_STATS_INTERVAL_MS,
  JSON_TIMESTAMPS,
  linkCurrentLogs,
  LOG_ZAP_DOMAIN,
  logAckEndpoint,
  type LogCurve,
  logEndpoint,
  type LoggingDeps,
  type LogReceiverCounters,
  logWriters,
  newReceiverCounters,
  type NodeLogging,
  type OpenLogging,
  openLogShipping,
  openLogSpool,
  spoolDirOf,
  WEIR_STATS,
  writesLogFiles,
} from "./node_logging.ts";
export { LogDirectory, type LogDirectoryOptions } from "./log_directory.ts";
export type {
  ConnectJetStreamOptions,
  JetStreamConnection,
  LogStreamAction,
  LogStreamOptions,
} from "./jetstream.ts";
/** The NATS JetStream helpers (`jetstream.ts`), loaded on first use: nodes without NATS skip the client. */
export const loadJetStream = (): Promise<typeof import("./jetstream.ts")> =>
  import("./jetstream.ts");
export { JetStreamDelivery, type JetStreamDeliveryOptions } from "./jetstream_delivery.ts";
export {
  DEFAULT_LOG_FIELD_LIMITS,
  limitRow,
  type LogFieldLimits,
  type TruncationWeird,
} from "./field_limits.ts";
