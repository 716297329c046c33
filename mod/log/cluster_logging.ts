/**
 * Logging as a node of the layout does it: loggers (and the manager when the
 * layout has no logger, Zeek's `manager_is_logger`) write files and bind the
 * PULL socket other nodes push to; every other node ships its records to
 * them. Both kinds write a `weir.log` row about their log traffic every
 * minute and when they stop, so the loggers' files say what was shipped,
 * received and dropped.
 *
 * @module
 */

import type { JsonTimestamps, Layout, NodeSpec } from "../../config/mod.ts";
import { tcpEndpoint, type ZmqContext } from "../../ffi/libzmq.ts";
import type { Reporter } from "../runtime/reporter.ts";
import { T } from "../../zeek/types.ts";
import type { JsonTimestamps as WriterTimestamps } from "./json_writer.ts";
import { LogReceiver } from "../logger/log_receiver.ts";
import { LogWriterPool } from "../logger/log_writer_pool.ts";
import { LogShipper } from "./shipper.ts";
import { LogRegistry, type LogStream } from "./stream.ts";

/** How often the `weir.log` traffic row is written. */
export const DEFAULT_STATS_INTERVAL_MS = 60_000;

const WRITER_TIMESTAMPS: Readonly<Record<JsonTimestamps, WriterTimestamps>> = Object.freeze({
  epoch: "JSON::TS_EPOCH",
  millis: "JSON::TS_MILLIS",
  millis_unsigned: "JSON::TS_MILLIS_UNSIGNED",
  iso8601: "JSON::TS_ISO8601",
});

/** The nodes that write log files in this layout. */
export function logWriters(layout: Layout): NodeSpec[] {
  return layout.managerIsLogger
    ? [layout.manager]
    : layout.nodes.filter((n) => n.type === "logger");
}

/** A node's log spool (working) directory, as zeekctl lays it out: `<SpoolDir>/<node>`. */
export function spoolDirOf(layout: Layout, node: NodeSpec): string {
  return `${layout.settings.spoolDir}/${node.name}`;
}

/** `tcp://address:port` of a log writer's PULL socket. */
export function logEndpoint(node: NodeSpec): string {
  return tcpEndpoint(node.address, node.port);
}

/** The logging half of a running node. */
export interface ClusterLogging extends AsyncDisposable {
  readonly registry: LogRegistry;
  /** Set on nodes that ship their records. */
  readonly shipper: LogShipper | undefined;
  /** Set on nodes that write files. */
  readonly pool: LogWriterPool | undefined;
  readonly receiver: LogReceiver | undefined;
  /** Writes the `weir.log` traffic row now. */
  writeStats(): void;
}

/** Sets up logging for `self`: files and a receiver on log writers, a shipper elsewhere. */
export function openClusterLogging(options: {
  layout: Layout;
  self: NodeSpec;
  nodeId: string;
  zmq: ZmqContext;
  reporter: Reporter;
  statsIntervalMs?: number;
}): ClusterLogging {
  const { layout, self, zmq, reporter } = options;
  const settings = layout.settings;
  const writers = logWriters(layout);
  const registry = new LogRegistry();
  let shipper: LogShipper | undefined;
  let pool: LogWriterPool | undefined;
  let receiver: LogReceiver | undefined;
  if (writers.some((w) => w.name === self.name)) {
    pool = new LogWriterPool({
      spoolDir: spoolDirOf(layout, self),
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
    try {
      receiver = new LogReceiver({
        zmq,
        endpoint: logEndpoint(self),
        pool,
        reporter,
        ipv6: self.address.includes(":"),
      });
    } catch (error) {
      void pool.close();
      throw error;
    }
    registry.setSink(pool);
  } else {
    shipper = new LogShipper({
      zmq,
      nodeId: options.nodeId,
      endpoints: writers.map(logEndpoint),
      flushRecords: settings.logFlushRecords,
      flushIntervalMs: settings.logFlushIntervalSec * 1000,
      reporter,
    });
    registry.setSink(shipper);
  }
  const stats = registry.defineStream(WEIR_STATS);
  const writeStats = () => writeStatsRow(registry, stats, self, shipper, receiver);
  const interval = options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS;
  const timer = interval > 0 ? setInterval(writeStats, interval) : undefined;
  let closed = false;
  return {
    registry,
    shipper,
    pool,
    receiver,
    writeStats,
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      writeStats();
      await shipper?.close(settings.stopTimeoutSec * 500);
      await receiver?.close();
      await pool?.close();
    },
  };
}

/** Zeek's `cluster.log`: the cluster framework's messages, one row each. */
export const CLUSTER_LOG = Object.freeze({
  id: "Cluster::LOG",
  path: "cluster",
  columns: Object.freeze([
    { name: "ts", type: T.time, optional: false },
    { name: "node", type: T.string, optional: false },
    { name: "message", type: T.string, optional: false },
  ]),
});

/** `weir.log`: one row per node and interval about its log traffic. */
export const WEIR_STATS = Object.freeze({
  id: "Weir::STATS",
  path: "weir",
  columns: Object.freeze([
    { name: "ts", type: T.time, optional: false },
    { name: "node", type: T.string, optional: false },
    { name: "log_records_sent", type: T.count, optional: true },
    { name: "log_records_queued_batches", type: T.count, optional: true },
    { name: "log_records_dropped", type: T.count, optional: true },
    { name: "log_records_received", type: T.count, optional: true },
    { name: "log_messages_malformed", type: T.count, optional: true },
  ]),
});

function writeStatsRow(
  registry: LogRegistry,
  stream: LogStream,
  self: NodeSpec,
  shipper: LogShipper | undefined,
  receiver: LogReceiver | undefined,
): void {
  const s = shipper?.counters;
  const r = receiver?.counters;
  registry.write(stream, [
    Date.now() / 1000,
    self.name,
    s?.recordsSent,
    s?.queuedBatches,
    s?.recordsDropped,
    r?.records,
    r?.malformed,
  ]);
  shipper?.flush();
}

/**
 * Points `<LogDir>/current` at the first log writer's spool directory, as
 * zeekctl does, so `LogDir/current/conn.log` is always the live file.
 */
export async function linkCurrentLogs(layout: Layout): Promise<string> {
  const target = spoolDirOf(layout, logWriters(layout)[0]!);
  const link = `${layout.settings.logDir}/current`;
  await Deno.mkdir(layout.settings.logDir, { recursive: true });
  await Deno.mkdir(target, { recursive: true });
  try {
    const info = await Deno.lstat(link);
    if (!info.isSymlink) {
      throw new Error(
        `Cannot link ${link} to the live logs: it exists and is not a symbolic link; move it away`,
      );
    }
    await Deno.remove(link);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.symlink(target, link);
  return link;
}
