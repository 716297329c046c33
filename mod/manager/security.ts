/**
 * The manager's side of a closed bus: its key store, the ZAP handler of its
 * ZeroMQ context (one for the forwarder, the manager's own log PULL when it
 * writes the logs, and the agent channel), the handshake monitor that
 * counts refused connections, and its own node's credentials.
 *
 * @module
 */

import type { Layout } from "../../config/mod.ts";
import type { ZmqContext } from "../../ffi/mod.ts";
import { HandshakeMonitor, ZapHandler, type ZapRequest, type ZapVerdict } from "../bus/mod.ts";
import { type BusCredentials, KeyStore, keyStoreDir } from "../fleet/mod.ts";
import { LOG_ZAP_DOMAIN } from "../log/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { AGENT_ZAP_DOMAIN, ENROLLING } from "./agent_hub.ts";

/** The ZAP domain of the forwarder's sockets. */
export const BUS_ZAP_DOMAIN = "weir";

export interface ManagerSecurity extends AsyncDisposable {
  readonly store: KeyStore;
  readonly zap: ZapHandler;
  readonly monitor: HandshakeMonitor;
  /** The manager node's own keys; undefined when the bus is open (agents only). */
  readonly credentials: BusCredentials | undefined;
}

/**
 * Opens the store and binds the ZAP handler (before any CURVE socket
 * binds); undefined when the layout needs neither a closed bus nor agents.
 */
export async function openManagerSecurity(
  zmq: ZmqContext,
  layout: Layout,
  reporter: Reporter,
): Promise<ManagerSecurity | undefined> {
  if (!layout.closedBus && layout.agentChannel === undefined) return undefined;
  const store = await KeyStore.open(keyStoreDir(layout));
  if (layout.closedBus) {
    const issued = await store.issue(layout.nodes.map((n) => n.name));
    if (issued.length > 0) reporter.info(`issued bus keys to ${issued.join(", ")}`);
  }
  const authorize = (request: ZapRequest): ZapVerdict => {
    const key = request.publicKey;
    if (key === "") return { refused: "no CURVE key" };
    if (store.isRevoked(key)) return { refused: "revoked key" };
    if (request.domain === AGENT_ZAP_DOMAIN) {
      const host = store.agentHostOf(key);
      return { userId: host === undefined ? `${ENROLLING}:${key}` : `agent:${host}` };
    }
    if (request.domain === BUS_ZAP_DOMAIN || request.domain === LOG_ZAP_DOMAIN) {
      const node = store.nodeOf(key);
      return node === undefined ? { refused: "unknown key" } : { userId: node };
    }
    return { refused: `unknown ZAP domain ${request.domain}` };
  };
  const zap = ZapHandler.open(zmq, authorize, {
    onRefused: (request, reason) =>
      reporter.warning(`refused a ${request.domain} client from ${request.address}: ${reason}`),
  });
  const monitor = new HandshakeMonitor();
  const ownKeys = store.nodeKeys(layout.manager.name);
  const credentials = layout.closedBus && ownKeys !== undefined
    ? {
      node: layout.manager.name,
      keys: ownKeys,
      directory: store.directory(),
      dir: store.nodesDir,
    }
    : undefined;
  return {
    store,
    zap,
    monitor,
    credentials,
    async [Symbol.asyncDispose]() {
      await monitor.close();
      await zap.close();
    },
  };
}
