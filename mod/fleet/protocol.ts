/**
 * The agent channel's messages: JSON, one per ZeroMQ frame, between a host
 * agent (DEALER) and the manager (ROUTER), CURVE-encrypted and checked by
 * the manager's ZAP handler (an unknown agent key may only enrol).
 *
 * ```
 * agent → manager   enroll {host, token, version}   (once, with the token from weir enroll)
 *                   status {host, version, nodes, configHash}   (every HeartbeatInterval)
 *                   reply {id, ok, result | error}
 * manager → agent   enrolled {host} | refused {reason} | seen (a status arrived)
 *                   config {hash, files, site, keys, directory, run}   (on join and on deploy)
 *                   command {id, verb, nodes}   (start, stop, restart, stop-all, scrape)
 * ```
 *
 * @module
 */

import type { NodeType } from "../../config/mod.ts";
import type { KeyDirectory } from "./credentials.ts";

/** A node's row as an agent reports it (`ChildState` with the start time as ISO text). */
export interface NodeReport {
  readonly name: string;
  readonly type: NodeType;
  readonly host: string;
  readonly status: string;
  readonly pid: number | undefined;
  readonly startedAt: string | undefined;
  readonly restarts: number;
  readonly lastExit: string | undefined;
}

/** What the manager asks of an agent; `scrape` answers with a node's `/metrics` text. */
export type AgentVerb = "start" | "stop" | "restart" | "stop-all" | "scrape";

export type AgentMessage =
  | {
    readonly t: "enroll";
    readonly host: string;
    readonly token: string;
    readonly version: string;
  }
  | {
    readonly t: "status";
    readonly host: string;
    readonly version: string;
    readonly nodes: readonly NodeReport[];
    readonly configHash: string;
  }
  | {
    readonly t: "reply";
    readonly id: number;
    readonly ok: boolean;
    readonly result?: unknown;
    readonly error?: string;
  };

/** The configuration a host runs: the manager's files, its site scripts, its nodes' keys. */
export interface ConfigBundle {
  readonly hash: string;
  /** node.cfg, weir.cfg, networks.cfg as the manager read them. */
  readonly files: Readonly<Record<string, string>>;
  /** Site scripts by path relative to SiteDir. */
  readonly site: Readonly<Record<string, string>>;
  /** The host's nodes' keypairs (closed bus only). */
  readonly keys: Readonly<Record<string, { readonly public: string; readonly secret: string }>>;
  readonly directory: KeyDirectory | undefined;
}

export type ManagerMessage =
  | { readonly t: "enrolled"; readonly host: string }
  /** The answer to a status report: the agent knows the manager hears it. */
  | { readonly t: "seen" }
  /** `revoked`: the host's agent key was revoked; the agent stops its nodes and exits. */
  | { readonly t: "refused"; readonly reason: string; readonly revoked?: boolean }
  /** `id` 0: sent on join, no answer awaited; else a deploy, answered by a reply with `id`. */
  | ({ readonly t: "config"; readonly id: number; readonly run: boolean } & ConfigBundle)
  | {
    readonly t: "command";
    readonly id: number;
    readonly verb: AgentVerb;
    readonly nodes: readonly string[];
  };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMessage(message: AgentMessage | ManagerMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** Decodes a frame from an agent; undefined when it is not a message this protocol knows. */
export function decodeAgentMessage(frame: Uint8Array): AgentMessage | undefined {
  const m = parse(frame);
  switch (m?.t) {
    case "enroll":
      return isText(m.host) && isText(m.token) && isText(m.version) ? m as AgentMessage : undefined;
    case "status":
      return isText(m.host) && isText(m.version) && typeof m.configHash === "string" &&
          Array.isArray(m.nodes) && m.nodes.every(isReport)
        ? m as AgentMessage
        : undefined;
    case "reply":
      return Number.isInteger(m.id) && typeof m.ok === "boolean" ? m as AgentMessage : undefined;
  }
  return undefined;
}

/** Decodes a frame from the manager; undefined when it is not a message this protocol knows. */
export function decodeManagerMessage(frame: Uint8Array): ManagerMessage | undefined {
  const m = parse(frame);
  switch (m?.t) {
    case "enrolled":
      return isText(m.host) ? m as ManagerMessage : undefined;
    case "seen":
      return m as ManagerMessage;
    case "refused":
      return typeof m.reason === "string" ? m as ManagerMessage : undefined;
    case "config":
      return isText(m.hash) && Number.isInteger(m.id) && typeof m.run === "boolean" &&
          isTextMap(m.files) &&
          isTextMap(m.site) && typeof m.keys === "object" && m.keys !== null
        ? m as ManagerMessage
        : undefined;
    case "command":
      return Number.isInteger(m.id) && ["start", "stop", "restart", "stop-all", "scrape"].includes(
          m.verb as string,
        ) &&
          Array.isArray(m.nodes) && m.nodes.every(isText)
        ? m as ManagerMessage
        : undefined;
  }
  return undefined;
}

function parse(frame: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(decoder.decode(frame));
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function isText(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= 4096;
}

function isTextMap(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null &&
    Object.values(v).every((x) => typeof x === "string");
}

function isReport(v: unknown): v is NodeReport {
  const r = v as Record<string, unknown>;
  return typeof v === "object" && v !== null && isText(r.name) && isText(r.type) &&
    typeof r.status === "string" && typeof r.restarts === "number" &&
    (r.pid === undefined || Number.isInteger(r.pid)) &&
    (r.startedAt === undefined ||
      (typeof r.startedAt === "string" && !Number.isNaN(Date.parse(r.startedAt))));
}
