/**
 * Logging as a node of the layout does it. Every node has a registry of
 * streams; where its records go is the role's choice: a logger (and the
 * manager when the layout has no logger, Zeek's `manager_is_logger`) writes
 * files and receives the other nodes' batches (`mod/logger/`), every other
 * node ships its records to the loggers (`openLogShipping`, here). Both
 * write a `weir.log` row about their log traffic every minute and when they
 * stop, so the loggers' files say what was shipped, received and dropped.
 *
 * @module
 */

import type { Layout, NodeSpec } from "../../config/mod.ts";
import { type CurveKeyPair, tcpEndpoint, type ZmqContext } from "../../ffi/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { T } from "../../zeek/mod.ts";
import { type LogDelivery, LogShipper, PushDelivery } from "./shipper.ts";
import { AckedDelivery } from "./acked_delivery.ts";
import { LogSpool } from "./log_spool.ts";
import { JetStreamDelivery } from "./jetstream_delivery.ts";
import type { JsonTimestamps } from "./json_writer.ts";

/** weir.cfg's JsonTimestamps as the JSON writer names them. */
export const JSON_TIMESTAMPS: Readonly<
  Record<Layout["settings"]["jsonTimestamps"], JsonTimestamps>
> = Object.freeze({
  epoch: "JSON::TS_EPOCH",
  millis: "JSON::TS_MILLIS",
  millis_unsigned: "JSON::TS_MILLIS_UNSIGNED",
  iso8601: "JSON::TS_ISO8601",
});
import { LogRegistry, type LogStream } from "./stream.ts";

/** How often the `weir.log` traffic row is written. */
export const DEFAULT_STATS_INTERVAL_MS = 60_000;

/**
 * The nodes that write log files in this layout: the loggers, or the
 * manager when there is none (Zeek's `manager_is_logger`) unless the logs
 * go to NATS (then the loggers, if any, consume the stream).
 */
export function logWriters(layout: Layout): NodeSpec[] {
  if (layout.settings.logTransport === "nats") {
    return layout.nodes.filter((n) => n.type === "logger");
  }
  return layout.managerIsLogger
    ? [layout.manager]
    : layout.nodes.filter((n) => n.type === "logger");
}

/** Whether `node` writes log files (and so opens the logger's writing, not shipping). */
export function writesLogFiles(layout: Layout, node: NodeSpec): boolean {
  return logWriters(layout).some((w) => w.name === node.name);
}

/** A node's log spool (working) directory, as zeekctl lays it out: `<SpoolDir>/<node>`. */
export function spoolDirOf(layout: Layout, node: NodeSpec): string {
  return `${layout.settings.spoolDir}/${node.name}`;
}

/** `tcp://address:port` of a log writer's PULL socket. */
export function logEndpoint(node: NodeSpec): string {
  return tcpEndpoint(node.address, node.port);
}

/** What a log receiver counts (metrics, `weir.log` and tests). */
export interface LogReceiverCounters {
  batches: number;
  records: number;
  /** Messages dropped as malformed (wrong frames, unknown format, undecodable payload). */
  malformed: number;
  /** Batches on Zeek's PULL path, which nothing acknowledges (Zeek's nodes, `LogAcks = no`). */
  unacknowledgedBatches: number;
  unacknowledgedRecords: number;
  /** Batches written and acknowledged on the acknowledged path. */
  acknowledgedBatches: number;
  /** Batches that arrived again after they were written (acknowledged, not written twice). */
  duplicateBatches: number;
  /** Records received per sending node id. */
  readonly bySender: Map<string, number>;
}

/** Fresh receiver counters, all zero. */
export function newReceiverCounters(): LogReceiverCounters {
  return {
    batches: 0,
    records: 0,
    malformed: 0,
    unacknowledgedBatches: 0,
    unacknowledgedRecords: 0,
    acknowledgedBatches: 0,
    duplicateBatches: 0,
    bySender: new Map(),
  };
}

/** The logging half of a running node. */
export interface NodeLogging extends AsyncDisposable {
  readonly registry: LogRegistry;
  /** Set on nodes that ship their records. */
  readonly shipper: LogShipper | undefined;
  /** Set on nodes that receive other nodes' records. */
  readonly received: Readonly<LogReceiverCounters> | undefined;
  /** Writes the `weir.log` traffic row now. */
  writeStats(): void;
}

/** What opening a node's logging needs. */
export interface LoggingDeps {
  readonly layout: Layout;
  readonly self: NodeSpec;
  readonly nodeId: string;
  readonly zmq: ZmqContext;
  readonly reporter: Reporter;
  readonly statsIntervalMs?: number;
  /**
   * A closed bus: this node's keypair and the public keys of the nodes (a
   * log writer's is its server key).
   */
  readonly curve?: LogCurve;
}

/** The ZAP domain of the log sockets (a log writer's PULL). */
export const LOG_ZAP_DOMAIN = "weir-log";

/** CURVE for the log sockets. */
export interface LogCurve {
  readonly keys: CurveKeyPair;
  readonly publicKeyOf: (node: string) => string | undefined;
}

/** Opens a node's logging: the role decides which (`openLogShipping`, or the logger's writing). */
export type OpenLogging = (deps: LoggingDeps) => NodeLogging;

/** Logging for a node that writes no files: its records go to the layout's log writers. */
export function openLogShipping(deps: LoggingDeps): NodeLogging {
  const settings = deps.layout.settings;
  const registry = new LogRegistry();
  const shipper = new LogShipper({
    delivery: openDelivery(deps),
    flushRecords: settings.logFlushRecords,
    flushIntervalMs: settings.logFlushIntervalSec * 1000,
  });
  registry.setSink(shipper);
  return createNodeLogging(deps, registry, {
    shipper,
    close: () => shipper.close(settings.stopTimeoutSec * 500),
  });
}

/** The node's log spool (`<SpoolDir>/<node>/log-spool`), for batches no logger takes now. */
export function openLogSpool(deps: LoggingDeps): LogSpool {
  return LogSpool.open(
    `${spoolDirOf(deps.layout, deps.self)}/log-spool`,
    deps.layout.settings.logSpoolBytes,
    deps.reporter,
  );
}

/**
 * How this node's batches reach the log writers: to NATS JetStream with
 * `LogTransport = nats`; acknowledged when every writer has an
 * acknowledgement port and LogAcks is on; else Zeek's PUSH.
 */
function openDelivery(deps: LoggingDeps): LogDelivery {
  const settings = deps.layout.settings;
  if (settings.logTransport === "nats") {
    return new JetStreamDelivery({
      nodeName: deps.self.name,
      nats: settings.nats,
      jsonTimestamps: JSON_TIMESTAMPS[settings.jsonTimestamps],
      spool: openLogSpool(deps),
      reporter: deps.reporter,
    });
  }
  const writers = logWriters(deps.layout);
  const curve = deps.curve;
  const serverKey = (w: NodeSpec): string => {
    const key = curve!.publicKeyOf(w.name);
    if (key === undefined) {
      throw new RangeError(
        `Cannot ship logs to ${w.name}: the key directory has no key for it (revoked, or not issued yet)`,
      );
    }
    return key;
  };
  if (settings.logAcks && writers.length > 0 && writers.every((w) => w.ackPort !== undefined)) {
    return new AckedDelivery({
      zmq: deps.zmq,
      nodeId: deps.nodeId,
      nodeName: deps.self.name,
      writers: writers.map((w) => ({
        name: w.name,
        endpoint: tcpEndpoint(w.address, w.ackPort!),
        ...(curve === undefined ? {} : { serverKey: serverKey(w) }),
      })),
      ...(curve === undefined ? {} : { curveKeys: curve.keys }),
      ackTimeoutMs: settings.logAckTimeoutSec * 1000,
      spool: openLogSpool(deps),
      heartbeat: {
        intervalMs: settings.heartbeatIntervalSec * 1000,
        timeoutMs: settings.nodeTimeoutSec * 1000,
      },
      reporter: deps.reporter,
    });
  }
  return new PushDelivery({
    zmq: deps.zmq,
    nodeId: deps.nodeId,
    endpoints: writers.map(logEndpoint),
    ...(curve === undefined
      ? {}
      : { curve: { keys: curve.keys, serverKeys: writers.map(serverKey) } }),
    reporter: deps.reporter,
  });
}

/** `tcp://address:port` of a log writer's acknowledgement ROUTER. */
export function logAckEndpoint(node: NodeSpec): string | undefined {
  return node.ackPort === undefined ? undefined : tcpEndpoint(node.address, node.ackPort);
}

/**
 * Adds the `weir.log` traffic row (every interval and at close) to a
 * registry whose sink is set; `close` runs after the last row is written.
 */
export function createNodeLogging(
  deps: LoggingDeps,
  registry: LogRegistry,
  parts: {
    readonly shipper?: LogShipper;
    readonly received?: Readonly<LogReceiverCounters>;
    readonly close: () => Promise<void>;
  },
): NodeLogging {
  const stats = registry.defineStream(WEIR_STATS);
  const writeStats = () => writeStatsRow(registry, stats, deps.self, parts.shipper, parts.received);
  const interval = deps.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS;
  const timer = interval > 0 ? setInterval(writeStats, interval) : undefined;
  let closed = false;
  return {
    registry,
    shipper: parts.shipper,
    received: parts.received,
    writeStats,
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      writeStats();
      await parts.close();
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
  received: Readonly<LogReceiverCounters> | undefined,
): void {
  const s = shipper?.counters;
  registry.write(stream, [
    Date.now() / 1000,
    self.name,
    s?.recordsSent,
    s?.queuedBatches,
    s?.recordsDropped,
    received?.records,
    received?.malformed,
  ]);
  shipper?.flush();
}

/**
 * Points `<LogDir>/current` at the first log writer's spool directory, as
 * zeekctl does, so `LogDir/current/conn.log` is always the live file.
 */
export async function linkCurrentLogs(layout: Layout): Promise<string | undefined> {
  const writer = logWriters(layout)[0];
  // Logger-less (logs to NATS, no logger): no live files on this cluster.
  if (writer === undefined) return undefined;
  const target = spoolDirOf(layout, writer);
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
