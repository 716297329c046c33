/**
 * `weir check`'s port probe: every port the nodes of this host would listen
 * on (the forwarder, control, the agent channel, the WebSocket API, the
 * loggers' log ports, every metrics port) is bound for a moment; one that is
 * taken, or on an address this host does not have, is reported with the
 * setting that moves it. A second cluster on one host is caught here, not
 * by a node failing at start.
 *
 * @module
 */

import { isLoopback, type Layout } from "../../config/mod.ts";
import { hostAddresses, localNodes, managerWebSocketPort } from "./run_manager.ts";

/** One listener a node of this host opens. */
export interface Listener {
  readonly address: string;
  readonly port: number;
  /** What listens, and the setting that moves it. */
  readonly what: string;
}

/** The listeners this host opens for `layout` (all of them when the manager runs here). */
export function listenersOf(layout: Layout, addresses: ReadonlySet<string>): Listener[] {
  const { settings, manager } = layout;
  const listeners: Listener[] = [];
  const managerHere = addresses.has(manager.address) || isLoopback(manager.address);
  const metrics = (node: { name: string; metricsPort?: number }) => {
    if (node.metricsPort !== undefined) {
      listeners.push({
        address: settings.metricsAddress,
        port: node.metricsPort,
        what: `the metrics of ${node.name} (MetricsPort)`,
      });
    }
  };
  if (managerHere) {
    const { address, xpubPort, xsubPort } = layout.forwarder;
    listeners.push({ address, port: xpubPort, what: "the forwarder's XPUB (ZeekPort)" });
    listeners.push({ address, port: xsubPort, what: "the forwarder's XSUB (ZeekPort+1)" });
    listeners.push({ ...layout.control, what: "the control API (ZeekPort+2)" });
    if (layout.agentChannel !== undefined) {
      listeners.push({ ...layout.agentChannel, what: "the agent channel (ZeekPort+2)" });
    }
    const webSocketPort = managerWebSocketPort(layout, manager);
    if (webSocketPort !== undefined) {
      listeners.push({
        address: settings.webSocketHost,
        port: webSocketPort,
        what: "the WebSocket API (WebSocketPort)",
      });
    }
    metrics(manager);
  }
  for (const node of localNodes(layout, addresses)) {
    if (node.type === "logger") {
      listeners.push({
        address: node.address,
        port: node.port,
        what: `the log port of ${node.name} (ZeekPort)`,
      });
    }
    metrics(node);
  }
  if (managerHere && layout.managerIsLogger) {
    listeners.push({
      address: manager.address,
      port: manager.port,
      what: "the manager's log port (ZeekPort)",
    });
  }
  // The log writers' acknowledgement ports (weir's acknowledged log path).
  const here = new Set(localNodes(layout, addresses).map((n) => n.name));
  if (managerHere) here.add(manager.name);
  if (layout.settings.logTransport === "zeromq") {
    for (const node of layout.nodes) {
      if (node.ackPort === undefined || !here.has(node.name)) continue;
      if (node.type === "manager" && !layout.managerIsLogger) continue;
      listeners.push({
        address: node.address,
        port: node.ackPort,
        what: `the log acknowledgement port of ${node.name} (ZeekPort)`,
      });
    }
  }
  return listeners;
}

/** Binds each listener of this host for a moment; returns one line per problem. */
export function probePorts(layout: Layout): { checked: number; problems: string[] } {
  const listeners = listenersOf(layout, hostAddresses());
  const problems: string[] = [];
  for (const l of listeners) {
    const where = l.address.includes(":") ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
    try {
      Deno.listen({ hostname: l.address, port: l.port }).close();
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) {
        problems.push(
          `port ${where} for ${l.what} is taken by another program (another weir cluster?)`,
        );
      } else if (error instanceof Deno.errors.AddrNotAvailable) {
        problems.push(`${where} for ${l.what}: this host has no address ${l.address}`);
      } else {
        problems.push(`${where} for ${l.what}: ${error instanceof Error ? error.message : error}`);
      }
    }
  }
  return { checked: listeners.length, problems };
}
