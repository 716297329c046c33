/**
 * The worker role: joins the bus and runs site scripts; packet capture and
 * connection tracking plug in here.
 *
 * @module
 */

import type { NodeContext } from "../runtime/node_context.ts";
import { aborted } from "../runtime/shutdown.ts";

/** Runs a worker until its shutdown signal. */
export async function runWorker(ctx: NodeContext): Promise<void> {
  await aborted(ctx.shutdown);
}
