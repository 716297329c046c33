/**
 * What a site script sees: the counterpart of Zeek's script-level cluster
 * API (`Cluster::publish`, `subscribe`, `node`, pools, `node_up` …).
 *
 * @example
 * ```ts
 * // site/ping.ts
 * export default function (zeek) {
 *   zeek.declare("Site::ping", [["n", zeek.T.count]]);
 *   zeek.on("Site::ping", (n) => console.log("ping", n));
 *   zeek.on("Cluster::node_up", (name) => zeek.publish(zeek.nodeTopic(name), "Site::ping", 1));
 * }
 * ```
 *
 * @module
 */

import type { NodeType } from "../../config/mod.ts";
import {
  type EventHandler,
  nodeIdTopic,
  nodeTopic,
  nodeTypeTopic,
  POOL_TOPICS,
} from "../bus/mod.ts";
import { T, type ZeekType, type ZeekValue } from "../../zeek/mod.ts";
import type { Cluster } from "./cluster.ts";
import {
  type FilterSpec,
  type LogFilter,
  type LogRegistry,
  type LogStream,
  type StreamSpec,
  validateRow,
} from "../log/mod.ts";

/** Zeek's logging framework as scripts see it (`Log::create_stream`, `Log::write`, filters). */
export interface SiteLogApi {
  /** Declares a stream (`Log::create_stream`); its records go to `<path>.log` on the loggers. */
  createStream(spec: StreamSpec): LogStream;
  /** Writes a record object (nested records flattened) or a row in column order. */
  write(
    stream: LogStream | string,
    record: { readonly [field: string]: ZeekValue | undefined } | readonly ZeekValue[],
  ): void;
  addFilter(stream: LogStream | string, spec: FilterSpec): LogFilter;
  removeFilter(stream: LogStream | string, name: string): boolean;
}

/** The object handed to every site script's default export. */
export interface SiteApi {
  /** This node's name (`Cluster::node`). */
  readonly node: string;
  /** This node's id on the bus (`Cluster::node_id()`). */
  readonly nodeId: string;
  /** Type builders for declarations. */
  readonly T: typeof T;
  readonly poolTopics: typeof POOL_TOPICS;
  localNodeType(): NodeType;
  /** Every node of the layout with its type and, while up, its id. */
  nodes(): { name: string; type: NodeType; id: string | undefined }[];
  declare(name: string, args: readonly (readonly [string, ZeekType])[]): void;
  on(name: string, handler: EventHandler): void;
  raise(name: string, ...args: ZeekValue[]): void;
  publish(topic: string, name: string, ...args: ZeekValue[]): boolean;
  publishHrw(
    pool: "proxy" | "worker" | "logger",
    key: string,
    name: string,
    ...args: ZeekValue[]
  ): boolean;
  publishRr(
    pool: "proxy" | "worker" | "logger",
    key: string,
    name: string,
    ...args: ZeekValue[]
  ): boolean;
  subscribe(prefix: string): boolean;
  unsubscribe(prefix: string): boolean;
  nodeTopic(name: string): string;
  nodeIdTopic(id: string): string;
  nodeTypeTopic(type: NodeType): string;
  nodeIdToNode(id: string): string | undefined;
  /** Makes a value answerable to `weir print <id>` (zeekctl's print). */
  exportId(id: string, value: () => unknown): void;
  readonly log: SiteLogApi;
}

/** Builds the site API over a node's cluster object and log registry. */
export function createSiteApi(cluster: Cluster, logs: LogRegistry): SiteApi {
  const streamOf = (stream: LogStream | string): LogStream => {
    if (typeof stream !== "string") return stream;
    const found = logs.stream(stream);
    if (found === undefined) {
      throw new RangeError(
        `Cannot write to log stream ${stream}: create it first with log.createStream`,
      );
    }
    return found;
  };
  const log: SiteLogApi = {
    createStream: (spec: StreamSpec) => logs.defineStream(spec),
    // Scripts are the one producer weir does not write itself: their rows are
    // checked here, at the edge, from source and in the binary alike (the
    // registry's own check is off for weir's streams; see LogRegistryOptions).
    write: (stream, record) => {
      const s = streamOf(stream);
      const row = Array.isArray(record)
        ? record
        : s.row(record as { readonly [field: string]: ZeekValue | undefined });
      validateRow(s, row);
      logs.write(s, row);
    },
    addFilter: (stream, spec) => logs.addFilter(stream, spec),
    removeFilter: (stream, name) => logs.removeFilter(stream, name),
  };
  Object.freeze(log);
  const api: SiteApi = {
    node: cluster.self.name,
    nodeId: cluster.nodeId,
    T,
    poolTopics: POOL_TOPICS,
    localNodeType: () => cluster.self.type,
    nodes: () => [
      { name: cluster.self.name, type: cluster.self.type, id: cluster.nodeId },
      ...cluster.peers(),
    ],
    declare: (name, args) => cluster.declare(name, args),
    on: (name, handler) => cluster.on(name, handler),
    raise: (name, ...args) => cluster.raise(name, ...args),
    publish: (topic, name, ...args) => cluster.publish(topic, name, ...args),
    publishHrw: (pool, key, name, ...args) => cluster.publishHrw(pool, key, name, ...args),
    publishRr: (pool, key, name, ...args) => cluster.publishRr(pool, key, name, ...args),
    subscribe: (prefix) => cluster.subscribe(prefix),
    unsubscribe: (prefix) => cluster.unsubscribe(prefix),
    nodeTopic,
    nodeIdTopic,
    nodeTypeTopic,
    nodeIdToNode: (id) => cluster.nodeIdToNode(id),
    exportId: (id, value) => cluster.exportId(id, value),
    log,
  };
  return Object.freeze(api);
}
