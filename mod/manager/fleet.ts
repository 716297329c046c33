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
import type { Cluster } from "../cluster/mod.ts";
import type { NodeReport } from "../fleet/mod.ts";
import type { ChildState, Supervisor } from "../supervisor/mod.ts";
import type { AgentHub, AgentReply } from "./agent_hub.ts";

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
  states(layout: Layout): ChildState[] {
    const rows: ChildState[] = [...this.#options.supervisor.states()];
    const up = new Set(
      this.#options.cluster.peers().filter((p) => p.id !== undefined).map((p) => p.name),
    );
    for (const [host, nodes] of this.remoteHosts(layout)) {
      const agent = this.#options.hub?.agent(host);
      for (const node of nodes) {
        const report = agent?.nodes.find((r) => r.name === node.name);
        rows.push(
          agent !== undefined && report !== undefined
            ? fromReport(report, agent.connected ? undefined : "unreachable")
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
