/**
 * The worker role: joins the bus, runs site scripts, captures on its
 * interface and runs the packet pipeline, its logs going to the loggers;
 * answers zeekctl's netstats.
 *
 * @module
 */

import { openLogShipping } from "../log/mod.ts";
import { type NodeStart, openNode } from "../runtime/mod.ts";
import { aborted, announceReady } from "../process/mod.ts";
import { nodeTopic } from "../bus/mod.ts";
import { packetSamples, reassemblySamples, sessionSamples } from "../api/metrics/mod.ts";
import { type CaptureLoop, openCaptureLoop } from "./capture_loop.ts";

/** Runs a worker until its shutdown signal. */
export async function runWorker(start: NodeStart): Promise<void> {
  await using ctx = await openNode({
    ...start,
    openLogging: openLogShipping,
    webSocketPort: start.self.webSocketPort,
  });
  let capture: CaptureLoop | undefined;
  // A capture that fails ends the worker, as Zeek's does: the supervisor
  // then shows it crashed and restarts it with backoff.
  let captureFailed: (error: unknown) => void = () => {};
  const failed = new Promise<unknown>((resolve) => captureFailed = resolve);
  if (ctx.self.capture === undefined) {
    ctx.reporter.warning(`no interface in node.cfg for ${ctx.self.name}: not capturing`);
  } else {
    try {
      capture = await openCaptureLoop({
        self: ctx.self,
        logs: ctx.logging.registry,
        localNets: ctx.layout.localNets,
        protocols: {
          fileHashes: ctx.layout.settings.fileHashes,
          httpCapturePassword: ctx.layout.settings.httpCapturePassword,
        },
        events: ctx.cluster.events,
        onError: captureFailed,
      });
      ctx.reporter.info(`capturing on ${capture.source.name}`);
      const running = capture;
      ctx.metrics?.addSource(() => [
        ...packetSamples(running.source.stats()),
        ...sessionSamples(running.tracker.sessions()),
        ...reassemblySamples(running.reassembly.stats()),
      ]);
    } catch (error) {
      throw new WorkerCaptureError(
        `cannot capture: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  // Ready once capturing: a worker that cannot capture never shows as running.
  announceReady(ctx.self.name, "worker", ctx.nodeId);
  // zeekctl netstats: the manager asks every worker, each answers its counters.
  ctx.cluster.on("Control::net_stats_request", () => {
    const s = capture?.source.stats();
    const text = s === undefined
      ? "no capture"
      : `${(Date.now() / 1000).toFixed(6)} recvd=${s.received} dropped=${s.dropped} link=${s.link}`;
    ctx.cluster.publish(
      nodeTopic(ctx.layout.manager.name),
      "Control::net_stats_response",
      `${ctx.self.name}: ${text}`,
    );
  });
  let failure: unknown;
  try {
    failure = await Promise.race([aborted(ctx.shutdown).then(() => undefined), failed]);
  } finally {
    await capture?.close();
  }
  if (failure !== undefined) {
    throw new WorkerCaptureError(
      `capture stopped: ${failure instanceof Error ? failure.message : failure}`,
    );
  }
}

/** The worker cannot capture (or its capture stopped): it ends with this one line. */
export class WorkerCaptureError extends Error {
  override readonly name = "WorkerCaptureError";
}
