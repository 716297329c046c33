/**
 * The metrics HTTP app: `GET /metrics` on every node, `GET /services.json`
 * where a service discovery is given (the manager). It never listens;
 * `openMetricsServer` binds it.
 *
 * @module
 */

import { WEIR_VERSION } from "../../process/mod.ts";
import { formatSamples } from "./exposition.ts";
import { createProcessRegistry, PROCESS_METRIC_NAMES } from "./process_metrics.ts";
import type { MetricSource } from "./sample.ts";
import type { ServiceDiscovery } from "./service_discovery.ts";
import { versionSamples } from "./version_metrics.ts";

/** Prometheus's text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const METRICS_PATH = "/metrics";
export const SERVICES_PATH = "/services.json";

export interface MetricsAppOptions {
  /** The node name; every series carries it as `node="<name>"`. */
  readonly node: string;
  /** Read on every scrape, in order. More can be added with `addSource`. */
  readonly sources?: readonly MetricSource[];
  /** Serves `/services.json` (the manager); without it that path is 404. */
  readonly serviceDiscovery?: ServiceDiscovery;
  /** Defaults to this build's version. */
  readonly version?: string;
  /** Hears about scrapes that failed (a source threw); the response was a 500. */
  readonly onError?: (error: unknown) => void;
  /**
   * Serves `/nodes/<name>/metrics`: another node's exposition, fetched
   * through this one (the manager relays sensors over the agent channel);
   * undefined when `name` is not relayed.
   */
  readonly relay?: (node: string) => Promise<string | undefined>;
}

/** A request handler plus the scrape itself, for callers that want the text. */
export interface MetricsApp {
  fetch(request: Request): Promise<Response>;
  /** Reads `source` on every later scrape; the returned function stops that. */
  addSource(source: MetricSource): () => void;
  /** The `/metrics` body now. Throws what a source throws. */
  scrape(): Promise<string>;
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Builds the app; collecting process metrics starts here, listening does not. */
export function createMetricsApp(options: MetricsAppOptions): MetricsApp {
  const labels = Object.freeze({ node: options.node });
  const registry = createProcessRegistry(labels);
  const version = versionSamples(options.version ?? WEIR_VERSION);
  const sources: MetricSource[] = [() => version, ...(options.sources ?? [])];
  const discovery = options.serviceDiscovery;

  function* samples() {
    for (const source of sources) yield* source();
  }

  async function scrape(): Promise<string> {
    const own = formatSamples(samples(), { labels, reserved: PROCESS_METRIC_NAMES });
    return (await registry.metrics()) + "\n" + own;
  }

  async function fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const relayed = /^\/nodes\/([^/]+)\/metrics$/.exec(path);
    if (relayed !== null && options.relay !== undefined && request.method === "GET") {
      const body = await options.relay(decodeURIComponent(relayed[1]!)).catch((error) => {
        options.onError?.(error);
        return undefined;
      });
      return body === undefined
        ? text(503, `Cannot relay the metrics of ${relayed[1]}: its host's agent did not answer\n`)
        : new Response(body, { headers: { "content-type": METRICS_CONTENT_TYPE } });
    }
    const served = path === METRICS_PATH || (discovery !== undefined && path === SERVICES_PATH);
    if (!served) return text(404, `Not found: ${path}; metrics are at ${METRICS_PATH}\n`);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, `Method ${request.method} is not allowed on ${path}; use GET\n`, {
        allow: "GET, HEAD",
      });
    }
    if (path === SERVICES_PATH && discovery !== undefined) {
      return new Response(discovery.json(), {
        headers: { "content-type": "application/json" },
      });
    }
    try {
      return new Response(await scrape(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
    } catch (error) {
      options.onError?.(error);
      const reason = error instanceof Error ? error.message : String(error);
      return text(500, `Cannot collect metrics: ${reason}\n`);
    }
  }

  function addSource(source: MetricSource): () => void {
    sources.push(source);
    return () => {
      const at = sources.indexOf(source);
      if (at >= 0) sources.splice(at, 1);
    };
  }

  return { fetch, addSource, scrape };
}
