/**
 * The proxy role: a proxy-pool member whose work is what site scripts do
 * with the events routed to it.
 *
 * ```ts
 * import { runProxy } from "./mod.ts";
 *
 * await runProxy(start); // until start.shutdown aborts
 * ```
 *
 * @module
 */

export { runProxy } from "./run_proxy.ts";
