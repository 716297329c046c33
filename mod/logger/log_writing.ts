/**
 * The receiving and writing half of logging: a log writer (a logger, or the
 * manager of a layout without loggers) writes its own records and the
 * batches other nodes push to its PULL socket into files under
 * `<SpoolDir>/<node>`, rotated and archived as zeekctl does.
 *
 * @module
 */

import type { JsonTimestamps } from "../../config/mod.ts";
import {
  createNodeLogging,
  type JsonTimestamps as WriterTimestamps,
  logAckEndpoint,
  logEndpoint,
  type LoggingDeps,
  LogRegistry,
  logWriters,
  type NodeLogging,
  spoolDirOf,
} from "../log/mod.ts";
import { LogReceiver } from "./log_receiver.ts";
import { LogWriterPool } from "./log_writer_pool.ts";
import { LogLedger } from "./log_ledger.ts";

const WRITER_TIMESTAMPS: Readonly<Record<JsonTimestamps, WriterTimestamps>> = Object.freeze({
  epoch: "JSON::TS_EPOCH",
  millis: "JSON::TS_MILLIS",
  millis_unsigned: "JSON::TS_MILLIS_UNSIGNED",
  iso8601: "JSON::TS_ISO8601",
});

/** Logging for a node that writes the files: a writer pool and the receiver other nodes push to. */
export function openLogWriting(deps: LoggingDeps): NodeLogging {
  const { layout, self, reporter } = deps;
  const settings = layout.settings;
  const writers = logWriters(layout);
  const spoolDir = spoolDirOf(layout, self);
  const ackEndpoint = logAckEndpoint(self);
  const ledger = ackEndpoint === undefined ? undefined : LogLedger.open(spoolDir, reporter);
  const pool = new LogWriterPool({
    spoolDir,
    ...(ledger === undefined ? {} : { journal: ledger, truncations: ledger.truncations }),
    format: settings.useJson ? "json" : "ascii",
    json: { timestamps: WRITER_TIMESTAMPS[settings.jsonTimestamps] },
    archive: {
      logDir: settings.logDir,
      compress: settings.compressLogs,
      logger: writers.length > 1 ? self.name : undefined,
    },
    rotationIntervalSec: settings.logRotationIntervalSec,
    expireIntervalSec: settings.logExpireIntervalSec,
    reporter,
  });
  let receiver: LogReceiver;
  try {
    receiver = new LogReceiver({
      zmq: deps.zmq,
      endpoint: logEndpoint(self),
      pool,
      reporter,
      ipv6: self.address.includes(":"),
      ...(deps.curve === undefined ? {} : { curveSecretKey: deps.curve.keys.secretKey }),
      ...(ledger === undefined ? {} : { acks: { endpoint: ackEndpoint!, ledger } }),
    });
  } catch (error) {
    void pool.close();
    ledger?.close();
    throw error;
  }
  const registry = new LogRegistry();
  registry.setSink(pool);
  return createNodeLogging(deps, registry, {
    received: receiver.counters,
    async close() {
      await receiver.close();
      await pool.close();
      // The files' last chunks acknowledged their batches on the way.
      receiver.closeAcks();
    },
  });
}
