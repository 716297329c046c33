/**
 * What every role runner gets: the layout, this node's entry, its bus
 * connection and cluster view, a reporter, and one shutdown signal.
 *
 * @module
 */

import { openWebSocketEntry, webSocketPortOf } from "./websocket_entry.ts";
import { BUILT_IN, type Layout, loadLayout, type NodeSpec } from "../../config/mod.ts";
import { tcpEndpoint, ZmqContext } from "../../ffi/libzmq.ts";
import { Bus } from "../bus/bus.ts";
import { Cluster } from "../cluster/cluster.ts";
import { createSiteApi } from "../cluster/site_api.ts";
import { loadSiteScripts } from "../cluster/site_scripts.ts";
import type { Reporter } from "./reporter.ts";
import { CLUSTER_LOG, type ClusterLogging, openClusterLogging } from "../log/cluster_logging.ts";
import {
  busSamples,
  createServiceDiscovery,
  eventSamples,
  logReceiverSamples,
  logShipperSamples,
  logWriteSamples,
  type MetricSource,
  type MetricsServer,
  type ServiceDiscovery,
  startMetricsServer,
} from "../api/metrics/mod.ts";

export interface NodeContext extends AsyncDisposable {
  readonly layout: Layout;
  readonly self: NodeSpec;
  readonly nodeId: string;
  readonly zmq: ZmqContext;
  readonly bus: Bus;
  readonly cluster: Cluster;
  /** Log streams and where their records go (files here, or the loggers). */
  readonly logging: ClusterLogging;
  /** `/metrics` (and `/services.json` on the manager); undefined when MetricsPort is 0. */
  readonly metrics: MetricsServer | undefined;
  readonly reporter: Reporter;
  /** Aborted when the node should stop (signal, or the supervisor's pipe closed). */
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
export async function openNode(options: {
  layout: Layout;
  self: NodeSpec;
  nodeId: string;
  reporter: Reporter;
  shutdown: AbortSignal;
  zmq?: ZmqContext;
  onFatal: (error: unknown) => void;
  /** `--insecure-websocket`: allow a non-loopback WebSocket without token file or TLS. */
  insecureWebSocket?: boolean;
}): Promise<NodeContext> {
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
  const logging = stack.use(openClusterLogging({ layout, self, nodeId, zmq, reporter }));
  const clusterLog = logging.registry.defineStream(CLUSTER_LOG);
  cluster.logTo((message) =>
    logging.registry.write(clusterLog, [Date.now() / 1000, self.name, message])
  );
  const metrics = openMetrics(layout, self, bus, cluster, logging, reporter);
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
  let owned: AsyncDisposableStack | undefined;
  const context: NodeContext = {
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
    async [Symbol.asyncDispose]() {
      // Closes in reverse: WebSocket, metrics, logging (last records shipped), cluster, bus, context.
      const resources = owned;
      owned = undefined;
      await resources?.disposeAsync();
    },
  };
  const webSocketPort = webSocketPortOf(context);
  if (webSocketPort !== undefined) {
    stack.use(
      await openWebSocketEntry(
        zmq,
        context,
        endpoints,
        webSocketPort,
        options.insecureWebSocket ?? false,
      ),
    );
  }
  owned = stack.move();
  return context;
}

/**
 * Every process serves `/metrics` on its layout port; the manager adds
 * `/services.json`, kept current as nodes `weir deploy` added come and go.
 */
function openMetrics(
  layout: Layout,
  self: NodeSpec,
  bus: Bus,
  cluster: Cluster,
  logging: ClusterLogging,
  reporter: Reporter,
): MetricsServer | undefined {
  if (self.metricsPort === undefined) return undefined;
  const sources: MetricSource[] = [
    () => busSamples(bus.counters),
    () => eventSamples(cluster.events.invocations),
    () => logWriteSamples(logging.registry.counters()),
  ];
  if (logging.shipper !== undefined) {
    const shipper = logging.shipper;
    sources.push(() => logShipperSamples(shipper.counters));
  }
  if (logging.receiver !== undefined) {
    const receiver = logging.receiver;
    sources.push(() => logReceiverSamples(receiver.counters));
  }
  let discovery: ServiceDiscovery | undefined;
  if (self.type === "manager") {
    discovery = createServiceDiscovery(layout);
    const known = new Set(layout.nodes.map((n) => n.name));
    cluster.on("Cluster::node_up", async (name) => {
      if (known.has(String(name)) || layout.source === BUILT_IN) return;
      const node = (await loadLayout(layout.source).catch(() => undefined))?.nodes
        .find((n) => n.name === name);
      if (node !== undefined) discovery!.addTarget(node);
    });
    cluster.on("Cluster::node_down", (name) => {
      if (!known.has(String(name))) discovery!.removeTarget(String(name));
    });
  }
  return startMetricsServer({
    node: self.name,
    host: layout.settings.metricsAddress,
    port: self.metricsPort,
    sources,
    ...(discovery === undefined ? {} : { serviceDiscovery: discovery }),
    onError: (error) => reporter.warning(`a metrics scrape failed: ${error}`),
  });
}
