/**
 * Prometheus HTTP service discovery as the manager serves it: every node of
 * the layout, kept current as nodes `weir deploy` added come and go. A node
 * on a host with an agent is listed at the manager's own metrics endpoint
 * with `__metrics_path__=/nodes/<name>/metrics`: the manager relays its
 * scrape over the agent channel, so sensors keep MetricsAddress on loopback
 * and nothing of theirs is open to the network.
 *
 * @module
 */

import { BUILT_IN, type Layout, loadLayout } from "../../config/mod.ts";
import {
  createServiceDiscovery,
  type MetricsTarget,
  type ServiceDiscovery,
} from "../api/metrics/mod.ts";
import type { Cluster } from "../cluster/mod.ts";

/** The manager's `/services.json` targets and how they follow the cluster. */
export interface ManagerDiscovery {
  readonly targets: ServiceDiscovery;
  /** Adds nodes that join after start (deploy) and removes them when they leave. */
  follow(cluster: Cluster): void;
  /** Lists exactly the nodes of `layout` (deploy put it in force). */
  replace(layout: Layout): void;
}

/**
 * The targets of the layout as started; `relayed(layout, name)` says which
 * nodes are scraped through the manager, `local` which run on its host.
 */
export function createManagerDiscovery(
  layout: Layout,
  relayed: (layout: Layout, node: string) => boolean,
  local: (layout: Layout, node: string) => boolean,
): ManagerDiscovery {
  const withRelay = (l: Layout): MetricsTarget[] => {
    const m = l.manager;
    const address = l.settings.metricsAddress === "0.0.0.0" ? m.address : l.settings.metricsAddress;
    const unspecified = l.settings.metricsAddress === "0.0.0.0" ||
      l.settings.metricsAddress === "::";
    return l.nodes.map((n) =>
      relayed(l, n.name) && m.metricsPort !== undefined
        ? { ...n, relay: { address, metricsPort: m.metricsPort } }
        // This host's nodes listen on MetricsAddress; the node's own address only with 0.0.0.0.
        : unspecified || !local(l, n.name)
        ? n
        : { ...n, address: l.settings.metricsAddress }
    );
  };
  const targets = createServiceDiscovery({ nodes: withRelay(layout) });
  let known = new Set(layout.nodes.map((n) => n.name));
  return {
    replace(fresh) {
      known = new Set(fresh.nodes.map((n) => n.name));
      for (const name of [...targets.targets().keys()]) {
        if (!known.has(name)) targets.removeTarget(name);
      }
      for (const node of withRelay(fresh)) targets.addTarget(node);
    },
    targets,
    follow(cluster) {
      cluster.on("Cluster::node_up", async (name) => {
        if (known.has(String(name)) || layout.source === BUILT_IN) return;
        const fresh = await loadLayout(layout.source).catch(() => undefined);
        const node = fresh === undefined
          ? undefined
          : withRelay(fresh).find((n) => n.name === name);
        if (node !== undefined) targets.addTarget(node);
      });
      cluster.on("Cluster::node_down", (name) => {
        if (!known.has(String(name))) targets.removeTarget(String(name));
      });
    },
  };
}
