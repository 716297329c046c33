/**
 * Binds the metrics app to the node's MetricsAddress and metrics port.
 *
 * @module
 */

import { createMetricsApp, type MetricsAppOptions } from "./app.ts";
import type { MetricSource } from "./sample.ts";
import { ListenError } from "../../process/mod.ts";

/** zeekctl's MetricsAddress default. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";
/** zeekctl's MetricsPort default: the manager's port; later nodes count up from it. */
export const DEFAULT_METRICS_PORT = 9991;

export interface MetricsServerOptions extends MetricsAppOptions {
  /** Defaults to `DEFAULT_METRICS_HOST`. */
  readonly host?: string;
  /** The node's layout metrics port; 0 picks a free one (tests). */
  readonly port: number;
}

/** A metrics endpoint could not be opened. */
export class MetricsListenError extends ListenError {
  override readonly name = "MetricsListenError";
}

/** A listening metrics endpoint; close it once, or let `await using` do it. */
export interface MetricsServer extends AsyncDisposable {
  /** The base URL, e.g. `http://127.0.0.1:9991/`. */
  readonly url: string;
  readonly port: number;
  addSource(source: MetricSource): () => void;
  /** Stops listening; idempotent. */
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Serves `/metrics` (and `/services.json` with a service discovery) on `host:port`. */
export function openMetricsServer(options: MetricsServerOptions): MetricsServer {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new MetricsListenError(
      `Cannot serve metrics on port ${options.port}: not a TCP port; use 1 to 65535 (or 0 for any free port)`,
    );
  }
  const app = createMetricsApp(options);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: host, port: options.port, onListen: () => {} },
      (request) => app.fetch(request),
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = error instanceof Deno.errors.AddrInUse
      ? "stop the process using it or change MetricsPort in weir.cfg"
      : error instanceof Deno.errors.AddrNotAvailable
      ? "set MetricsAddress to an address of this host"
      : "check MetricsAddress and MetricsPort in weir.cfg";
    throw new MetricsListenError(
      `Cannot serve metrics on ${hostForUrl(host)}:${options.port}: ${reason}; ${hint}`,
      { cause: error },
    );
  }
  const port = server.addr.port;
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown();
  return {
    url: `http://${hostForUrl(host)}:${port}/`,
    port,
    addSource: app.addSource,
    close,
    [Symbol.asyncDispose]: close,
  };
}
