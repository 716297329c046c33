/**
 * The host agent (`weir join CONTROL-HOST[:PORT] --token FILE`): one command
 * per sensor. It enrols once with the token `weir enroll` wrote, then keeps
 * a CURVE-encrypted channel to the manager, receives the configuration
 * (node.cfg, weir.cfg, networks.cfg, site scripts, its nodes' bus keys),
 * and starts and supervises every node node.cfg places on its host, all
 * `lb_procs` members included, restarting crashed ones with the manager's
 * backoff. It waits, and says so, while the manager is not reachable; its
 * nodes keep running through a manager outage; it stops them in order.
 *
 * State (in `--dir`, default `.weir-agent`): `agent.json` (its host, the
 * manager's key, its own keypair; mode 0600), `config/` (the files as the
 * manager sent them), `keys/` (its nodes' keys).
 *
 * @module
 */

import { join } from "node:path";
import {
  ConfigError,
  type Layout,
  layoutFingerprint,
  loadLayout,
  type NodeSpec,
  settingsFingerprint,
} from "../../config/mod.ts";
import {
  type CurveKeyPair,
  curveKeyPair,
  tcpEndpoint,
  ZMQ_OPTION,
  ZmqContext,
  ZmqReactor,
} from "../../ffi/mod.ts";
import { setHeartbeat } from "../bus/mod.ts";
import {
  type AgentMessage,
  type ConfigBundle,
  CredentialsError,
  decodeManagerMessage,
  encodeMessage,
  type ManagerMessage,
  type NodeReport,
  writeCredentials,
  writeFileAtomic,
} from "../fleet/mod.ts";
import { type Reporter, WEIR_VERSION } from "../process/mod.ts";
import { type LaunchSpec, Supervisor } from "../supervisor/mod.ts";

/** How often the agent looks at its nodes; when it says the manager is silent, and again. */
const TICK_MS = 100;
const SILENCE_REPORT_MS = 5000;
const SILENCE_REPEAT_MS = 30_000;

export interface AgentOptions {
  /** The manager's agent channel (`weir join HOST[:PORT]`). */
  readonly manager: { readonly host: string; readonly port: number };
  /** The token file from `weir enroll`, needed until the agent has enrolled. */
  readonly tokenFile: string | undefined;
  /** The agent's state directory. */
  readonly dir: string;
  readonly reporter: Reporter;
  readonly shutdown: AbortSignal;
  /** How to start a node, given the configuration and keys directories. */
  readonly launch: (node: NodeSpec, configDir: string, keysDir: string | undefined) => LaunchSpec;
  readonly onChildOutput: (node: string, line: string) => void;
  readonly onChildError: (node: string, line: string) => void;
  /** Called once every node of the first configuration is up. */
  readonly onReady: (nodes: readonly string[]) => void;
}

/** What `agent.json` holds. */
interface AgentIdentity {
  readonly host: string;
  readonly serverKey: string;
  readonly keys: CurveKeyPair;
  readonly enrolled: boolean;
}

/** The agent failed in a way the operator must fix (bad token, refused): one line. */
export class AgentError extends Error {
  override readonly name = "AgentError";
}

/** Runs the agent until its shutdown signal; stops its nodes before returning. */
export async function runAgent(options: AgentOptions): Promise<void> {
  const { reporter } = options;
  await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
  let { identity, token } = await loadIdentity(options);
  const zmq = new ZmqContext();
  const socket = zmq.openSocket("dealer");
  const reactor = new ZmqReactor();
  const configDir = join(options.dir, "config");
  const keysDir = join(options.dir, "keys");
  let supervisor: Supervisor | undefined;
  let layout: Layout | undefined;
  let configHash = "";
  /** Nodes an operator stopped (`weir stop NODE`): a join does not start them again. */
  const held = new Set<string>();
  let lastHeard = -Infinity;
  let readySent = false;
  let failure: Error | undefined;
  let applying: Promise<unknown> = Promise.resolve();
  /** Each node's public key as last applied: a new one (a revocation) restarts the node. */
  const lastKeys = new Map<string, string>();

  const send = (message: AgentMessage) => {
    socket.send([encodeMessage(message)]);
    reactor.noteSend(socket);
  };
  const reports = (): NodeReport[] =>
    (supervisor?.states() ?? []).map((s) => ({ ...s, startedAt: s.startedAt?.toISOString() }));
  let lastSent = -Infinity;
  const sendStatus = () => {
    lastSent = performance.now();
    if (!identity.enrolled) {
      send({ t: "enroll", host: identity.host, token, version: WEIR_VERSION });
      return;
    }
    send({ t: "status", host: identity.host, version: WEIR_VERSION, nodes: reports(), configHash });
  };

  const apply = async (message: Extract<ManagerMessage, { t: "config" }>) => {
    const fresh = await writeConfig(configDir, message);
    if (message.directory !== undefined) {
      const keys = Object.fromEntries(
        Object.entries(message.keys).map((
          [n, k],
        ) => [n, { publicKey: k.public, secretKey: k.secret }]),
      );
      await writeCredentials(keysDir, message.directory, keys);
    }
    const mine = fresh.nodes.filter((n) => n.host === identity.host && n.type !== "manager");
    const before = layout;
    layout = fresh;
    configHash = message.hash;
    const launchKeys = message.directory === undefined ? undefined : keysDir;
    if (supervisor === undefined) {
      supervisor = new Supervisor({
        nodes: mine,
        launch: (n) => options.launch(n, configDir, launchKeys),
        reporter,
        stopTimeoutMs: fresh.settings.stopTimeoutSec * 1000,
        restartBackoffMaxMs: fresh.settings.restartBackoffMaxSec * 1000,
        onOutput: options.onChildOutput,
        onError: options.onChildError,
      });
      reporter.info(`${identity.host} runs ${mine.map((n) => n.name).join(", ") || "no node"}`);
      if (message.run) await supervisor.start(mine.map((n) => n.name).filter((n) => !held.has(n)));
      return { added: mine.map((n) => n.name), removed: [], restarted: [] };
    }
    const old = new Map(
      (before?.nodes ?? []).filter((n) => n.host === identity.host).map((n) => [n.name, n]),
    );
    const everything = before === undefined ||
      settingsFingerprint(before.settings) !== settingsFingerprint(fresh.settings) ||
      JSON.stringify(before.localNets) !== JSON.stringify(fresh.localNets);
    const added = mine.filter((n) => !old.has(n.name)).map((n) => n.name);
    const removed = [...old.keys()].filter((name) => !mine.some((n) => n.name === name));
    const running = new Set(
      supervisor.states().filter((s) => s.status !== "stopped").map((s) => s.name),
    );
    const restarted = mine.filter((n) => {
      const was = old.get(n.name);
      return was !== undefined && running.has(n.name) &&
        (everything || layoutFingerprint(was) !== layoutFingerprint(n) ||
          // A revoked key was replaced: the node reconnects with its new one.
          (lastKeys.has(n.name) && lastKeys.get(n.name) !== message.keys[n.name]?.public));
    }).map((n) => n.name);
    await supervisor.replaceNodes(mine);
    if (restarted.length > 0) await supervisor.restart(restarted);
    if (message.run) {
      const stopped = supervisor.states().filter((s) =>
        (s.status === "stopped") && !held.has(s.name)
      ).map((s) => s.name);
      if (stopped.length > 0) await supervisor.start(stopped);
    }
    return { added, removed, restarted };
  };

  const onMessage = (frames: readonly Uint8Array[]) => {
    const message = frames.length === 1 ? decodeManagerMessage(frames[0]!) : undefined;
    if (message === undefined) {
      reporter.warning("dropped a malformed message from the manager");
      return;
    }
    if (lastHeard === -Infinity || performance.now() - lastHeard > SILENCE_REPORT_MS) {
      reporter.info(`connected to the manager at ${options.manager.host}:${options.manager.port}`);
    }
    lastHeard = performance.now();
    switch (message.t) {
      case "seen":
        return;
      case "refused":
        // A refused token is the operator's to fix; an enrolled agent keeps
        // its nodes running and keeps trying (its key may be re-admitted).
        if (!identity.enrolled || message.revoked === true) {
          // Revoked: the nodes stop with the agent (their keys are revoked too).
          failure = new AgentError(`the manager refused this agent: ${message.reason}`);
          abort();
        } else {
          reporter.warning(`the manager refused a message of this agent: ${message.reason}`);
        }
        return;
      case "enrolled":
        if (identity.enrolled) return;
        identity = { ...identity, enrolled: true };
        token = "";
        void saveIdentity(options.dir, identity).then(() => {
          reporter.info(`enrolled as the agent of ${identity.host}; the token is spent`);
          sendStatus();
        });
        return;
      case "config":
        applying = applying.then(async () => {
          try {
            const result = await apply(message);
            for (const [n, k] of Object.entries(message.keys)) lastKeys.set(n, k.public);
            if (message.id !== 0) send({ t: "reply", id: message.id, ok: true, result });
            sendStatus();
            if (!readySent && message.run) {
              readySent = true;
              options.onReady(supervisor?.states().map((s) => s.name) ?? []);
            }
          } catch (error) {
            const text = error instanceof ConfigError || error instanceof CredentialsError
              ? error.message
              : String(error);
            reporter.error(`cannot apply the manager's configuration: ${text}`);
            if (message.id !== 0) send({ t: "reply", id: message.id, ok: false, error: text });
          }
        });
        return;
      case "command":
        if (message.verb === "scrape") {
          // Not queued behind a start or stop: a scrape has seconds, not minutes.
          scrape(message.nodes[0] ?? "").then(
            (text) => send({ t: "reply", id: message.id, ok: true, result: text }),
            (error) => send({ t: "reply", id: message.id, ok: false, error: String(error) }),
          );
          return;
        }
        applying = applying.then(async () => {
          try {
            const s = supervisor;
            if (s === undefined) throw new Error("no configuration yet");
            const names = message.nodes.length === 0
              ? s.states().map((x) => x.name)
              : message.nodes;
            if (message.verb === "stop" || message.verb === "stop-all") {
              if (message.verb === "stop") { for (const n of names) held.add(n); }
              await s.stop(message.verb === "stop-all" ? undefined : names);
            } else {
              for (const n of names) held.delete(n);
              if (message.verb === "start") await s.start(names);
              else await s.restart(names);
            }
            send({ t: "reply", id: message.id, ok: true, result: { nodes: reports() } });
          } catch (error) {
            send({
              t: "reply",
              id: message.id,
              ok: false,
              error: error instanceof Error ? error.message : String(error),
            });
          }
        });
        return;
    }
  };

  /** A node's `/metrics`, read where it listens on this host, for the manager to relay. */
  const scrape = async (name: string): Promise<string> => {
    const node = layout?.nodes.find((n) => n.name === name && n.host === identity.host);
    if (node?.metricsPort === undefined) throw new Error(`${name} serves no metrics on this host`);
    const configured = layout!.settings.metricsAddress;
    const address = configured === "0.0.0.0"
      ? "127.0.0.1"
      : configured === "::"
      ? "::1"
      : configured;
    const host = address.includes(":") ? `[${address}]` : address;
    const response = await fetch(`http://${host}:${node.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(3000),
    });
    return await response.text();
  };

  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const abort = () => stop();
  options.shutdown.addEventListener("abort", abort, { once: true });

  try {
    socket.setCurveClient(identity.keys, identity.serverKey);
    setHeartbeat(socket, { intervalMs: 1000, timeoutMs: 5000 });
    socket.setOption(ZMQ_OPTION.LINGER, 0);
    socket.connect(tcpEndpoint(options.manager.host, options.manager.port));
    reactor.watch(socket, (frames) => onMessage(frames));
    reactor.start((error) => {
      failure = error instanceof Error ? error : new Error(String(error));
      abort();
    });
    reporter.info(
      `joining the manager at ${options.manager.host}:${options.manager.port} as the agent of ${identity.host}`,
    );
    const started = performance.now();
    let lastSilenceReport = -Infinity;
    // A node's change (a crash, a restart) is reported at once, not at the next beat.
    // One tick: a node's change (a crash, a restart) is reported at once;
    // otherwise a report goes every HeartbeatInterval of the configuration
    // in force (every second before the first), and a silent manager is said.
    let reported = "";
    const timer = setInterval(() => {
      const now = performance.now();
      const changes = JSON.stringify(reports().map((r) => [r.status, r.pid]));
      const every = (layout?.settings.heartbeatIntervalSec ?? 1) * 1000;
      if ((changes !== reported && supervisor !== undefined) || now - lastSent >= every) {
        sendStatus();
      }
      reported = changes;
      const silentFor = now - Math.max(lastHeard, started);
      if (silentFor > SILENCE_REPORT_MS && now - lastSilenceReport > SILENCE_REPEAT_MS) {
        lastSilenceReport = now;
        reporter.warning(
          `the manager at ${options.manager.host}:${options.manager.port} has not answered for ${
            Math.round(silentFor / 1000)
          } s; still trying (is it running, is this host enrolled, is the link up?)` +
            (supervisor === undefined ? "" : "; this host's nodes keep running"),
        );
      }
    }, TICK_MS);
    sendStatus();
    await stopped;
    clearInterval(timer);
    await applying.catch(() => {});
  } finally {
    options.shutdown.removeEventListener("abort", abort);
    await supervisor?.close();
    reactor.close();
    await reactor.closed();
    socket.close();
    await zmq.close(500);
  }
  if (failure !== undefined) throw failure;
}

/** The agent's identity: from `agent.json`, or a fresh keypair and the token file's host and key. */
async function loadIdentity(
  options: AgentOptions,
): Promise<{ identity: AgentIdentity; token: string }> {
  const file = join(options.dir, "agent.json");
  try {
    const saved = JSON.parse(await Deno.readTextFile(file)) as AgentIdentity;
    if (saved.enrolled || options.tokenFile === undefined) return { identity: saved, token: "" };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new AgentError(
        `Cannot read ${file}: ${error instanceof Error ? error.message : error}`,
      );
    }
    if (options.tokenFile === undefined) {
      throw new AgentError(
        `this host has not enrolled yet: run weir enroll HOST on the control host and pass the file it writes with --token FILE`,
      );
    }
  }
  const given = await readTokenFile(options.tokenFile!);
  const identity = {
    host: given.host,
    serverKey: given.serverKey,
    keys: curveKeyPair(),
    enrolled: false,
  };
  await saveIdentity(options.dir, identity);
  return { identity, token: given.token };
}

async function saveIdentity(dir: string, identity: AgentIdentity): Promise<void> {
  await writeFileAtomic(join(dir, "agent.json"), JSON.stringify(identity, null, 1) + "\n");
}

/** Reads `weir enroll`'s file, refusing one others can read. */
export async function readTokenFile(
  file: string,
): Promise<{ host: string; serverKey: string; token: string }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch {
    throw new AgentError(`Cannot read the token file ${file}: it does not exist`);
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new AgentError(
      `Cannot use the token file ${file}: its mode is ${
        (info.mode & 0o777).toString(8)
      }, so others can read it; run chmod 600 ${file}`,
    );
  }
  let value: { host?: unknown; serverKey?: unknown; token?: unknown };
  try {
    value = JSON.parse(await Deno.readTextFile(file));
  } catch {
    throw new AgentError(`Cannot use the token file ${file}: it is not what weir enroll writes`);
  }
  if (
    typeof value.host !== "string" || typeof value.serverKey !== "string" ||
    typeof value.token !== "string"
  ) {
    throw new AgentError(`Cannot use the token file ${file}: it is not what weir enroll writes`);
  }
  return { host: value.host, serverKey: value.serverKey, token: value.token };
}

/** Writes the manager's files into `dir` and the site scripts into SiteDir; returns the layout. */
async function writeConfig(dir: string, bundle: ConfigBundle): Promise<Layout> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(bundle.files)) {
    if (name.includes("/")) continue;
    await writeFileAtomic(join(dir, name), text, 0o644);
  }
  for (const name of ["networks.cfg", "weir.cfg"]) {
    if (bundle.files[name] === undefined) await Deno.remove(join(dir, name)).catch(() => {});
  }
  const layout = await loadLayout(dir);
  for (const [path, text] of Object.entries(bundle.site)) {
    if (path.split("/").includes("..")) continue;
    const full = join(layout.settings.siteDir, path);
    await Deno.mkdir(join(full, ".."), { recursive: true });
    await writeFileAtomic(full, text, 0o644);
  }
  return layout;
}
