/**
 * The proxy role. As in Zeek, a proxy has no work of its own: it is a
 * member of the proxy pool, and what it does is what site scripts make of
 * the events other nodes route to it by HRW or round robin
 * (`Cluster::publish_hrw`; the pools are the cluster framework's, in
 * `mod/cluster/pools.ts`, since every node publishes to them). It ships its
 * log records to the loggers and can host an extra WebSocket entry point
 * (node.cfg `websocket_port`).
 *
 * @module
 */

import { openLogShipping } from "../log/mod.ts";
import { type NodeStart, openNode } from "../runtime/mod.ts";
import { aborted, announceReady } from "../process/mod.ts";

/** Runs a proxy until its shutdown signal. */
export async function runProxy(start: NodeStart): Promise<void> {
  await using node = await openNode({
    ...start,
    openLogging: openLogShipping,
    webSocketPort: start.self.webSocketPort,
  });
  announceReady(node.self.name, "proxy", node.nodeId);
  await aborted(node.shutdown);
}
