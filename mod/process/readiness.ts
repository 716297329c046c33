/**
 * The one machine-readable line a node prints on stdout when it is ready,
 * which the supervisor and tests wait for (never a sleep).
 *
 * @module
 */

import type { NodeType } from "../../config/mod.ts";

export interface ReadyLine {
  readonly weir: "ready";
  readonly node: string;
  readonly role: NodeType;
  readonly pid: number;
  readonly id: string;
}

/** Prints the readiness line. */
export function announceReady(node: string, role: NodeType, id: string): void {
  const line: ReadyLine = { weir: "ready", node, role, pid: Deno.pid, id };
  // deno-lint-ignore no-console
  console.log(JSON.stringify(line));
}

/** Parses a line as a readiness line, or returns undefined. */
export function parseReadyLine(line: string): ReadyLine | undefined {
  if (!line.startsWith('{"weir":"ready"')) return undefined;
  try {
    const value = JSON.parse(line);
    return value?.weir === "ready" && typeof value.node === "string"
      ? value as ReadyLine
      : undefined;
  } catch {
    return undefined;
  }
}
