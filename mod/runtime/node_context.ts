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
import { Bus, type Heartbeat, type ZapCounters, ZapHandler } from "../bus/mod.ts";
import { type BusCredentials, CredentialsError, DirectoryWatch } from "../fleet/mod.ts";
import { Cluster, createSiteApi, loadSiteScripts } from "../cluster/mod.ts";
import type { Reporter } from "../process/mod.ts";
import {
  CLUSTER_LOG,
  LOG_ZAP_DOMAIN,
  type LogCurve,
  logWriters,
  type NodeLogging,
  type OpenLogging,
} from "../log/mod.ts";
import {
  authSamples,
  busSamples,
  clusterSamples,
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
  /** This node's keys for a closed bus (`Layout.closedBus`); from `--keys DIR`. */
  readonly credentials?: BusCredentials | undefined;
  /**
   * This node runs on the manager's host and reaches the forwarder through
   * its IPC sockets (`localForwarderEndpoints`) instead of CURVE over TCP.
   */
  readonly localBus?: boolean;
}

/** What a role opens its node with, beyond `NodeStart`. */
export interface NodeOptions extends NodeStart {
  /** Where this node's log records go: written here, or shipped to the loggers. */
  readonly openLogging: OpenLogging;
  /** Serve Zeek's WebSocket API on this port (none when undefined). */
  readonly webSocketPort?: number | undefined;
  /** Serve `/services.json` from it beside `/metrics`. */
  readonly serviceDiscovery?: ServiceDiscovery | undefined;
  /** Serve other nodes' metrics at `/nodes/<name>/metrics` (the manager, for sensors). */
  readonly metricsRelay?: (node: string) => Promise<string | undefined>;
  /**
   * A ZeroMQ context to share (the manager's, which also runs the
   * forwarder); its owner runs the context's ZAP handler too.
   */
  readonly zmq?: ZmqContext;
  /** The ZAP counters of a shared context's handler, for `/metrics`. */
  readonly auth?: {
    readonly zap: ZapCounters;
    readonly handshakeFailures?: ReadonlyMap<string, number>;
    /** Messages the forwarder dropped: a sender id the sending key may not use. */
    readonly senderRefused?: () => bigint;
  };
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
 * On a closed bus the forwarder also listens on two IPC sockets in
 * `<SpoolDir>/bus` (mode 0700: only the cluster's user can connect), so the
 * control host's own nodes reach it without CURVE: the keys guard the
 * network, the file system guards this host.
 */
export function localForwarderEndpoints(
  layout: Layout,
): { dir: string; xpub: string; xsub: string } {
  const dir = `${layout.settings.spoolDir}/bus`;
  return { dir, xpub: `ipc://${dir}/xpub`, xsub: `ipc://${dir}/xsub` };
}

/** The bus's ZMTP heartbeats, from HeartbeatInterval and NodeTimeout. */
export function heartbeatOf(layout: Layout): Heartbeat {
  return {
    intervalMs: layout.settings.heartbeatIntervalSec * 1000,
    timeoutMs: layout.settings.nodeTimeoutSec * 1000,
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
  const credentials = options.credentials;
  if (layout.closedBus && credentials === undefined) {
    throw new CredentialsError(
      `Cannot start ${self.name}: this cluster's bus is closed (CURVE, the manager listens on ${layout.manager.address}) ` +
        `and ${self.name} has no keys; a sensor's nodes are started by its agent (weir join), the control host's by the manager`,
    );
  }
  const zmq = options.zmq ?? new ZmqContext();
  if (options.zmq === undefined) stack.defer(() => zmq.close());
  let auth = options.auth;
  const writesLogs = logWriters(layout).some((n) => n.name === self.name);
  if (options.zmq === undefined && credentials !== undefined && writesLogs) {
    // A log writer's PULL is a CURVE server: its senders must hold a key in force.
    const keys = new DirectoryWatch(credentials.dir);
    const zap = ZapHandler.open(zmq, (request) => {
      const node = request.domain === LOG_ZAP_DOMAIN ? keys.nodeOf(request.publicKey) : undefined;
      return node === undefined ? { refused: "unknown or revoked key" } : { userId: node };
    }, {
      onRefused: (request, reason) =>
        reporter.warning(`refused a ${request.domain} client from ${request.address}: ${reason}`),
    });
    stack.use(zap);
    auth = { zap: zap.counters };
  }
  const local = options.localBus === true && layout.closedBus;
  const endpoints = local
    ? { ...localForwarderEndpoints(layout), ipv6: false }
    : forwarderEndpoints(layout);
  // A node's XPUB connects to the central XSUB and its XSUB to the central XPUB.
  const security = {
    heartbeat: heartbeatOf(layout),
    ...(credentials === undefined || local
      ? {}
      : { curve: { keys: credentials.keys, serverKey: credentials.directory.forwarder } }),
  };
  const bus = Bus.open(zmq, {
    nodeId,
    connectXpub: endpoints.xsub,
    connectXsub: endpoints.xpub,
    ipv6: endpoints.ipv6,
    ...security,
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
  const curve: LogCurve | undefined = credentials === undefined ? undefined : {
    keys: credentials.keys,
    publicKeyOf: (node) => credentials.directory.nodes[node],
  };
  const logging = stack.use(
    options.openLogging({ layout, self, nodeId, zmq, reporter, ...(curve ? { curve } : {}) }),
  );
  logging.registry.setEvents(cluster.events);
  const clusterLog = logging.registry.defineStream(CLUSTER_LOG);
  const toClusterLog = (message: string) =>
    logging.registry.write(clusterLog, [Date.now() / 1000, self.name, message]);
  cluster.logTo(toClusterLog);
  // Dropped log records are reported where the cluster's messages go.
  logging.shipper?.delivery.reportTo(toClusterLog);
  const metrics = openMetrics(options, bus, cluster, logging, auth);
  if (metrics !== undefined) stack.use(metrics);
  const siteScripts = await loadSiteScripts(
    {
      siteDir: layout.settings.siteDir,
      policy: layout.settings.sitePolicyScripts,
      aux: self.auxScripts,
    },
    createSiteApi(cluster, logging.registry),
  );
  await cluster.start(options.shutdown);
  if (options.webSocketPort !== undefined) {
    stack.use(
      await openWebSocketEntry({
        zmq,
        endpoints,
        security,
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
  auth: NodeOptions["auth"],
): MetricsServer | undefined {
  const { layout, self, reporter } = options;
  if (self.metricsPort === undefined) return undefined;
  const sources: MetricSource[] = [
    () => busSamples(bus.counters),
    () => clusterSamples(cluster.counters),
    () => eventSamples(cluster.events.invocations),
    () => logWriteSamples(logging.registry.counters()),
  ];
  const { shipper, received } = logging;
  if (shipper !== undefined) sources.push(() => logShipperSamples(shipper.counters));
  if (received !== undefined) sources.push(() => logReceiverSamples(received));
  if (auth !== undefined) {
    sources.push(() =>
      authSamples(auth.zap, auth.handshakeFailures, Number(auth.senderRefused?.() ?? 0n))
    );
  }
  return openMetricsServer({
    node: self.name,
    host: layout.settings.metricsAddress,
    port: self.metricsPort,
    sources,
    ...(options.serviceDiscovery === undefined
      ? {}
      : { serviceDiscovery: options.serviceDiscovery }),
    ...(options.metricsRelay === undefined ? {} : { relay: options.metricsRelay }),
    onError: (error) => reporter.warning(`a metrics scrape failed: ${error}`),
  });
}
