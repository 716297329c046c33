/**
 * What the manager does for each control verb: zeekctl's status, start,
 * stop, restart, deploy (apply a changed node.cfg, restarting only what
 * changed, on every host), cron (restart crashed nodes, report unreachable
 * hosts, expire archives, watch disk space, append a stats line), netstats
 * and print (ask the nodes over the bus), and revoke (withdraw bus keys).
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
import type { KeyStore } from "../fleet/mod.ts";
import type { Fleet } from "./fleet.ts";

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
  /** Every host's nodes: this host's supervisor and the other hosts' agents. */
  readonly fleet: Fleet;
  /** The key store of a closed bus or an agent channel. */
  readonly store: KeyStore | undefined;
  /** Told of the layout deploy put in force (discovery, the agents' bundles). */
  readonly onLayout: (layout: Layout) => void;
}

/** Builds the handlers; they act on the layout in force, which deploy replaces. */
export function createManagerControl(options: ManagerControlOptions): ControlHandlers {
  const { node, supervisor, reporter } = options;
  let layout = node.layout;
  const { fleet } = options;
  let cronRunning: Promise<unknown> | undefined;
  const netstats = new ReplyCollector();
  const idValues = new ReplyCollector();
  node.cluster.on("Control::id_value_response", (_id, val) => idValues.add(String(val)));
  node.cluster.on("Control::net_stats_response", (s) => netstats.add(String(s)));

  const allStates = () => [options.managerState(), ...fleet.states(layout)];
  const statusOf = () => ({
    source: layout.source,
    nodes: allStates().map((s) => ({ ...s, startedAt: s.startedAt?.toISOString() })),
    hosts: fleet.hosts(layout),
  });
  const applied = async (verb: "start" | "stop" | "restart", nodes: readonly string[]) => {
    const problems = await fleet.apply(layout, verb, nodes);
    return { problems, ...statusOf() };
  };

  const handlers: ControlHandlers = {
    status: () => Promise.resolve(statusOf()),
    start: (nodes) => applied("start", nodes),
    stop: (nodes) => applied("stop", nodes),
    restart: (nodes) => applied("restart", nodes),
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
      options.onLayout(fresh);
      if (options.store !== undefined && fresh.closedBus) {
        await options.store.issue(fresh.nodes.map((n) => n.name));
      }
      const problems: string[] = [];
      for (const { host, reply } of await fleet.deploy(fresh)) {
        if (!reply.ok) {
          problems.push(`${host}: ${reply.error}`);
          continue;
        }
        const r = reply.result as { added?: string[]; removed?: string[]; restarted?: string[] };
        added.push(...r.added ?? []);
        removed.push(...r.removed ?? []);
        changed.push(...r.restarted ?? []);
      }
      const summary = {
        added,
        removed,
        restarted: changed,
        managerChanged,
        problems,
        ...statusOf(),
      };
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
      const { up, offBus } = askable((p) => p.type === "worker");
      const replies = await netstats.collect(up, () => {
        node.cluster.publish(nodeTypeTopic("worker"), "Control::net_stats_request");
      });
      const silent = [...unanswered(up, replies), ...offBus.map(notOnBus)];
      return { workers: up.length + offBus.length, replies: replies.sort(), silent };
    },
    async print(id) {
      if (id === "") {
        throw new ControlRequestError("print needs an id, e.g. weir print Site::local_nets");
      }
      const { up, offBus } = askable(() => true);
      const replies = await idValues.collect(up, () => {
        for (const type of ["logger", "proxy", "worker"] as const) {
          node.cluster.publish(nodeTypeTopic(type), "Control::id_value_request", id);
        }
      });
      const silent = [...unanswered(up, replies), ...offBus.map(notOnBus)];
      return {
        nodes: up.length + offBus.length + 1,
        replies: [node.cluster.idValue(id), ...replies.sort()],
        silent,
      };
    },
    async revoke(names) {
      const store = options.store;
      if (store === undefined) {
        throw new ControlRequestError(
          "this cluster has no keys to revoke: its bus is open (the manager listens on loopback, or BusEncryption=off)",
        );
      }
      if (names.length === 0) throw new ControlRequestError("revoke needs node or host names");
      const hosts = fleet.remoteHosts(layout);
      const revoked: string[] = [];
      for (const name of names) {
        const hostNodes = hosts.get(name);
        if (hostNodes !== undefined) {
          revoked.push(
            ...await store.revoke(hostNodes.map((n) => n.name), name),
            `agent of ${name}`,
          );
        } else if (layout.nodes.some((n) => n.name === name)) {
          revoked.push(...await store.revoke([name]));
        } else {
          throw new ControlRequestError(
            `revoke: ${name} is neither a node nor a host of ${layout.source}`,
          );
        }
      }
      reporter.warning(`revoked the keys of ${revoked.join(", ")}`);
      // Hosts still trusted get their nodes' new keys and restart those nodes.
      await fleet.deploy(layout);
      const loggers = layout.nodes.filter((n) => n.type === "logger" && names.includes(n.name));
      if (loggers.length > 0) {
        // A logger's key is its log port's server key, read by every shipper
        // when it starts: every node restarts to learn the new one.
        reporter.warning(
          `revoke: ${loggers.map((n) => n.name).join(", ")} got new keys; restarting every node`,
        );
        await fleet.apply(layout, "restart", []);
      } else {
        await supervisor.restart(
          names.filter((n) => supervisor.states().some((s) => s.name === n)),
        );
      }
      return { revoked, ...statusOf() };
    },
    shutdown() {
      setTimeout(() => options.requestStop(), 10);
      return Promise.resolve({ stopping: true });
    },
  };

  /**
   * The nodes a bus question goes to (`up`), and those whose process runs
   * but that are not up on the bus (`offBus`): they cannot be asked, and
   * are named as silent rather than left out.
   */
  function askable(wanted: (row: ChildState) => boolean) {
    const up = new Set(node.cluster.peers().filter((p) => p.id !== undefined).map((p) => p.name));
    const rows = fleet.states(layout).filter(wanted);
    return {
      up: rows.filter((r) => up.has(r.name)).map((r) => r.name),
      offBus: rows.filter((r) =>
        !up.has(r.name) && (r.status === "running" || r.status === "no-hello")
      ).map((r) => r.name),
    };
  }

  async function runCron(): Promise<unknown> {
    const settings = layout.settings;
    const lines: string[] = [];
    const crashed = supervisor.crashed();
    if (crashed.length > 0) {
      await supervisor.start(crashed);
      lines.push(`started crashed nodes: ${crashed.join(", ")}`);
    }
    // Nodes that run but are not up on the bus restart too, on every host.
    const silent = fleet.silentNodes(layout);
    if (silent.length > 0) {
      for (const node of silent.filter((n) => n.local)) {
        supervisor.recycle(node.name, "is not up on the bus (no hello), found by weir cron");
      }
      const remote = silent.filter((n) => !n.local).map((n) => n.name);
      if (remote.length > 0) {
        const problems = await fleet.apply(layout, "restart", remote);
        lines.push(...problems.map((p) => `cannot restart: ${p}`));
      }
      lines.push(`restarted nodes without a hello: ${silent.map((n) => n.name).join(", ")}`);
    }
    // Other hosts' agents restart their own crashed nodes; cron says what is amiss there.
    for (const host of fleet.hosts(layout)) {
      if (host.agent === "unreachable") lines.push(`host ${host.host}: its agent does not answer`);
      if (host.agent === "none") lines.push(`host ${host.host}: no agent has joined (weir join)`);
    }
    const remoteDown = fleet.states(layout).filter((s) =>
      s.status === "crashed" && !supervisor.states().some((l) => l.name === s.name)
    );
    if (remoteDown.length > 0) {
      lines.push(
        `crashed on other hosts (their agents restart them): ${
          remoteDown.map((s) => `${s.name} on ${s.host}`).join(", ")
        }`,
      );
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
    await appendStats(settings.logDir, allStates(), now);
    return { messages: lines, ...statusOf() };
  }

  return handlers;
}

/**
 * Answers to a question asked of several nodes over the bus (netstats,
 * print). Zeek's Control events carry no request id, so a reply counts only
 * while a question is out, only from a node asked, and once per node: a
 * reply that comes after its question's time is over is dropped, not shown
 * as an answer to the next question.
 */
class ReplyCollector {
  #open: { expected: Set<string>; replies: Map<string, string> } | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  add(reply: string): void {
    const open = this.#open;
    if (open === undefined) return;
    const node = reply.slice(0, reply.indexOf(":"));
    if (!open.expected.has(node) || open.replies.has(node)) return;
    open.replies.set(node, reply);
  }

  /** Asks, then waits until every node of `expected` answered or the time is up. */
  collect(expected: readonly string[], ask: () => void): Promise<string[]> {
    const run = async () => {
      const open = { expected: new Set(expected), replies: new Map<string, string>() };
      this.#open = open;
      ask();
      const deadline = Date.now() + REPLY_TIMEOUT_MS;
      while (open.replies.size < open.expected.size && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      this.#open = undefined;
      return [...open.replies.values()];
    };
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => {});
    return result;
  }
}

/** The asked nodes of `asked` without a reply (replies start with `<node>:`). */
function unanswered(asked: readonly string[], replies: readonly string[]): string[] {
  return asked.filter((n) => !replies.some((r) => r.startsWith(`${n}:`)));
}

function notOnBus(name: string): string {
  return `${name} (not up on the bus)`;
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
