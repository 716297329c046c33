/**
 * The manager's supervisor: starts this host's nodes as child processes of
 * the same executable in zeekctl's order, waits for each to report ready,
 * restarts crashed ones with bounded exponential backoff and jitter, and
 * stops them in reverse order (SIGTERM, then SIGKILL after StopTimeout).
 * Children read a pipe from the supervisor and exit when it closes, so none
 * outlives the manager even when the manager is killed.
 *
 * @module
 */

import type { NodeSpec, NodeType } from "../../config/mod.ts";
import { parseReadyLine, type Reporter } from "../process/mod.ts";

/** How long a child may take to print its readiness line. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;
export const DEFAULT_RESTART_BACKOFF_MIN_MS = 500;
/** A child that ran this long before crashing restarts without backoff. */
export const DEFAULT_STABLE_RUN_MS = 60_000;

/**
 * A node's status; `unreachable` (its host's agent stopped answering) and
 * `no-agent` (no agent joined from its host) describe nodes of other hosts.
 * `no-hello` is a node whose process runs but that is not up on the bus:
 * the manager has had no hello from it for longer than a handshake takes.
 */
export type ChildStatus =
  | "starting"
  | "running"
  | "no-hello"
  | "stopped"
  | "crashed"
  | "stopping"
  | "unreachable"
  | "no-agent";

/** One row of `weir status`. */
export interface ChildState {
  readonly name: string;
  readonly type: NodeType;
  readonly host: string;
  readonly status: ChildStatus;
  readonly pid: number | undefined;
  readonly startedAt: Date | undefined;
  readonly restarts: number;
  readonly lastExit: string | undefined;
}

/** How to launch a node: the supervisor stays ignorant of argv details. */
export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface SupervisorOptions {
  readonly nodes: readonly NodeSpec[];
  readonly launch: (node: NodeSpec) => LaunchSpec;
  readonly reporter: Reporter;
  readonly stopTimeoutMs: number;
  readonly restartBackoffMaxMs: number;
  /** Each stdout line of a child other than its readiness line. */
  readonly onOutput: (node: string, line: string) => void;
  /** Each stderr line of a child. */
  readonly onError: (node: string, line: string) => void;
  readonly readyTimeoutMs?: number;
}

/** zeekctl's start order: loggers, proxies, workers (the manager is this process). */
const START_ORDER: readonly NodeType[] = ["logger", "proxy", "worker"];

class Child {
  node: NodeSpec;
  status: ChildStatus = "stopped";
  wanted = false;
  process: Deno.ChildProcess | undefined;
  pid: number | undefined;
  startedAt: Date | undefined;
  /** When it reported ready (epoch ms), while it runs. */
  readyAt: number | undefined;
  /** Why `recycle` ends it; its exit is then a crash with this reason. */
  recycling: string | undefined;
  restarts = 0;
  consecutiveCrashes = 0;
  lastExit: string | undefined;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  readyWaiter: ((ok: boolean) => void) | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(node: NodeSpec) {
    this.node = node;
  }
}

/** Supervises this host's nodes. */
export class Supervisor implements AsyncDisposable {
  #options: SupervisorOptions;
  #children: Child[];
  /** close() has begun: exits from now on are expected, never restarted. */
  #closing = false;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#children = START_ORDER.flatMap((type) => options.nodes.filter((n) => n.type === type))
      .map((node) => new Child(node));
  }

  /** Starts every node, one type group after another; resolves when all are ready. */
  async startAll(): Promise<void> {
    for (const type of START_ORDER) {
      const group = this.#children.filter((c) => c.node.type === type);
      await Promise.all(group.map((c) => this.#startAndWait(c)));
    }
  }

  /** Starts the named nodes (or all) that are not running. */
  async start(names?: readonly string[]): Promise<void> {
    for (const child of this.#select(names)) {
      if (child.status === "running" || child.status === "starting") continue;
      clearTimeout(child.restartTimer);
      child.consecutiveCrashes = 0;
      await this.#startAndWait(child);
    }
  }

  /** Stops the named nodes (or all) in reverse start order. */
  async stop(names?: readonly string[]): Promise<void> {
    const selected = this.#select(names).reverse();
    for (const type of [...START_ORDER].reverse()) {
      await Promise.all(
        selected.filter((c) => c.node.type === type).map((c) => this.#stopChild(c)),
      );
    }
  }

  /** Restarts the named nodes (or all). */
  async restart(names?: readonly string[]): Promise<void> {
    await this.stop(names);
    await this.start(names);
  }

  /** The state of every supervised node, in start order. */
  states(): ChildState[] {
    return this.#children.map((c) => ({
      name: c.node.name,
      type: c.node.type,
      host: c.node.host,
      status: c.status,
      pid: c.pid,
      startedAt: c.startedAt,
      restarts: c.restarts,
      lastExit: c.lastExit,
    }));
  }

  /** When the node `name` reported ready (epoch ms); undefined unless it is running. */
  runningSince(name: string): number | undefined {
    const child = this.#children.find((c) => c.node.name === name);
    return child?.status === "running" ? child.readyAt : undefined;
  }

  /**
   * Ends a running node whose process lives but does not do its work (it
   * never said hello), as SIGTERM and after StopTimeout SIGKILL; its exit
   * then counts as a crash, restarted with the crash backoff. `reason`
   * completes "<node> …; restarting it" and becomes its last exit.
   */
  recycle(name: string, reason: string): void {
    const child = this.#children.find((c) => c.node.name === name);
    const process = child?.process;
    if (child === undefined || process === undefined || child.status !== "running") return;
    if (child.recycling !== undefined) return;
    child.recycling = reason;
    this.#options.reporter.warning(`${name} ${reason}; restarting it`);
    const kill = (signal: Deno.Signal) => {
      try {
        process.kill(signal);
      } catch { /* already gone */ }
    };
    kill("SIGTERM");
    const timer = setTimeout(() => kill("SIGKILL"), this.#options.stopTimeoutMs);
    void child.exited.finally(() => clearTimeout(timer));
  }

  /** Names of nodes that should run but do not (for `weir cron`). */
  crashed(): string[] {
    return this.#children.filter((c) => c.status === "crashed").map((c) => c.node.name);
  }

  /** Replaces the node list: removed nodes stop, added nodes are known but not started. */
  async replaceNodes(nodes: readonly NodeSpec[]): Promise<void> {
    const keep = new Set(nodes.map((n) => n.name));
    const removed = this.#children.filter((c) => !keep.has(c.node.name));
    if (removed.length > 0) await this.stop(removed.map((c) => c.node.name));
    const existing = new Map(this.#children.map((c) => [c.node.name, c]));
    this.#children = START_ORDER.flatMap((type) => nodes.filter((n) => n.type === type)).map(
      (node) => {
        const old = existing.get(node.name);
        if (old === undefined) return new Child(node);
        old.node = node;
        return old;
      },
    );
  }

  #select(names?: readonly string[]): Child[] {
    if (names === undefined || names.length === 0) return [...this.#children];
    const unknown = names.filter((n) => !this.#children.some((c) => c.node.name === n));
    if (unknown.length > 0) throw new RangeError(`Unknown node(s): ${unknown.join(", ")}`);
    return this.#children.filter((c) => names.includes(c.node.name));
  }

  async #startAndWait(child: Child): Promise<void> {
    const ready = new Promise<boolean>((resolve) => (child.readyWaiter = resolve));
    this.#spawn(child);
    const timeoutMs = this.#options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((
      resolve,
    ) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ok = await Promise.race([ready, timeout]);
    clearTimeout(timer);
    child.readyWaiter = undefined;
    if (!ok && child.status === "starting") {
      this.#options.reporter.error(
        `${child.node.name} did not report ready within ${timeoutMs} ms`,
      );
    }
  }

  #spawn(child: Child): void {
    if (this.#closing) return;
    const spec = this.#options.launch(child.node);
    const command = new Deno.Command(spec.command, {
      args: [...spec.args],
      env: { ...spec.env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // A process group of its own: Ctrl-C in the terminal reaches only the
      // manager, which then stops the nodes in order (zeekctl's sequence).
      // The stdin pipe still ends the child if the manager dies.
      detached: true,
    });
    let process: Deno.ChildProcess;
    try {
      process = command.spawn();
    } catch (error) {
      child.status = "crashed";
      child.lastExit = `cannot start: ${error instanceof Error ? error.message : error}`;
      this.#options.reporter.error(`Cannot start ${child.node.name}: ${child.lastExit}`);
      child.readyWaiter?.(false);
      this.#scheduleRestart(child);
      return;
    }
    child.process = process;
    child.pid = process.pid;
    child.startedAt = new Date();
    child.readyAt = undefined;
    child.recycling = undefined;
    child.status = "starting";
    child.wanted = true;
    const startedAt = performance.now();
    const stdoutDone = this.#readLines(process.stdout, (line) => {
      const ready = parseReadyLine(line);
      if (ready !== undefined && ready.node === child.node.name && child.status === "starting") {
        child.status = "running";
        child.readyAt = Date.now();
        child.readyWaiter?.(true);
        return;
      }
      this.#options.onOutput(child.node.name, line);
    });
    const stderrDone = this.#readLines(
      process.stderr,
      (line) => this.#options.onError(child.node.name, line),
    );
    child.exited = process.status.then(async (status) => {
      await Promise.all([stdoutDone, stderrDone]);
      child.process = undefined;
      child.pid = undefined;
      child.lastExit = status.signal !== null
        ? `killed by ${status.signal}`
        : `exit code ${status.code}`;
      child.readyWaiter?.(false);
      if (child.status === "stopping" || !child.wanted || this.#closing) {
        child.status = "stopped";
        return;
      }
      child.status = "crashed";
      if (performance.now() - startedAt > DEFAULT_STABLE_RUN_MS) child.consecutiveCrashes = 0;
      if (child.recycling !== undefined) {
        child.lastExit = `${child.recycling} (${child.lastExit})`;
      } else {
        this.#options.reporter.warning(
          `${child.node.name} crashed (${child.lastExit}); restarting`,
        );
      }
      this.#scheduleRestart(child);
    });
  }

  #scheduleRestart(child: Child): void {
    if (this.#closing) return;
    const exp = DEFAULT_RESTART_BACKOFF_MIN_MS * 2 ** Math.min(child.consecutiveCrashes, 16);
    const base = Math.min(this.#options.restartBackoffMaxMs, exp);
    const delay = base * (0.8 + 0.4 * Math.random());
    child.consecutiveCrashes++;
    clearTimeout(child.restartTimer);
    child.restartTimer = setTimeout(() => {
      if (this.#closing || child.status !== "crashed") return;
      child.restarts++;
      this.#spawn(child);
    }, delay);
  }

  async #stopChild(child: Child): Promise<void> {
    clearTimeout(child.restartTimer);
    child.wanted = false;
    const process = child.process;
    if (process === undefined) {
      if (child.status !== "stopped") child.status = "stopped";
      return;
    }
    child.status = "stopping";
    try {
      process.kill("SIGTERM");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      child.exited.then(() => false),
      new Promise<boolean>((
        resolve,
      ) => (timer = setTimeout(() => resolve(true), this.#options.stopTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.#options.reporter.warning(
        `${child.node.name} did not stop within ${this.#options.stopTimeoutMs} ms; killing it`,
      );
      try {
        process.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.exited;
    }
  }

  async #readLines(
    stream: ReadableStream<Uint8Array>,
    onLine: (line: string) => void,
  ): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of stream) {
        pending += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          onLine(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    } catch { /* the child is gone */ }
    if (pending.length > 0) onLine(pending);
  }

  /** Stops every node (reverse order) and disables restarts. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const child of this.#children) clearTimeout(child.restartTimer);
    await this.stop();
    for (const child of this.#children) clearTimeout(child.restartTimer);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
