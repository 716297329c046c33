/**
 * The logger role: receives log batches from every other node and writes,
 * rotates and archives the log files.
 *
 * @module
 */

import type { NodeContext } from "../runtime/node_context.ts";
import { aborted } from "../runtime/shutdown.ts";

/** Runs a logger until its shutdown signal. */
export async function runLogger(ctx: NodeContext): Promise<void> {
  await aborted(ctx.shutdown);
}
