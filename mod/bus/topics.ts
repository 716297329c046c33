/**
 * Zeek's topic scheme for the ZeroMQ backend. Topics that address a node end
 * in the separator, because subscriptions are byte-prefix matches: without
 * it `worker-1` would also match `worker-10`.
 *
 * @module
 */

import type { NodeType } from "../../config/mod.ts";

export const TOPIC_SEPARATOR = ".";

/** The topic every node subscribes to for itself by name. */
export function nodeTopic(name: string): string {
  return `zeek.cluster.node.${name}.`;
}

/** The topic every node subscribes to for itself by node id. */
export function nodeIdTopic(id: string): string {
  return `zeek.cluster.nodeid.${id}.`;
}

const NODE_ID_TOPIC_PREFIX = "zeek.cluster.nodeid.";

/** The node id inside a `nodeIdTopic`, or undefined for any other topic. */
export function nodeIdFromTopic(topic: string): string | undefined {
  if (!topic.startsWith(NODE_ID_TOPIC_PREFIX) || !topic.endsWith(".")) return undefined;
  const id = topic.slice(NODE_ID_TOPIC_PREFIX.length, -1);
  return id.length > 0 ? id : undefined;
}

/** The topic of all nodes of a type (`zeek.cluster.worker`), as Zeek names it. */
export function nodeTypeTopic(type: NodeType): string {
  return `zeek.cluster.${type}`;
}

/** Built-in pool topics. */
export const POOL_TOPICS = Object.freeze({
  proxy: "zeek.cluster.pool.proxy",
  worker: "zeek.cluster.pool.worker",
  logger: "zeek.cluster.pool.logger",
});

/** The private topic a node uses to learn that its subscriptions reached the forwarder. */
export function internalReadyTopic(id: string, n: number): string {
  return `zeek.zeromq.internal.${id}.${n}.`;
}
