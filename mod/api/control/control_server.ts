/**
 * The manager's control API: JSON over HTTP on the layout's control port
 * (ZeekPort+2, loopback by default), every request carrying the token from
 * the token file. The verbs (`weir status`, `stop`, `deploy`, `cron` …)
 * are its clients.
 *
 * @module
 */

import { listenOrExplain, type Reporter } from "../../process/mod.ts";
import { CONTROL_VERBS, type ControlVerb } from "./verb_names.ts";

/** What the manager does for each verb; the server only routes and guards. */
export interface ControlHandlers {
  status(): Promise<unknown>;
  start(nodes: readonly string[]): Promise<unknown>;
  stop(nodes: readonly string[]): Promise<unknown>;
  restart(nodes: readonly string[]): Promise<unknown>;
  deploy(): Promise<unknown>;
  cron(): Promise<unknown>;
  netstats(): Promise<unknown>;
  /** zeekctl's print: the value of `id` on every node. */
  print(id: string): Promise<unknown>;
  /** Revokes the bus keys of nodes, or a host's agent and nodes. */
  revoke(names: readonly string[]): Promise<unknown>;
  /** Stops the whole cluster (manager included) after answering. */
  shutdown(): Promise<unknown>;
}

/** A handler's refusal: the verb reports `message` and exits with `status`. */
export class ControlRequestError extends Error {
  override readonly name = "ControlRequestError";
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

export interface ControlServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly handlers: ControlHandlers;
  readonly reporter?: Reporter;
}

/** A running control server. */
export interface ControlServer extends AsyncDisposable {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the control server. */
export function openControlServer(options: ControlServerOptions): ControlServer {
  const expected = `Bearer ${options.token}`;
  const server = listenOrExplain(
    "the control API",
    options.host,
    options.port,
    "ZeekPort in weir.cfg (control takes ZeekPort+2)",
    () => Deno.serve({ hostname: options.host, port: options.port, onListen: () => {} }, handle),
  );
  async function handle(request: Request): Promise<Response> {
    if (!timingSafeEqual(request.headers.get("authorization") ?? "", expected)) {
      return Response.json({ error: "missing or wrong control token" }, { status: 401 });
    }
    const path = new URL(request.url).pathname.slice(1);
    if (!(CONTROL_VERBS as readonly string[]).includes(path)) {
      return Response.json({ error: `no such verb: ${path}` }, { status: 404 });
    }
    const verb = path as ControlVerb;
    let nodes: string[] = [];
    if (request.method === "POST") {
      try {
        const body = await request.json() as { nodes?: unknown };
        if (body.nodes !== undefined) {
          if (!Array.isArray(body.nodes) || !body.nodes.every((n) => typeof n === "string")) {
            return Response.json({ error: "nodes must be a list of node names" }, { status: 400 });
          }
          nodes = body.nodes;
        }
      } catch {
        return Response.json({ error: "the request body is not JSON" }, { status: 400 });
      }
    }
    try {
      const h = options.handlers;
      const result = verb === "start"
        ? await h.start(nodes)
        : verb === "stop"
        ? await h.stop(nodes)
        : verb === "restart"
        ? await h.restart(nodes)
        : verb === "print"
        ? await h.print(nodes[0] ?? "")
        : verb === "revoke"
        ? await h.revoke(nodes)
        : await h[verb]();
      return Response.json(result ?? {});
    } catch (error) {
      if (error instanceof ControlRequestError || error instanceof RangeError) {
        const status = error instanceof ControlRequestError ? error.status : 400;
        return Response.json({ error: error.message }, { status });
      }
      options.reporter?.error(
        `control ${verb} failed: ${error instanceof Error ? error.stack : error}`,
      );
      return Response.json({ error: String(error) }, { status: 500 });
    }
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.shutdown();
  };
  return { port: server.addr.port, close, [Symbol.asyncDispose]: close };
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
