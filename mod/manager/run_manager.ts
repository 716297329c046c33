/**
 * The manager role: hosts the central forwarder, joins the bus like any
 * node, supervises this host's other nodes, and serves the WebSocket API,
 * `/services.json` for Prometheus and the control API the verbs talk to.
 *
 * @module
 */

import type { Layout, NodeSpec } from "../../config/mod.ts";
import { ZmqContext, ZmqForwarder } from "../../ffi/mod.ts";
import { linkCurrentLogs, type OpenLogging, openLogShipping } from "../log/mod.ts";
import { ensureControlToken, openControlServer } from "../api/control/mod.ts";
import { createManagerControl } from "./control_handlers.ts";
import { forwarderEndpoints, type NodeStart, openNode } from "../runtime/mod.ts";
import { createManagerDiscovery } from "./discovery.ts";
import { aborted, announceReady } from "../process/mod.ts";
import {
  type ChildState,
  formatStatusTable,
  type LaunchSpec,
  Supervisor,
} from "../supervisor/mod.ts";

export interface ManagerOptions extends NodeStart {
  /**
   * The logging of a log writer (the logger role's), used when the layout
   * has no logger and the manager writes the files (Zeek's `manager_is_logger`).
   */
  readonly openLogWriting: OpenLogging;
  /** How to start another node of this host as a child process. */
  readonly launch: (node: NodeSpec) => LaunchSpec;
  /** Where the human-readable status table goes once the cluster is up. */
  readonly printStatus: (table: string) => void;
  /** Relays a child's output lines. */
  readonly onChildOutput: (node: string, line: string) => void;
  readonly onChildError: (node: string, line: string) => void;
  /** Stops the manager as SIGTERM would (the `weir stop` verb asks for it). */
  readonly requestStop: () => void;
}

/** Nodes this host runs itself: the other hosts' nodes are started there. */
export function localNodes(layout: Layout, hostAddresses: ReadonlySet<string>): NodeSpec[] {
  return layout.nodes.filter((n) =>
    n.type !== "manager" &&
    (hostAddresses.has(n.address) || n.address.startsWith("127.") || n.address === "::1")
  );
}

/** This host's addresses (loopback included), to decide which nodes are local. */
export function hostAddresses(): Set<string> {
  const addresses = new Set(["127.0.0.1", "::1"]);
  for (const iface of Deno.networkInterfaces()) addresses.add(iface.address);
  return addresses;
}

/** The manager serves the WebSocket API on WebSocketHost:WebSocketPort unless UseWebSocket=0. */
export function managerWebSocketPort(layout: Layout, self: NodeSpec): number | undefined {
  if (!layout.settings.useWebSocket) return undefined;
  return self.webSocketPort ?? layout.settings.webSocketPort;
}

/** Runs the manager until its shutdown signal, then stops everything in reverse order. */
export async function runManager(options: ManagerOptions): Promise<void> {
  const { layout, self, reporter } = options;
  await using stack = new AsyncDisposableStack();
  const zmq = new ZmqContext({ ioThreads: 2 });
  stack.defer(() => zmq.close());
  const endpoints = forwarderEndpoints(layout);
  const forwarder = ZmqForwarder.open(zmq, {
    xpub: endpoints.xpub,
    xsub: endpoints.xsub,
    ipv6: endpoints.ipv6,
  });
  stack.use(forwarder);
  reporter.info(
    `forwarder listening on ${forwarder.xpubEndpoint} (XPUB) and ${forwarder.xsubEndpoint} (XSUB)`,
  );

  await linkCurrentLogs(layout);
  const discovery = createManagerDiscovery(layout);
  const node = await openNode({
    ...options,
    zmq,
    openLogging: layout.managerIsLogger ? options.openLogWriting : openLogShipping,
    webSocketPort: managerWebSocketPort(layout, self),
    serviceDiscovery: discovery.targets,
  });
  stack.use(node);
  discovery.follow(node.cluster);

  const startedAt = new Date();
  const managerState = (): ChildState => ({
    name: self.name,
    type: "manager",
    host: self.host,
    status: "running",
    pid: Deno.pid,
    startedAt,
    restarts: 0,
    lastExit: undefined,
  });
  const local = localNodes(layout, hostAddresses());
  for (const n of layout.nodes) {
    if (n.type === "manager" || local.includes(n)) continue;
    reporter.info(
      `${n.name} runs on ${n.host}: start it there with weir --role ${n.type} --node ${n.name} --config DIR`,
    );
  }
  const supervisor = new Supervisor({
    nodes: local,
    launch: options.launch,
    reporter,
    stopTimeoutMs: layout.settings.stopTimeoutSec * 1000,
    restartBackoffMaxMs: layout.settings.restartBackoffMaxSec * 1000,
    onOutput: options.onChildOutput,
    onError: options.onChildError,
  });
  // zeekctl's stop order: workers and proxies, then the manager itself (its
  // last log records still reach a logger), then the loggers.
  stack.defer(async () => {
    const beforeManager = local.filter((n) => n.type !== "logger").map((n) => n.name);
    if (beforeManager.length > 0) await supervisor.stop(beforeManager);
    await node[Symbol.asyncDispose]();
    await supervisor.close();
  });
  const token = await ensureControlToken(layout.settings.controlTokenFile);
  stack.use(openControlServer({
    host: layout.control.address,
    port: layout.control.port,
    token,
    reporter,
    handlers: createManagerControl({
      node,
      supervisor,
      reporter,
      managerState,
      localNodes: (l) => localNodes(l, hostAddresses()),
      requestStop: options.requestStop,
    }),
  }));
  if (!options.shutdown.aborted) await supervisor.startAll();
  options.printStatus(formatStatusTable([managerState(), ...supervisor.states()]));
  reporter.info(
    `logs in ${layout.settings.logDir}/current` +
      (self.metricsPort === undefined
        ? ""
        : `, metrics on http://${layout.settings.metricsAddress}:${self.metricsPort}/metrics`),
  );
  announceReady(self.name, "manager", options.nodeId);
  await aborted(options.shutdown);
  reporter.info(`stopping (${options.shutdown.reason})`);
}
