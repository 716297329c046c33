/**
 * What `weir check` tries on this host besides the configuration's syntax,
 * so that what check approves also starts (issue 17): the directories the
 * nodes write (LogDir, SpoolDir) can be created and written, the capture
 * interfaces of this host's workers exist, and the WebSocket API passes the
 * manager's exposure rule. Nothing is left behind by the tries.
 *
 * @module
 */

import type { Layout } from "../../config/mod.ts";
import { isLoopbackHost } from "../api/websocket/mod.ts";
import { hostAddresses, localNodes } from "./run_manager.ts";
import { directoryProblem } from "./directories.ts";

/** One line per problem (empty when this host can run its part of the layout). */
export async function checkHost(layout: Layout): Promise<string[]> {
  const problems: string[] = [];
  const s = layout.settings;
  const addresses = hostAddresses();
  const managerHere = addresses.has(layout.manager.address) ||
    layout.manager.address === "127.0.0.1" || layout.manager.address === "::1";
  const nodesHere = localNodes(layout, addresses);
  if (managerHere || nodesHere.length > 0) {
    for (const [key, dir] of [["LogDir", s.logDir], ["SpoolDir", s.spoolDir]] as const) {
      const problem = await directoryProblem(dir);
      if (problem !== undefined) problems.push(`${key} = ${dir}: ${problem}`);
    }
  }
  const known = interfaceNames();
  for (const node of nodesHere) {
    const device = node.capture?.device;
    if (device === undefined || known === undefined || known.has(device)) continue;
    problems.push(
      `${node.name}: interface ${device} does not exist on this host (it has ${
        [...known].sort().join(", ")
      }); fix interface= in node.cfg`,
    );
  }
  if (
    managerHere && s.useWebSocket && !isLoopbackHost(s.webSocketHost) &&
    s.webSocketTokenFile === "" && s.webSocketTlsCert === ""
  ) {
    problems.push(
      `WebSocketHost = ${s.webSocketHost} serves the WebSocket API beyond this host without ` +
        `WebSocketTokenFile or TLS: the manager refuses to start so; set one, or WebSocketHost = 127.0.0.1`,
    );
  }
  return problems;
}

/** This host's network interfaces by name (from /sys/class/net), or undefined when unknown. */
function interfaceNames(): Set<string> | undefined {
  try {
    return new Set([...Deno.readDirSync("/sys/class/net")].map((e) => e.name));
  } catch {
    return undefined;
  }
}
