/**
 * zeekctl's verbs for operators and cron: `status`, `nodes`, `start`,
 * `stop`, `restart`, `deploy`, `cron`, `netstats`. They talk to the running
 * manager through the control API; `start` (and `cron`, for a manager that
 * should run but died) starts one in the background when none is running.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { BUILT_IN, type Layout } from "../../../config/mod.ts";
import { KeyStore, keyStoreDir, writeFileAtomic } from "../../fleet/mod.ts";
import { type ChildState, formatStatusTable } from "../../supervisor/mod.ts";
import { WEIR_VERSION } from "../../process/mod.ts";
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
    case "enroll":
      return await enroll(ctx, nodes);
    case "revoke":
      return await revoke(ctx, nodes);
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
      const silent = (reply.body.silent as string[] | undefined) ?? [];
      if (silent.length > 0) {
        ctx.err(
          `weir: ${silent.length} of ${reply.body.nodes} nodes did not answer: ${
            silent.join(", ")
          }`,
        );
        return 1;
      }
      return 0;
    }
    case "netstats": {
      const reply = await controlRequest(ctx.layout, "netstats", undefined, WAIT_MS);
      if (reply === undefined) return notRunning(ctx, 1);
      if (!reply.ok) return printReply(ctx, reply);
      const replies = reply.body.replies as string[];
      for (const line of replies) ctx.out(line);
      const workers = reply.body.workers as number;
      const silent = (reply.body.silent as string[] | undefined) ?? [];
      if (replies.length < workers) {
        ctx.err(
          `weir: ${workers - replies.length} of ${workers} workers did not answer: ${
            silent.join(", ")
          }`,
        );
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
    const rows = reply.body.nodes as { name: string; status: string; restarts?: number }[];
    const running = rows.filter((r) => r.status === "running").length;
    const progress = `weir: ${running}/${rows.length} nodes running`;
    if (progress !== last) ctx.err(progress);
    last = progress;
    if (running === rows.length) return printReply(ctx, reply);
    // A node that crashed on its way up is not waited for (as zeekctl reports one
    // that terminated right after starting); the supervisor keeps restarting it.
    const failed = rows.filter((r) => r.status === "crashed" || (r.restarts ?? 0) > 0);
    if (failed.length > 0 && running + failed.length === rows.length) {
      printReply(ctx, reply);
      ctx.err(
        `weir: ${failed.map((r) => r.name).join(", ")} crashed while starting and ` +
          `${
            failed.length === 1 ? "is" : "are"
          } restarted with backoff; see ${spool}/manager.stderr`,
      );
      return 1;
    }
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

/** `weir enroll HOST [--token-file FILE]`: a one-time token for the agent of HOST (mode 0600). */
async function enroll(ctx: VerbContext, args: readonly string[]): Promise<number> {
  const [host, file] = args;
  if (host === undefined || args.length > 2) {
    ctx.err(
      "weir: enroll takes a host as node.cfg names it, e.g. weir enroll sensor-1 --config DIR",
    );
    return 2;
  }
  const layout = ctx.layout;
  if (layout.source === BUILT_IN) {
    ctx.err("weir: the built-in layout has one host; enroll sensors of a node.cfg (--config DIR)");
    return 2;
  }
  if (layout.agentChannel === undefined) {
    ctx.err(
      `weir: the manager of ${layout.source} listens on ${layout.manager.address}, which no other host can reach; ` +
        `give the manager's section in node.cfg the control host's address`,
    );
    return 1;
  }
  const nodes = layout.nodes.filter((n) => n.host === host && n.type !== "manager");
  if (nodes.length === 0) {
    const hosts = [...new Set(layout.nodes.filter((n) => n.type !== "manager").map((n) => n.host))];
    ctx.err(`weir: node.cfg places no node on host "${host}" (its hosts: ${hosts.join(", ")})`);
    return 1;
  }
  const store = await KeyStore.open(keyStoreDir(layout));
  const token = await store.createToken(host);
  const path = resolve(file ?? join(layout.settings.spoolDir, `enroll-${host}.token`));
  await writeFileAtomic(path, JSON.stringify(token, null, 1) + "\n");
  const { address, port } = layout.agentChannel;
  ctx.out(path);
  ctx.err(
    `weir: wrote the one-time token for ${host} (${
      nodes.map((n) => n.name).join(", ")
    }) to ${path} (mode 0600); ` +
      `copy it to ${host} and run there: weir join ${
        address.includes(":") ? `[${address}]` : address
      }:${port} --token FILE ` +
      `(good until ${new Date(token.expires * 1000).toISOString()})`,
  );
  return 0;
}

/** `weir revoke NAME…`: withdraws the bus keys of nodes, or of a host and its agent. */
async function revoke(ctx: VerbContext, names: readonly string[]): Promise<number> {
  if (names.length === 0) {
    ctx.err("weir: revoke takes node or host names, e.g. weir revoke worker-3-1");
    return 2;
  }
  const reply = await controlRequest(ctx.layout, "revoke", names, WAIT_MS);
  if (reply === undefined) {
    // No manager: the store is edited directly; the manager reads it when it starts.
    const layout = ctx.layout;
    const store = await KeyStore.open(keyStoreDir(layout));
    const revoked: string[] = [];
    for (const name of names) {
      const hostNodes = layout.nodes.filter((n) => n.host === name && n.type !== "manager");
      if (hostNodes.length > 0) {
        revoked.push(...await store.revoke(hostNodes.map((n) => n.name), name));
      } else if (layout.nodes.some((n) => n.name === name)) {
        revoked.push(...await store.revoke([name]));
      } else {
        ctx.err(`weir: ${name} is neither a node nor a host of ${layout.source}`);
        return 1;
      }
    }
    ctx.out(`revoked: ${revoked.join(", ") || "nothing (no key was issued)"}`);
    return 0;
  }
  if (!reply.ok) return printReply(ctx, reply);
  ctx.out(`revoked: ${(reply.body.revoked as string[]).join(", ")}`);
  return printReply(ctx, reply);
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
  for (const n of nodes ?? []) {
    if (n.status === "no-hello") {
      ctx.err(
        `weir: ${n.name} runs but is not up on the bus (the manager has no hello from it); ` +
          "weir cron restarts it, the manager itself after 30 s when it runs on the manager's host",
      );
    }
  }
  const hosts = reply.body.hosts as
    | { host: string; agent: string; version?: string }[]
    | undefined;
  for (const h of hosts ?? []) {
    if (h.agent === "unreachable") ctx.err(`weir: the agent of ${h.host} does not answer`);
    if (h.agent === "connected" && h.version !== undefined && h.version !== WEIR_VERSION) {
      ctx.err(`weir: ${h.host} runs weir ${h.version}, this is ${WEIR_VERSION}`);
    }
  }
  const problems = (reply.body.problems as string[] | undefined) ?? [];
  for (const p of problems) ctx.err(`weir: ${p}`);
  return problems.length > 0 ? 1 : 0;
}

function notRunning(ctx: VerbContext, code: number): number {
  ctx.err(`weir: no manager is running for ${ctx.layout.source}`);
  return code;
}

/** Whether the operator wants the cluster up (`start`, `deploy`) or down (`stop`). */
async function setIntent(layout: Layout, state: "running" | "stopped"): Promise<void> {
  await Deno.mkdir(layout.settings.spoolDir, { recursive: true });
  await writeFileAtomic(`${layout.settings.spoolDir}/cluster.intent`, state + "\n", 0o644);
}

async function intent(layout: Layout): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(`${layout.settings.spoolDir}/cluster.intent`)).trim();
  } catch {
    return undefined;
  }
}
