/**
 * weir's configuration: zeekctl's `node.cfg`, `networks.cfg` and the
 * zeekctl.cfg keys in `weir.cfg`, parsed once into a frozen `Layout`.
 *
 * @example
 * ```ts
 * const layout = await loadLayout("/etc/weir");
 * console.log(layout.forwarder.xpubPort, layout.nodes.map((n) => `${n.name}:${n.port}`));
 * ```
 *
 * @module
 */

export { ConfigError, type ConfigProblem, formatProblem } from "./errors.ts";
export {
  createStandaloneLayout,
  defaultRouteInterface,
  type Layout,
  layoutFingerprint,
  loadLayout,
  nodeByName,
  type NodeSpec,
} from "./layout.ts";
export {
  DEFAULT_LOCAL_NETS,
  isLocalAddress,
  type LocalNet,
  parseAddress,
  parseCidr,
} from "./networks_cfg.ts";
export {
  type AfPacketOptions,
  type CaptureInterface,
  DEFAULT_AF_PACKET,
  type FanoutMode,
  type NodeType,
  parseCaptureInterface,
} from "./node_cfg.ts";
export type { JsonTimestamps, WeirSettings } from "./weir_cfg.ts";
