/**
 * The manager's `/services.json`: Prometheus HTTP service discovery in
 * Zeek's shape, one group of every node's metrics endpoint with empty
 * labels. Zeek builds it once from `Cluster::nodes`; weir also adds and
 * removes targets at run time, so a sensor started later is scraped
 * without restarting anything.
 *
 * @module
 */

import { isIP } from "node:net";

/** What a target needs: a node that serves metrics at `address:metricsPort`. */
export interface MetricsTarget {
  readonly name: string;
  /** An IPv4 or IPv6 literal. */
  readonly address: string;
  /** Absent or 0: the node serves no metrics and is not listed. */
  readonly metricsPort?: number;
  /**
   * Scraped through another node (the manager relays a sensor's metrics over
   * its agent channel): listed at `relay.address:relay.metricsPort` with
   * `__metrics_path__` set to `RELAY_PATH(name)`.
   */
  readonly relay?: { readonly address: string; readonly metricsPort: number };
}

/** The path under which a relaying node serves another node's metrics. */
export function relayPath(node: string): string {
  return `/nodes/${encodeURIComponent(node)}/metrics`;
}

/** One target group of Prometheus's HTTP SD format. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface ServiceDiscoveryOptions {
  /** Labels of the one target group; Zeek leaves them empty. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A target's address is not an IP literal, so Prometheus could not scrape it. */
export class MetricsTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricsTargetError";
  }
}

/** The target list behind `/services.json`. */
export interface ServiceDiscovery {
  /** Adds `node`, or moves it to its new endpoint; a node without a metrics port is removed. */
  addTarget(node: MetricsTarget): void;
  /** Removes the node named `name`; false if it was not listed. */
  removeTarget(name: string): boolean;
  /** The nodes listed now, by name, as `host:port` (relayed ones `host:port/nodes/<name>/metrics`). */
  targets(): ReadonlyMap<string, string>;
  /** The response body: a JSON array of target groups. */
  json(): string;
}

/** `host:port` with IPv6 in brackets, as Zeek writes it. */
export function formatTarget(address: string, port: number): string {
  const family = isIP(address.replace(/%.*$/, ""));
  if (family === 0) {
    throw new MetricsTargetError(
      `Cannot list metrics target "${address}": it is not an IP address; pass the node's resolved address`,
    );
  }
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Starts from every layout node with a metrics port, in layout order; a `Layout` fits as it is. */
export function createServiceDiscovery(
  layout: { readonly nodes: readonly MetricsTarget[] },
  options: ServiceDiscoveryOptions = {},
): ServiceDiscovery {
  const labels = Object.freeze({ ...options.labels });
  const targets = new Map<string, string>();
  let body: string | undefined;

  const discovery: ServiceDiscovery = {
    addTarget(node) {
      if (node.metricsPort === undefined || node.metricsPort === 0) {
        discovery.removeTarget(node.name);
        return;
      }
      const target = node.relay === undefined
        ? formatTarget(node.address, node.metricsPort)
        : `${formatTarget(node.relay.address, node.relay.metricsPort)}${relayPath(node.name)}`;
      if (targets.get(node.name) === target) return;
      targets.set(node.name, target);
      body = undefined;
    },
    removeTarget(name) {
      const removed = targets.delete(name);
      if (removed) body = undefined;
      return removed;
    },
    targets: () => new Map(targets),
    json() {
      if (body === undefined) {
        // Zeek's one group of direct targets; a group per relayed one, whose path differs.
        const direct = [...targets.values()].filter((t) => !t.includes("/"));
        const groups: TargetGroup[] = [{ targets: direct, labels }];
        for (const t of targets.values()) {
          const slash = t.indexOf("/");
          if (slash < 0) continue;
          groups.push({
            targets: [t.slice(0, slash)],
            labels: { ...labels, __metrics_path__: t.slice(slash) },
          });
        }
        body = JSON.stringify(groups);
      }
      return body;
    },
  };
  for (const node of layout.nodes) discovery.addTarget(node);
  return discovery;
}
