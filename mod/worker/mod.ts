/**
 * The worker role: capture on the node's interface (AF_PACKET with its
 * fanout group, or libpcap) through the packet pipeline, logs shipped to
 * the loggers, netstats answered over the bus.
 *
 * ```ts
 * import { runWorker } from "./mod.ts";
 *
 * await runWorker(start); // until start.shutdown aborts
 * ```
 *
 * @module
 */

export { runWorker, WorkerCaptureError } from "./run_worker.ts";
