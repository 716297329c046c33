/**
 * The host agent (`weir join`): one command per sensor, which enrols with
 * the manager, receives the configuration and runs the host's nodes.
 *
 * ```ts
 * import { runAgent } from "./mod.ts";
 * ```
 *
 * @module
 */

export { AgentError, type AgentOptions, readTokenFile, runAgent } from "./run_agent.ts";
