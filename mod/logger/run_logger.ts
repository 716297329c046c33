/**
 * The logger role: receives log batches from every other node and writes,
 * rotates and archives the log files (`log_writing.ts`, with the writer
 * pool and the receiver beside it).
 *
 * @module
 */

import { type NodeStart, openNode } from "../runtime/mod.ts";
import { aborted, announceReady } from "../process/mod.ts";
import { openLogWriting } from "./log_writing.ts";

/** Runs a logger until its shutdown signal. */
export async function runLogger(start: NodeStart): Promise<void> {
  await using node = await openNode({
    ...start,
    openLogging: openLogWriting,
    webSocketPort: start.self.webSocketPort,
  });
  announceReady(node.self.name, "logger", node.nodeId);
  await aborted(node.shutdown);
}
