/**
 * zeekctl's `status` table: Name, Type, Host, Status, Pid, Started.
 *
 * @module
 */

import type { ChildState } from "./supervisor.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** zeekctl's start-time format, `25 Nov 10:02:11` (local time). */
export function formatStarted(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getDate())} ${MONTHS[date.getMonth()]} ${two(date.getHours())}:${
    two(date.getMinutes())
  }:${two(date.getSeconds())}`;
}

/** Renders rows as zeekctl does, with a Restarts column when any node was restarted. */
export function formatStatusTable(rows: readonly ChildState[]): string {
  const showRestarts = rows.some((r) => r.restarts > 0);
  const header = [
    "Name",
    "Type",
    "Host",
    "Status",
    "Pid",
    "Started",
    ...(showRestarts ? ["Restarts"] : []),
  ];
  const body = rows.map((r) => [
    r.name,
    r.type,
    r.host,
    r.status,
    r.pid === undefined ? "" : String(r.pid),
    r.startedAt === undefined || r.pid === undefined ? "" : formatStarted(r.startedAt),
    ...(showRestarts ? [String(r.restarts)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 1))).join("").trimEnd();
  return [line(header), ...body.map(line)].join("\n");
}
