/**
 * zeekctl's verbs for operators and cron: `status`, `nodes`, `start`,
 * `stop`, `restart`, `deploy`, `cron`, `netstats`. They talk to the running
 * manager through the control API; `start` (and `cron`, for a manager that
 * should run but died) starts one in the background when none is running.
 *
 * @module
 */

import type { Layout } from "../../../config/mod.ts";
import { type ChildState, formatStatusTable } from "../../supervisor/mod.ts";
import { type ControlReply, controlRequest } from "./control_client.ts";
import type { Verb } from "./verb_names.ts";

export interface VerbContext {
  readonly layout: Layout;
  /** Starts `weir --role manager` for this layout in the background, detached. */
  readonly launchManager: (stdoutFile: string, stderrFile: string) => void;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** How long `start` waits for every node to run, and `stop` for the manager to go. */
const WAIT_MS = 120_000;

/** Runs one verb; resolves to the process exit code. */
export async function runVerb(verb: Verb, nodes: readonly string[], ctx: VerbContext) {
  switch (verb) {
    case "status":
      return await status(ctx);
    case "nodes":
      return nodesTable(ctx);
    case "start":
      return await start(ctx, nodes);
    case "stop":
      return await stop(ctx, nodes);
    case "restart": {
      const reply = await controlRequest(ctx.layout, "restart", nodes, WAIT_MS);
      if (reply === undefined) return notRunning(ctx, 1);
      return printReply(ctx, reply);
    }
    case "deploy": {
      await setIntent(ctx.layout, "running");
      const reply = await controlRequest(ctx.layout, "deploy", [], WAIT_MS);
      if (reply === undefined) return await start(ctx, []);
      if (reply.ok) {
        const b = reply.body as { added: string[]; removed: string[]; restarted: string[] };
        ctx.out(
          `deploy: added ${b.added.join(", ") || "none"}; removed ${
            b.removed.join(", ") || "none"
          }; restarted ${b.restarted.join(", ") || "none"}`,
        );
      }
      return printReply(ctx, reply);
    }
    case "cron":
      return await cron(ctx);
    case "print": {
      if (nodes.length !== 1) {
        ctx.err("weir: print takes one id, e.g. weir print Site::local_nets");
        return 2;
      }
      const reply = await controlRequest(ctx.layout, "print", nodes, WAIT_MS);
      if (reply === undefined) return notRunning(ctx, 1);
      if (!reply.ok) return printReply(ctx, reply);
      for (const line of reply.body.replies as string[]) ctx.out(line);
      return 0;
    }
    case "netstats": {
      const reply = await controlRequest(ctx.layout, "netstats", undefined, WAIT_MS);
      if (reply === undefined) return notRunning(ctx, 1);
      if (!reply.ok) return printReply(ctx, reply);
      const replies = reply.body.replies as string[];
      for (const line of replies) ctx.out(line);
      const workers = reply.body.workers as number;
      if (replies.length < workers) {
        ctx.err(`weir: ${workers - replies.length} of ${workers} workers did not answer`);
        return 1;
      }
      return 0;
    }
  }
}

async function status(ctx: VerbContext): Promise<number> {
  const reply = await controlRequest(ctx.layout, "status");
  if (reply === undefined) {
    ctx.out(formatStatusTable(ctx.layout.nodes.map((n) => ({
      name: n.name,
      type: n.type,
      host: n.host,
      status: "stopped",
      pid: undefined,
      startedAt: undefined,
      restarts: 0,
      lastExit: undefined,
    }))));
    return notRunning(ctx, 3);
  }
  return printReply(ctx, reply);
}

function nodesTable(ctx: VerbContext): number {
  for (const n of ctx.layout.nodes) {
    const iface = n.capture === undefined
      ? ""
      : ` interface=${n.capture.method}::${n.capture.device}`;
    const metrics = n.metricsPort === undefined ? "" : ` metrics_port=${n.metricsPort}`;
    ctx.out(
      `${n.name} - type=${n.type} host=${n.host} address=${n.address} port=${n.port}${metrics}${iface}`,
    );
  }
  return 0;
}

async function start(ctx: VerbContext, nodes: readonly string[]): Promise<number> {
  const reply = await controlRequest(ctx.layout, "start", nodes, WAIT_MS);
  if (reply !== undefined) return printReply(ctx, reply);
  if (nodes.length > 0) {
    ctx.err("weir: no manager is running: `weir start` (no node names) starts the cluster");
    return 1;
  }
  await setIntent(ctx.layout, "running");
  return await launchAndWait(ctx);
}

async function launchAndWait(ctx: VerbContext): Promise<number> {
  const spool = ctx.layout.settings.spoolDir;
  await Deno.mkdir(spool, { recursive: true });
  ctx.launchManager(`${spool}/manager.stdout`, `${spool}/manager.stderr`);
  ctx.err("weir: starting the manager in the background …");
  const deadline = Date.now() + WAIT_MS;
  let last = "";
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const reply = await controlRequest(ctx.layout, "status").catch(() => undefined);
    if (reply === undefined || !reply.ok) continue;
    const rows = reply.body.nodes as { status: string }[];
    const running = rows.filter((r) => r.status === "running").length;
    const progress = `weir: ${running}/${rows.length} nodes running`;
    if (progress !== last) ctx.err(progress);
    last = progress;
    if (running === rows.length) return printReply(ctx, reply);
  }
  ctx.err(
    `weir: the cluster did not come up within ${WAIT_MS / 1000} s; see ${spool}/manager.stderr`,
  );
  return 1;
}

async function stop(ctx: VerbContext, nodes: readonly string[]): Promise<number> {
  if (nodes.length > 0) {
    const reply = await controlRequest(ctx.layout, "stop", nodes, WAIT_MS);
    if (reply === undefined) return notRunning(ctx, 1);
    return printReply(ctx, reply);
  }
  await setIntent(ctx.layout, "stopped");
  const reply = await controlRequest(ctx.layout, "shutdown", []);
  if (reply === undefined) return notRunning(ctx, 0);
  if (!reply.ok) return printReply(ctx, reply);
  ctx.err("weir: stopping the cluster …");
  const deadline = Date.now() + ctx.layout.settings.stopTimeoutSec * 1000 * 2 + 10_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    if (await controlRequest(ctx.layout, "status").catch(() => undefined) === undefined) {
      ctx.err("weir: stopped");
      return 0;
    }
  }
  ctx.err("weir: the manager is still running; check its processes");
  return 1;
}

async function cron(ctx: VerbContext): Promise<number> {
  const reply = await controlRequest(ctx.layout, "cron", [], WAIT_MS);
  if (reply === undefined) {
    // zeekctl cron starts what should run: a manager that died is started again,
    // one stopped with `weir stop` is left alone.
    if (await intent(ctx.layout) === "running") {
      ctx.err("weir cron: the manager should be running but is not; starting it");
      return await launchAndWait(ctx);
    }
    return 0;
  }
  for (const line of (reply.body.messages as string[] | undefined) ?? []) {
    ctx.out(`weir cron: ${line}`);
  }
  return reply.ok ? 0 : printReply(ctx, reply);
}

function printReply(ctx: VerbContext, reply: ControlReply): number {
  if (!reply.ok) {
    ctx.err(`weir: ${reply.body.error ?? `the manager answered ${reply.status}`}`);
    return 1;
  }
  const nodes = reply.body.nodes as (ChildState & { startedAt?: string })[] | undefined;
  if (nodes !== undefined) {
    ctx.out(formatStatusTable(nodes.map((n) => ({
      ...n,
      startedAt: n.startedAt === undefined ? undefined : new Date(n.startedAt),
    }))));
  }
  return 0;
}

function notRunning(ctx: VerbContext, code: number): number {
  ctx.err(`weir: no manager is running for ${ctx.layout.source}`);
  return code;
}

/** Whether the operator wants the cluster up (`start`, `deploy`) or down (`stop`). */
async function setIntent(layout: Layout, state: "running" | "stopped"): Promise<void> {
  await Deno.mkdir(layout.settings.spoolDir, { recursive: true });
  await Deno.writeTextFile(`${layout.settings.spoolDir}/cluster.intent`, state + "\n");
}

async function intent(layout: Layout): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(`${layout.settings.spoolDir}/cluster.intent`)).trim();
  } catch {
    return undefined;
  }
}
