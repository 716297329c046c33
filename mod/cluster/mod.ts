/**
 * Zeek's cluster framework on the bus: the hello handshake and
 * `Cluster::node_up`/`node_down`, per-node and per-type topics, the pools
 * (HRW and round robin), and site scripts with the API they get.
 *
 * ```ts
 * import { checkNodeScripts } from "./mod.ts";
 *
 * const problems = await checkNodeScripts(siteDir, policy, layout.nodes, {
 *   ok: (line) => console.log(line),
 *   problem: (line) => console.error(line),
 * });
 * ```
 *
 * @module
 */

export {
  Cluster,
  type ClusterOptions,
  DEFAULT_HELLO_EXPIRATION_MS,
  type PeerState,
} from "./cluster.ts";
export { Pool, type PoolSpec } from "./pools.ts";
export { createSiteApi, type SiteApi, type SiteLogApi } from "./site_api.ts";
export {
  checkNodeScripts,
  listSiteScripts,
  loadSiteScripts,
  type LoadSiteScriptsOptions,
  type ScriptCheckOutput,
  SiteScriptError,
  type SiteScriptLoading,
  type SiteScriptSelection,
} from "./site_scripts.ts";
