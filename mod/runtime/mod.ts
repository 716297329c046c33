/**
 * The node setup every role shares: `openNode` joins the bus and the
 * cluster, opens the logging the role chose, serves `/metrics` (and the
 * WebSocket API on the port the role gives), loads site scripts.
 *
 * ```ts
 * import { openNode } from "./mod.ts";
 * import { openLogShipping } from "../log/mod.ts";
 *
 * await using node = await openNode({ ...start, openLogging: openLogShipping });
 * node.cluster.publish("zeek.cluster.manager", "Site::hello", node.self.name);
 * ```
 *
 * @module
 */

export {
  forwarderEndpoints,
  heartbeatOf,
  localForwarderEndpoints,
  type NodeContext,
  type NodeOptions,
  type NodeStart,
  openNode,
} from "./node_context.ts";
