/**
 * The verbs' side of the control API: one request to the running manager,
 * or the news that none is running.
 *
 * @module
 */

import type { Layout } from "../../../config/mod.ts";
import { readControlToken } from "./token.ts";
import type { ControlVerb } from "./verb_names.ts";

/** The manager answered. */
export interface ControlReply {
  readonly ok: boolean;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Sends `verb` to the manager of `layout`; `undefined` when no manager listens. */
export async function controlRequest(
  layout: Layout,
  verb: ControlVerb,
  nodes?: readonly string[],
  timeoutMs = 120_000,
): Promise<ControlReply | undefined> {
  const token = await readControlToken(layout.settings.controlTokenFile).catch((error) => {
    // No token file usually means no manager ever ran here.
    if (/does not exist/.test(String(error))) return undefined;
    throw error;
  });
  if (token === undefined) return undefined;
  const { address, port } = layout.control;
  const host = address.includes(":") ? `[${address}]` : address;
  let response: Response;
  try {
    response = await fetch(`http://${host}:${port}/${verb}`, {
      method: nodes === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(nodes === undefined ? {} : { body: JSON.stringify({ nodes }) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if (error instanceof TypeError) return undefined; // connection refused: not running
    throw error;
  }
  const body = await response.json().catch(() => ({})) as Record<string, unknown>;
  return { ok: response.ok, status: response.status, body };
}
