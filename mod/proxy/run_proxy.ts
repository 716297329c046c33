/**
 * The proxy role: a pool member for site scripts' shared state (HRW and
 * round-robin targets); it can host an extra WebSocket entry point.
 *
 * @module
 */

import type { NodeContext } from "../runtime/node_context.ts";
import { aborted } from "../runtime/shutdown.ts";

/** Runs a proxy until its shutdown signal. */
export async function runProxy(ctx: NodeContext): Promise<void> {
  await aborted(ctx.shutdown);
}
