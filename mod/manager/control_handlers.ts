/**
 * What the manager does for each control verb: zeekctl's status, start,
 * stop, restart, deploy (apply a changed node.cfg, restarting only what
 * changed), cron (restart crashed nodes, expire archives, watch disk space,
 * append a stats line) and netstats (ask every worker over the bus).
 *
 * @module
 */

import { BUILT_IN, ConfigError, type Layout, loadLayout, type NodeSpec } from "../../config/mod.ts";
import { type ControlHandlers, ControlRequestError } from "../api/control/mod.ts";
import { nodeTypeTopic } from "../bus/mod.ts";
import type { Reporter } from "../process/mod.ts";
import { expireArchives } from "../log/mod.ts";
import type { NodeContext } from "../runtime/mod.ts";
import { type ChildState, residentKiB, type Supervisor } from "../supervisor/mod.ts";

/** How long netstats and print wait for the nodes' answers. */
const REPLY_TIMEOUT_MS = 3000;

export interface ManagerControlOptions {
  readonly node: NodeContext;
  readonly supervisor: Supervisor;
  readonly reporter: Reporter;
  /** The manager's own row of the status table. */
  readonly managerState: () => ChildState;
  /** Nodes of `layout` this host runs (the manager excluded). */
  readonly localNodes: (layout: Layout) => NodeSpec[];
  /** Stops the whole cluster, as SIGTERM to the manager does. */
  readonly requestStop: () => void;
}

/** Builds the handlers; they act on the layout in force, which deploy replaces. */
export function createManagerControl(options: ManagerControlOptions): ControlHandlers {
  const { node, supervisor, reporter } = options;
  let layout = node.layout;
  let cronRunning: Promise<unknown> | undefined;
  const netstatsReplies: string[] = [];
  const idReplies: string[] = [];
  node.cluster.on("Control::id_value_response", (_id, val) => {
    idReplies.push(String(val));
  });
  node.cluster.on("Control::net_stats_response", (s) => {
    netstatsReplies.push(String(s));
  });

  const statusOf = () => ({
    source: layout.source,
    nodes: [options.managerState(), ...supervisor.states()].map((s) => ({
      ...s,
      startedAt: s.startedAt?.toISOString(),
    })),
  });

  const handlers: ControlHandlers = {
    status: () => Promise.resolve(statusOf()),
    async start(nodes) {
      await supervisor.start(nodes);
      return statusOf();
    },
    async stop(nodes) {
      await supervisor.stop(nodes);
      return statusOf();
    },
    async restart(nodes) {
      await supervisor.restart(nodes);
      return statusOf();
    },
    async deploy() {
      if (layout.source === BUILT_IN) {
        throw new ControlRequestError(
          "Cannot deploy the built-in layout: start the manager with --config DIR and edit node.cfg there",
        );
      }
      let fresh: Layout;
      try {
        fresh = await loadLayout(layout.source);
      } catch (error) {
        if (error instanceof ConfigError) throw new ControlRequestError(error.message, 422);
        throw error;
      }
      const managerChanged = fingerprint(fresh.manager) !== fingerprint(layout.manager) ||
        JSON.stringify(fresh.settings) !== JSON.stringify(layout.settings);
      const before = new Map(options.localNodes(layout).map((n) => [n.name, fingerprint(n)]));
      const after = options.localNodes(fresh);
      const added = after.filter((n) => !before.has(n.name)).map((n) => n.name);
      const changed = after.filter((n) =>
        before.has(n.name) && before.get(n.name) !== fingerprint(n)
      ).map((n) => n.name);
      const removed = [...before.keys()].filter((name) => !after.some((n) => n.name === name));
      await supervisor.replaceNodes(after);
      if (changed.length > 0) await supervisor.restart(changed);
      if (added.length > 0) await supervisor.start(added);
      layout = fresh;
      const summary = { added, removed, restarted: changed, managerChanged, ...statusOf() };
      reporter.info(
        `deploy: added ${list(added)}, removed ${list(removed)}, restarted ${list(changed)}`,
      );
      if (managerChanged) {
        reporter.warning(
          "deploy: the manager's own entry or weir.cfg changed; those take effect when the manager restarts",
        );
      }
      return summary;
    },
    cron() {
      // Runs one at a time; a cron that finds one running waits for it and reports its result.
      cronRunning ??= runCron().finally(() => (cronRunning = undefined));
      return cronRunning;
    },
    async netstats() {
      const workers = node.cluster.peers().filter((p) => p.type === "worker" && p.id !== undefined);
      const replies = await collect(netstatsReplies, workers.length, () => {
        node.cluster.publish(nodeTypeTopic("worker"), "Control::net_stats_request");
      });
      return { workers: workers.length, replies: replies.sort() };
    },
    async print(id) {
      if (id === "") {
        throw new ControlRequestError("print needs an id, e.g. weir print Site::local_nets");
      }
      const peers = node.cluster.peers().filter((p) => p.id !== undefined);
      const replies = await collect(idReplies, peers.length, () => {
        for (const type of ["logger", "proxy", "worker"] as const) {
          node.cluster.publish(nodeTypeTopic(type), "Control::id_value_request", id);
        }
      });
      return { nodes: peers.length + 1, replies: [node.cluster.idValue(id), ...replies.sort()] };
    },
    shutdown() {
      setTimeout(() => options.requestStop(), 10);
      return Promise.resolve({ stopping: true });
    },
  };

  /**
   * Empties `replies`, asks, and waits until `expected` answers have come
   * into it or the time is up; returns what came.
   */
  async function collect(replies: string[], expected: number, ask: () => void) {
    replies.length = 0;
    ask();
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (replies.length < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return [...replies];
  }

  async function runCron(): Promise<unknown> {
    const settings = layout.settings;
    const lines: string[] = [];
    const crashed = supervisor.crashed();
    if (crashed.length > 0) {
      await supervisor.start(crashed);
      lines.push(`started crashed nodes: ${crashed.join(", ")}`);
    }
    const now = Date.now() / 1000;
    if (settings.logExpireIntervalSec > 0) {
      const expired = await expireArchives(settings.logDir, settings.logExpireIntervalSec, now)
        .catch((error) => {
          lines.push(`cannot expire logs: ${error instanceof Error ? error.message : error}`);
          return undefined;
        });
      if (expired !== undefined && expired.removedFiles.length > 0) {
        lines.push(`expired ${expired.removedFiles.length} archived log files`);
      }
    }
    const free = await freeDiskPercent(settings.logDir);
    if (free !== undefined && free < settings.minDiskSpacePercent) {
      const warning = `disk space low: ${free}% free on the file system of ${settings.logDir} ` +
        `(MinDiskSpace is ${settings.minDiskSpacePercent}%)`;
      reporter.warning(warning);
      lines.push(warning);
    }
    await appendStats(settings.logDir, [options.managerState(), ...supervisor.states()], now);
    return { messages: lines, ...statusOf() };
  }

  return handlers;
}

function fingerprint(n: NodeSpec): string {
  return JSON.stringify(n);
}

function list(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}

/** Free space of the file system holding `dir`, in percent, from `df -P`. */
async function freeDiskPercent(dir: string): Promise<number | undefined> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const out = await new Deno.Command("df", { args: ["-P", dir], stdout: "piped", stderr: "null" })
      .output();
    const fields = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)?.split(/\s+/);
    const used = Number(fields?.[4]?.replace("%", ""));
    return Number.isFinite(used) ? 100 - used : undefined;
  } catch {
    return undefined;
  }
}

/** zeekctl's stats.log: one line per node and cron run (time, node, status, pid, RSS). */
async function appendStats(logDir: string, states: readonly ChildState[], now: number) {
  const lines = states.map((s) => {
    const rss = s.pid === undefined ? "-" : String(residentKiB(s.pid) ?? "-");
    return [now.toFixed(6), s.name, s.status, s.pid ?? "-", rss].join(" ");
  });
  await Deno.mkdir(logDir, { recursive: true });
  await Deno.writeTextFile(`${logDir}/stats.log`, lines.join("\n") + "\n", { append: true });
}
