/**
 * The receiving and writing half of logging: a log writer (a logger, or the
 * manager of a layout without loggers) writes its own records and the
 * batches other nodes push to its PULL socket into files under
 * `<SpoolDir>/<node>`, rotated and archived as zeekctl does.
 *
 * @module
 */

import {
  createNodeLogging,
  JSON_TIMESTAMPS,
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
import { JetStreamSource } from "./jetstream_source.ts";

/**
 * Logging for a node that writes the files: a writer pool, the receiver
 * other nodes push to and, with `LogTransport = nats`, the stream's
 * consumer.
 */
export function openLogWriting(deps: LoggingDeps): NodeLogging {
  const { layout, self, reporter } = deps;
  const settings = layout.settings;
  const writers = logWriters(layout);
  const spoolDir = spoolDirOf(layout, self);
  const fromNats = settings.logTransport === "nats";
  // Batches come acknowledged from the bus, or from NATS; Zeek's PULL path stays either way.
  const ackEndpoint = fromNats ? undefined : logAckEndpoint(self);
  const ledger = ackEndpoint === undefined && !fromNats
    ? undefined
    : LogLedger.open(spoolDir, reporter);
  const pool = new LogWriterPool({
    spoolDir,
    ...(ledger === undefined ? {} : { journal: ledger, truncations: ledger.truncations }),
    format: settings.useJson ? "json" : "ascii",
    json: { timestamps: JSON_TIMESTAMPS[settings.jsonTimestamps] },
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
      ...(ackEndpoint === undefined ? {} : { acks: { endpoint: ackEndpoint, ledger: ledger! } }),
    });
  } catch (error) {
    void pool.close();
    ledger?.close();
    throw error;
  }
  const source = fromNats
    ? new JetStreamSource({
      nodeName: self.name,
      nats: settings.nats,
      pool,
      ledger: ledger!,
      counters: receiver.counters,
      reporter,
    })
    : undefined;
  const registry = new LogRegistry();
  registry.setSink(pool);
  return createNodeLogging(deps, registry, {
    received: receiver.counters,
    async close() {
      await source?.close();
      await receiver.close();
      await pool.close();
      // The files' last chunks acknowledged their batches on the way.
      await source?.disconnect();
      receiver.closeAcks();
      ledger?.close();
    },
  });
}
