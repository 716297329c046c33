/**
 * The manager role: hosts the central forwarder, joins the bus like any
 * node, supervises this host's other nodes, and serves the WebSocket API,
 * `/services.json` for Prometheus and the control API the verbs talk to.
 *
 * @module
 */

import {
  ConfigError,
  type ConfigProblem,
  isLoopback,
  type Layout,
  type NodeSpec,
} from "../../config/mod.ts";
import { directoryProblem } from "./directories.ts";
import { ZmqCheckedForwarder, ZmqContext, ZmqForwarder, type ZmqSocket } from "../../ffi/mod.ts";
import { setHeartbeat } from "../bus/mod.ts";
import { AgentHub } from "./agent_hub.ts";
import { buildBundle } from "./config_bundle.ts";
import { Fleet, NO_HELLO_RESTART_MS } from "./fleet.ts";
import { BUS_ZAP_DOMAIN, openManagerSecurity } from "./security.ts";
import { linkCurrentLogs, type OpenLogging, openLogShipping, writesLogFiles } from "../log/mod.ts";
import { ensureControlToken, openControlServer } from "../api/control/mod.ts";
import { createManagerControl } from "./control_handlers.ts";
import {
  forwarderEndpoints,
  heartbeatOf,
  localForwarderEndpoints,
  type NodeStart,
  openNode,
} from "../runtime/mod.ts";
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
  /** How to start another node of this host as a child process, with `extraArgs` (its keys). */
  readonly launch: (node: NodeSpec, extraArgs: readonly string[]) => LaunchSpec;
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
    (hostAddresses.has(n.address) || isLoopback(n.address))
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
  const { self, reporter } = options;
  let layout = options.layout;
  // What `weir check` tries, before anything is opened: one line, not a stack trace.
  const unusable: ConfigProblem[] = [];
  for (
    const [key, dir] of [["LogDir", layout.settings.logDir], ["SpoolDir", layout.settings.spoolDir]]
  ) {
    const problem = await directoryProblem(dir!);
    if (problem !== undefined) {
      unusable.push({ file: "weir.cfg", message: `${key} = ${dir}: ${problem}` });
    }
  }
  if (unusable.length > 0) throw new ConfigError(unusable);
  await using stack = new AsyncDisposableStack();
  const zmq = new ZmqContext({ ioThreads: 2 });
  stack.defer(() => zmq.close());
  // The ZAP handler binds before any CURVE socket, or libzmq would let every client in.
  const security = await openManagerSecurity(zmq, layout, reporter);
  if (security !== undefined) stack.use(security);
  const heartbeat = heartbeatOf(layout);
  const endpoints = forwarderEndpoints(layout);
  const localBus = localForwarderEndpoints(layout);
  if (layout.closedBus) {
    await Deno.mkdir(localBus.dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(localBus.dir, 0o700);
  }
  const forwarderOptions = {
    xpub: endpoints.xpub,
    xsub: endpoints.xsub,
    ipv6: endpoints.ipv6,
    configure: (socket: ZmqSocket, side: "xpub" | "xsub") => {
      setHeartbeat(socket, heartbeat);
      if (security !== undefined && layout.closedBus) {
        // This host's nodes come in through IPC, bound before CURVE is set:
        // libzmq takes a listener's options when it binds.
        socket.bind(localBus[side]);
        socket.setCurveServer(security.store.forwarder.secretKey, BUS_ZAP_DOMAIN);
        security.monitor.watch(zmq, socket, `forwarder_${side}`);
      }
    },
  };
  // On a closed bus every message's sender id must belong to the key that
  // sent it (Zeek's ids are zeromq_<node>_…), so no node speaks for another.
  const checked = layout.closedBus
    ? ZmqCheckedForwarder.open(zmq, {
      ...forwarderOptions,
      rule: {
        prefix: "zeromq_",
        suffix: "_",
        trusted: [self.name],
        names: layout.nodes.map((n) => n.name),
      },
    })
    : undefined;
  const forwarder = checked ?? ZmqForwarder.open(zmq, forwarderOptions);
  stack.use(forwarder);
  reporter.info(
    `forwarder listening on ${forwarder.xpubEndpoint} (XPUB) and ${forwarder.xsubEndpoint} (XSUB)` +
      (layout.closedBus ? ", CURVE with a key per node, each checked against its sender ids" : ""),
  );

  await linkCurrentLogs(layout);
  // This host's addresses, read once: which nodes are local follows from them.
  const addresses = hostAddresses();
  const localTo = (l: Layout) => localNodes(l, addresses);
  const isLocal = (l: Layout, name: string) => localTo(l).some((n) => n.name === name);
  const remote = (l: Layout, name: string) =>
    l.agentChannel !== undefined && l.manager.name !== name && !isLocal(l, name);
  const discovery = createManagerDiscovery(
    layout,
    remote,
    (l, name) => name === l.manager.name || isLocal(l, name),
  );
  // Set once the node is open (the agent channel needs its cluster); the
  // metrics relay below reads it at scrape time.
  // deno-lint-ignore prefer-const
  let hub: AgentHub | undefined;
  const node = await openNode({
    ...options,
    zmq,
    credentials: security?.credentials,
    localBus: true,
    ...(security === undefined ? {} : {
      auth: {
        zap: security.zap.counters,
        handshakeFailures: security.monitor.failures,
        ...(checked === undefined ? {} : { senderRefused: () => checked.counters.refused }),
      },
    }),
    openLogging: writesLogFiles(layout, layout.manager) ? options.openLogWriting : openLogShipping,
    webSocketPort: managerWebSocketPort(layout, self),
    serviceDiscovery: discovery.targets,
    metricsRelay: async (name) => {
      const node = layout.nodes.find((n) => n.name === name);
      if (node === undefined || hub === undefined || !remote(layout, name)) return undefined;
      const reply = await hub.command(node.host, "scrape", [name], 5000);
      return reply.ok && typeof reply.result === "string" ? reply.result : undefined;
    },
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
  const local = localTo(layout);
  const keysArgs = security !== undefined && layout.closedBus
    ? ["--keys", security.store.nodesDir, "--local-bus"]
    : [];
  const supervisor = new Supervisor({
    nodes: local,
    launch: (n) => options.launch(n, keysArgs),
    reporter,
    stopTimeoutMs: layout.settings.stopTimeoutSec * 1000,
    restartBackoffMaxMs: layout.settings.restartBackoffMaxSec * 1000,
    onOutput: options.onChildOutput,
    onError: options.onChildError,
  });
  let running = !options.shutdown.aborted;
  const agentChannel = layout.agentChannel;
  hub = security !== undefined && agentChannel !== undefined
    ? new AgentHub({
      zmq,
      address: agentChannel.address,
      port: agentChannel.port,
      store: security.store,
      heartbeat,
      bundleFor: (host) => buildBundle(layout, host, security.store),
      running: () => running,
      reporter,
      configure: (socket) => security.monitor.watch(zmq, socket, "agent_channel"),
    })
    : undefined;
  security?.monitor.start();
  const fleet = new Fleet({
    supervisor,
    hub,
    cluster: node.cluster,
    localNodes: localTo,
  });
  for (const [host, nodes] of fleet.remoteHosts(layout)) {
    reporter.info(
      hub === undefined
        ? `${
          nodes.map((n) => n.name).join(", ")
        } run on ${host}: start them there with weir --node NAME --config DIR`
        : `${
          nodes.map((n) => n.name).join(", ")
        } run on ${host}: its agent starts them (weir enroll ${host}, then weir join on ${host})`,
    );
  }
  // A node of this host that runs but never said hello (or went silent and
  // stayed so) is restarted, as a crashed one is.
  const helloWatch = setInterval(() => {
    if (!running) return;
    for (const silent of fleet.silentNodes(layout)) {
      if (silent.local && silent.silentMs >= NO_HELLO_RESTART_MS) {
        supervisor.recycle(
          silent.name,
          `has not been up on the bus for ${Math.round(silent.silentMs / 1000)} s (no hello)`,
        );
      }
    }
  }, 1000);
  stack.defer(() => clearInterval(helloWatch));
  // zeekctl's stop order: workers and proxies (other hosts' first), then the
  // manager itself (its last log records still reach a logger), then the loggers.
  stack.defer(async () => {
    running = false;
    await fleet.stopRemote(layout, layout.settings.stopTimeoutSec * 1000 + 5000);
    await hub?.close();
    const beforeManager = supervisor.states().filter((n) => n.type !== "logger").map((n) => n.name);
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
      localNodes: localTo,
      requestStop: options.requestStop,
      fleet,
      store: security?.store,
      onLayout: (fresh) => {
        layout = fresh;
        discovery.replace(fresh);
        checked?.setNames(fresh.nodes.map((n) => n.name));
      },
    }),
  }));
  if (!options.shutdown.aborted) await supervisor.startAll();
  options.printStatus(formatStatusTable([managerState(), ...fleet.states(layout)]));
  reporter.info(
    `logs in ${layout.settings.logDir}/current` +
      (self.metricsPort === undefined
        ? ""
        : `, metrics on http://${layout.settings.metricsAddress}:${self.metricsPort}/metrics`) +
      (hub === undefined ? "" : `, agents join at ${hub.endpoint}`),
  );
  announceReady(self.name, "manager", options.nodeId);
  await aborted(options.shutdown);
  reporter.info(`stopping (${options.shutdown.reason})`);
}
