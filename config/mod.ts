/**
 * weir's configuration: zeekctl's `node.cfg` and `networks.cfg` as they
 * are, and the zeekctl.cfg keys that apply in `weir.cfg`, read once into one
 * frozen `Layout` with zeekctl's port allocation. Every problem in every
 * file is reported at once, as `file:line: message`, in one `ConfigError`.
 *
 * @example
 * ```ts
 * import { ConfigError, loadLayout } from "./config/mod.ts";
 *
 * try {
 *   const layout = await loadLayout("/etc/weir");
 *   for (const node of layout.nodes) console.log(node.name, node.address, node.port);
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.message); // one problem per line
 *   else throw error;
 * }
 * ```
 *
 * @example
 * ```ts
 * const layout = await createStandaloneLayout({ interface: "eth0" });
 * isLocalAddress(layout.localNets, "10.1.2.3"); // true: private address space
 * ```
 *
 * @module
 */

export { ConfigError, type ConfigProblem, formatProblem, Problems } from "./errors.ts";
export {
  BUILT_IN,
  createStandaloneLayout,
  defaultRouteInterface,
  isLoopback,
  type Layout,
  layoutFingerprint,
  loadLayout,
  nodeByName,
  type NodeSpec,
  parseDefaultRoute,
  settingsFingerprint,
  type StandaloneOptions,
} from "./layout.ts";
export {
  createLocalNets,
  isLocalAddress,
  isLocalIpv4,
  type LocalNet,
  parseCidr,
  parseNetworksCfg,
  PRIVATE_ADDRESS_SPACE,
  PRIVATE_LOCAL_NETS,
} from "./networks_cfg.ts";
export {
  type CaptureInterface,
  type NodeType,
  parseCaptureInterface,
  parseNodeCfg,
} from "./node_cfg.ts";
export {
  type BusEncryption,
  createDefaultSettings,
  type FileHashName,
  type JsonTimestamps,
  type LogTransport,
  type NatsSettings,
  parseWeirCfg,
  type WeirSettings,
} from "./weir_cfg.ts";
