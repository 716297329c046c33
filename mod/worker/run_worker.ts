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
  announceReady(ctx.self.name, "worker", ctx.nodeId);
  let capture: CaptureLoop | undefined;
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
        onError: (error) =>
          ctx.reporter.error(`capture stopped: ${error instanceof Error ? error.message : error}`),
      });
      ctx.reporter.info(`capturing on ${capture.source.name}`);
      const running = capture;
      ctx.metrics?.addSource(() => [
        ...packetSamples(running.source.stats()),
        ...sessionSamples(running.tracker.sessions()),
        ...reassemblySamples(running.reassembly.stats()),
      ]);
    } catch (error) {
      // The node stays up (bus, scripts, status) so the operator sees why.
      ctx.reporter.error(
        `cannot capture: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
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
  try {
    await aborted(ctx.shutdown);
  } finally {
    await capture?.close();
  }
}
