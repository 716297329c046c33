/**
 * Every node of the layout as the verbs see it, on whichever host it runs:
 * this host's through the supervisor, the others through their host's
 * agent. Names are routed to their host; a host whose agent stopped
 * answering shows its nodes as `unreachable`, a host no agent joined from as
 * `no-agent` (or `running` while the node is up on the bus: started by hand).
 *
 * @module
 */

import type { Layout, NodeSpec } from "../../config/mod.ts";
import { type Cluster, DEFAULT_HELLO_EXPIRATION_MS } from "../cluster/mod.ts";
import type { NodeReport } from "../fleet/mod.ts";
import type { ChildState, Supervisor } from "../supervisor/mod.ts";
import type { AgentHub, AgentReply } from "./agent_hub.ts";

/**
 * A node whose process runs but that is not up on the bus shows as
 * `no-hello` once this long passed since it started or went down: Zeek's
 * `hello_expiration`, after which a half-finished handshake is given up.
 */
export const NO_HELLO_AFTER_MS = DEFAULT_HELLO_EXPIRATION_MS;
/** The manager restarts a node of its own host that shows `no-hello` this long. */
export const NO_HELLO_RESTART_MS = 3 * DEFAULT_HELLO_EXPIRATION_MS;

/** A node that runs without being up on the bus, and for how long. */
export interface SilentNode {
  readonly name: string;
  /** Run by this host's supervisor (else by another host's agent). */
  readonly local: boolean;
  readonly silentMs: number;
}

/** A host of the fleet and what its agent says. */
export interface HostState {
  readonly host: string;
  readonly agent: "connected" | "unreachable" | "none";
  readonly version: string | undefined;
  readonly configHash: string | undefined;
}

export interface FleetOptions {
  readonly supervisor: Supervisor;
  readonly hub: AgentHub | undefined;
  readonly cluster: Cluster;
  /** Nodes of `layout` this host runs (the manager excluded). */
  readonly localNodes: (layout: Layout) => NodeSpec[];
}

/** The fleet; `layout` is the one in force (deploy replaces it). */
export class Fleet {
  readonly #options: FleetOptions;

  constructor(options: FleetOptions) {
    this.#options = options;
  }

  /** Nodes of `layout` on other hosts, by host (as node.cfg writes it). */
  remoteHosts(layout: Layout): Map<string, NodeSpec[]> {
    const local = new Set(this.#options.localNodes(layout).map((n) => n.name));
    const hosts = new Map<string, NodeSpec[]>();
    for (const node of layout.nodes) {
      if (node.type === "manager" || local.has(node.name)) continue;
      hosts.set(node.host, [...(hosts.get(node.host) ?? []), node]);
    }
    return hosts;
  }

  /** The status rows of every node but the manager, this host's first. */
  states(layout: Layout, now = Date.now()): ChildState[] {
    const { supervisor } = this.#options;
    const rows: ChildState[] = supervisor.states().map((row) => this.#helloStatus(row, now));
    const up = new Set(
      this.#options.cluster.peers().filter((p) => p.id !== undefined).map((p) => p.name),
    );
    for (const [host, nodes] of this.remoteHosts(layout)) {
      const agent = this.#options.hub?.agent(host);
      for (const node of nodes) {
        const report = agent?.nodes.find((r) => r.name === node.name);
        rows.push(
          agent !== undefined && report !== undefined
            ? this.#helloStatus(
              fromReport(report, agent.connected ? undefined : "unreachable"),
              now,
            )
            : {
              name: node.name,
              type: node.type,
              host: node.host,
              status: up.has(node.name)
                ? "running"
                : agent === undefined
                ? "no-agent"
                : "unreachable",
              pid: undefined,
              startedAt: undefined,
              restarts: 0,
              lastExit: undefined,
            },
        );
      }
    }
    return rows;
  }

  /** The nodes that show `no-hello`, with how long each has been off the bus. */
  silentNodes(layout: Layout, now = Date.now()): SilentNode[] {
    const local = new Set(this.#options.supervisor.states().map((s) => s.name));
    return this.states(layout, now).filter((row) => row.status === "no-hello").map((row) => ({
      name: row.name,
      local: local.has(row.name),
      silentMs: this.#silentMs(row, now) ?? 0,
    }));
  }

  /** `row` as `no-hello` when its process runs and the node has not been up on the bus for long. */
  #helloStatus(row: ChildState, now: number): ChildState {
    if (row.status !== "running") return row;
    const silent = this.#silentMs(row, now);
    return silent !== undefined && silent >= NO_HELLO_AFTER_MS
      ? { ...row, status: "no-hello" }
      : row;
  }

  /**
   * How long a node has run without being up on the bus: since it reported
   * ready (this host's; another host's since its start) or went down,
   * whichever came later. Undefined while it is up.
   */
  #silentMs(row: ChildState, now: number): number | undefined {
    const down = this.#options.cluster.downSince(row.name);
    const since = this.#options.supervisor.runningSince(row.name) ?? row.startedAt?.getTime();
    if (down === undefined || since === undefined) return undefined;
    return now - Math.max(down, since);
  }

  hosts(layout: Layout): HostState[] {
    return [...this.remoteHosts(layout).keys()].map((host) => {
      const agent = this.#options.hub?.agent(host);
      return {
        host,
        agent: agent === undefined ? "none" : agent.connected ? "connected" : "unreachable",
        version: agent?.version,
        configHash: agent?.configHash,
      };
    });
  }

  /** Runs `verb` on the named nodes (all when empty), each on its host; throws for unknown names. */
  async apply(layout: Layout, verb: "start" | "stop" | "restart", names: readonly string[]) {
    const remote = this.remoteHosts(layout);
    const localNames = new Set(this.#options.supervisor.states().map((s) => s.name));
    const hostOf = new Map<string, string>();
    for (const [host, nodes] of remote) for (const n of nodes) hostOf.set(n.name, host);
    const unknown = names.filter((n) => !localNames.has(n) && !hostOf.has(n));
    if (unknown.length > 0) throw new RangeError(`Unknown node(s): ${unknown.join(", ")}`);
    const all = names.length === 0;
    const local = all ? [] : names.filter((n) => localNames.has(n));
    const problems: string[] = [];
    // zeekctl's order: stop workers (remote, mostly) before the control host's
    // loggers; start the control host's loggers and proxies before workers.
    const remoteStep = async () => {
      const replies = await Promise.all([...remote.keys()].map(async (host) => {
        const wanted = all ? [] : names.filter((n) => hostOf.get(n) === host);
        if (!all && wanted.length === 0) return undefined;
        const reply = await this.#send(host, verb, wanted);
        return reply.ok ? undefined : `${host}: ${reply.error}`;
      }));
      for (const r of replies) if (r !== undefined) problems.push(r);
    };
    const supervisor = this.#options.supervisor;
    const localStep = async () => {
      if (!all && local.length === 0) return;
      const selected = all ? undefined : local;
      if (verb === "start") await supervisor.start(selected);
      else if (verb === "stop") await supervisor.stop(selected);
      else await supervisor.restart(selected);
    };
    if (verb === "stop") {
      await remoteStep();
      await localStep();
    } else {
      await localStep();
      await remoteStep();
    }
    return problems;
  }

  /** Stops every remote node (the manager is stopping); hosts that do not answer are skipped. */
  async stopRemote(layout: Layout, timeoutMs: number): Promise<void> {
    await Promise.all(
      [...this.remoteHosts(layout).keys()].map((host) =>
        this.#send(host, "stop-all", [], timeoutMs)
      ),
    );
  }

  /** Hands every connected host its configuration again and collects what each changed. */
  async deploy(layout: Layout) {
    this.#options.hub?.invalidate();
    const hosts = [...this.remoteHosts(layout).keys()].filter((host) =>
      this.#options.hub?.agent(host) !== undefined
    );
    const results = await Promise.all(hosts.map(async (host) => {
      const reply = await this.#send(host, "config", []);
      return { host, reply };
    }));
    return results;
  }

  #send(
    host: string,
    verb: "start" | "stop" | "restart" | "stop-all" | "config",
    nodes: readonly string[],
    timeoutMs?: number,
  ): Promise<AgentReply> {
    const hub = this.#options.hub;
    if (hub === undefined) {
      return Promise.resolve({
        ok: false,
        error: `no agent channel: ${host}'s nodes are started by hand`,
      });
    }
    return hub.command(host, verb, nodes, timeoutMs);
  }
}

function fromReport(report: NodeReport, status: string | undefined): ChildState {
  return {
    name: report.name,
    type: report.type,
    host: report.host,
    status: (status ?? report.status) as ChildState["status"],
    pid: report.pid,
    startedAt: report.startedAt === undefined ? undefined : new Date(report.startedAt),
    restarts: report.restarts,
    lastExit: report.lastExit,
  };
}
