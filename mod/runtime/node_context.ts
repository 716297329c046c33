/**
 * The node setup every role shares: join the bus, see the cluster, open the
 * logging the role chose, serve `/metrics`, load site scripts, and serve
 * the WebSocket API where the role asks for it. It knows no roles: what
 * differs between them arrives as arguments (`openLogging`, `webSocketPort`,
 * `serviceDiscovery`).
 *
 * @module
 */

import { openWebSocketEntry } from "./websocket_entry.ts";
import { BUILT_IN, type Layout, loadLayout, type NodeSpec } from "../../config/mod.ts";
import { tcpEndpoint, ZmqContext } from "../../ffi/mod.ts";
import { Bus } from "../bus/mod.ts";
import { Cluster, createSiteApi, loadSiteScripts } from "../cluster/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { CLUSTER_LOG, type NodeLogging, type OpenLogging } from "../log/mod.ts";
import {
  busSamples,
  eventSamples,
  logReceiverSamples,
  logShipperSamples,
  logWriteSamples,
  type MetricSource,
  type MetricsServer,
  openMetricsServer,
  type ServiceDiscovery,
} from "../api/metrics/mod.ts";

/** Who this process is and how it stops: what `main.ts` hands every role runner. */
export interface NodeStart {
  readonly layout: Layout;
  readonly self: NodeSpec;
  readonly nodeId: string;
  readonly reporter: Reporter;
  /** Aborted when the node should stop (signal, or the supervisor's pipe closed). */
  readonly shutdown: AbortSignal;
  /** Hears about a failure the node cannot survive (the bus died). */
  readonly onFatal: (error: unknown) => void;
  /** `--insecure-websocket`: allow a non-loopback WebSocket without token file or TLS. */
  readonly insecureWebSocket: boolean;
}

/** What a role opens its node with, beyond `NodeStart`. */
export interface NodeOptions extends NodeStart {
  /** Where this node's log records go: written here, or shipped to the loggers. */
  readonly openLogging: OpenLogging;
  /** Serve Zeek's WebSocket API on this port (none when undefined). */
  readonly webSocketPort?: number | undefined;
  /** Serve `/services.json` from it beside `/metrics`. */
  readonly serviceDiscovery?: ServiceDiscovery | undefined;
  /** A ZeroMQ context to share (the manager's, which also runs the forwarder). */
  readonly zmq?: ZmqContext;
}

/** What every role runner works with once its node is open. */
export interface NodeContext extends AsyncDisposable {
  readonly layout: Layout;
  readonly self: NodeSpec;
  readonly nodeId: string;
  readonly zmq: ZmqContext;
  readonly bus: Bus;
  readonly cluster: Cluster;
  /** Log streams and where their records go (files here, or the loggers). */
  readonly logging: NodeLogging;
  /** `/metrics` (and `/services.json` where asked); undefined when MetricsPort is 0. */
  readonly metrics: MetricsServer | undefined;
  readonly reporter: Reporter;
  readonly shutdown: AbortSignal;
  /** Site scripts loaded, in order. */
  readonly siteScripts: readonly string[];
}

/** The endpoints a node connects to, from the layout's forwarder entry. */
export function forwarderEndpoints(layout: Layout): { xpub: string; xsub: string; ipv6: boolean } {
  const { address, xpubPort, xsubPort } = layout.forwarder;
  return {
    xpub: tcpEndpoint(address, xpubPort),
    xsub: tcpEndpoint(address, xsubPort),
    ipv6: address.includes(":"),
  };
}

/**
 * Joins the cluster as `self`: connects to the forwarder, runs the hello
 * handshake, loads site scripts. Closing the context leaves the bus.
 */
export async function openNode(options: NodeOptions): Promise<NodeContext> {
  const { layout, self, nodeId, reporter } = options;
  // Whatever opened is closed again if a later step fails (say a taken port).
  await using stack = new AsyncDisposableStack();
  const zmq = options.zmq ?? new ZmqContext();
  if (options.zmq === undefined) stack.defer(() => zmq.close());
  const endpoints = forwarderEndpoints(layout);
  // A node's XPUB connects to the central XSUB and its XSUB to the central XPUB.
  const bus = Bus.open(zmq, {
    nodeId,
    connectXpub: endpoints.xsub,
    connectXsub: endpoints.xpub,
    ipv6: endpoints.ipv6,
  }, options.onFatal);
  stack.defer(() => bus.close());
  const cluster = new Cluster({
    layout,
    self,
    nodeId,
    bus,
    reporter,
    // A node added by `weir deploy` is in node.cfg on disk, not in our copy.
    lookupNode: async (name) => {
      if (layout.source === BUILT_IN) return undefined;
      const fresh = await loadLayout(layout.source);
      return fresh.nodes.find((n) => n.name === name);
    },
  });
  stack.defer(() => cluster.close());
  const logging = stack.use(options.openLogging({ layout, self, nodeId, zmq, reporter }));
  logging.registry.setEvents(cluster.events);
  const clusterLog = logging.registry.defineStream(CLUSTER_LOG);
  cluster.logTo((message) =>
    logging.registry.write(clusterLog, [Date.now() / 1000, self.name, message])
  );
  const metrics = openMetrics(options, bus, cluster, logging);
  if (metrics !== undefined) stack.use(metrics);
  const siteScripts = await loadSiteScripts(
    {
      siteDir: layout.settings.siteDir,
      policy: layout.settings.sitePolicyScripts,
      aux: self.auxScripts,
    },
    createSiteApi(cluster, logging.registry),
  );
  await cluster.start();
  if (options.webSocketPort !== undefined) {
    stack.use(
      await openWebSocketEntry({
        zmq,
        endpoints,
        nodeId,
        events: cluster.events,
        settings: layout.settings,
        port: options.webSocketPort,
        insecure: options.insecureWebSocket,
        reporter,
        metrics,
      }),
    );
  }
  // Closes in reverse: WebSocket, metrics, logging (last records shipped), cluster, bus, context.
  const owned = stack.move();
  let closing: Promise<void> | undefined;
  return {
    layout,
    self,
    nodeId,
    zmq,
    bus,
    cluster,
    logging,
    metrics,
    reporter,
    shutdown: options.shutdown,
    siteScripts,
    [Symbol.asyncDispose]: () => closing ??= owned.disposeAsync(),
  };
}

/** Every process serves `/metrics` on its layout port, with `/services.json` when given one. */
function openMetrics(
  options: NodeOptions,
  bus: Bus,
  cluster: Cluster,
  logging: NodeLogging,
): MetricsServer | undefined {
  const { layout, self, reporter } = options;
  if (self.metricsPort === undefined) return undefined;
  const sources: MetricSource[] = [
    () => busSamples(bus.counters),
    () => eventSamples(cluster.events.invocations),
    () => logWriteSamples(logging.registry.counters()),
  ];
  const { shipper, received } = logging;
  if (shipper !== undefined) sources.push(() => logShipperSamples(shipper.counters));
  if (received !== undefined) sources.push(() => logReceiverSamples(received));
  return openMetricsServer({
    node: self.name,
    host: layout.settings.metricsAddress,
    port: self.metricsPort,
    sources,
    ...(options.serviceDiscovery === undefined
      ? {}
      : { serviceDiscovery: options.serviceDiscovery }),
    onError: (error) => reporter.warning(`a metrics scrape failed: ${error}`),
  });
}
