/**
 * Prometheus HTTP service discovery as the manager serves it: every node of
 * the layout, kept current as nodes `weir deploy` added come and go.
 *
 * @module
 */

import { BUILT_IN, type Layout, loadLayout } from "../../config/mod.ts";
import { createServiceDiscovery, type ServiceDiscovery } from "../api/metrics/mod.ts";
import type { Cluster } from "../cluster/mod.ts";

/** The manager's `/services.json` targets and how they follow the cluster. */
export interface ManagerDiscovery {
  readonly targets: ServiceDiscovery;
  /** Adds nodes that join after start (deploy) and removes them when they leave. */
  follow(cluster: Cluster): void;
}

/** The targets of the layout as started. */
export function createManagerDiscovery(layout: Layout): ManagerDiscovery {
  const targets = createServiceDiscovery(layout);
  const known = new Set(layout.nodes.map((n) => n.name));
  return {
    targets,
    follow(cluster) {
      cluster.on("Cluster::node_up", async (name) => {
        if (known.has(String(name)) || layout.source === BUILT_IN) return;
        const node = (await loadLayout(layout.source).catch(() => undefined))?.nodes
          .find((n) => n.name === name);
        if (node !== undefined) targets.addTarget(node);
      });
      cluster.on("Cluster::node_down", (name) => {
        if (!known.has(String(name))) targets.removeTarget(String(name));
      });
    },
  };
}
