/**
 * weir's entry point: argv → command. Runs a role (`--role manager|worker|
 * proxy|logger`) or a control verb; with no arguments, a local cluster from
 * the built-in standalone layout in the foreground.
 *
 * @module
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  ConfigError,
  createStandaloneLayout,
  type Layout,
  loadLayout,
  type NodeSpec,
} from "./config/mod.ts";
import { LibraryMissingError, ZmqError } from "./ffi/mod.ts";
import { checkNodeScripts } from "./mod/cluster/mod.ts";
import { createNodeId } from "./mod/bus/mod.ts";
import {
  createShutdownSignal,
  createStderrReporter,
  ListenError,
  WEIR_VERSION,
} from "./mod/process/mod.ts";
import type { NodeStart } from "./mod/runtime/mod.ts";
import type { LaunchSpec } from "./mod/supervisor/mod.ts";
import { openLogWriting, runLogger } from "./mod/logger/mod.ts";
import { checkHost, probePorts, runManager } from "./mod/manager/mod.ts";
import { runProxy } from "./mod/proxy/mod.ts";
import { runWorker, WorkerCaptureError } from "./mod/worker/mod.ts";
import { runTrace, runTraceWorker } from "./mod/trace/mod.ts";
import { AgentError, runAgent } from "./mod/agent/mod.ts";
import { CredentialsError, readCredentials } from "./mod/fleet/mod.ts";
import {
  controlRequest,
  ControlTokenError,
  runVerb,
  type Verb,
  VERBS,
} from "./mod/api/control/mod.ts";
import {
  InsecureWebSocketError,
  TokenFileError,
  TokenFileModeError,
  WebSocketOptionsError,
} from "./mod/api/websocket/mod.ts";

const USAGE = `weir ${WEIR_VERSION}: a Zeek-compatible network-monitoring cluster

Usage:
  weir                                run a local cluster (built-in layout) in the foreground
  weir --role manager [--config DIR]  run the manager and the nodes of this host
  weir --role worker|proxy|logger --node NAME [--config DIR]
  weir --node NAME --config DIR       run one node of the layout (e.g. a sensor's workers)
  weir check [--config DIR]           validate the configuration, start nothing
  weir status|nodes|netstats|cron [--config DIR]
  weir start|stop|restart [NODE…] [--config DIR]
  weir deploy [--config DIR]          apply a changed node.cfg on every host: only changed nodes restart
  weir enroll HOST [--config DIR]     a one-time token (file, mode 0600) for the agent of HOST
  weir join CONTROL-HOST[:PORT] [--token FILE] [--dir DIR]
                                      on a sensor: enrol, receive the configuration, run and
                                      supervise every node node.cfg places on this host
  weir revoke NODE|HOST… [--config DIR]  withdraw bus keys (a host: its agent's too)
  weir print ID [--config DIR]        the value of ID on every node (zeekctl print)
  weir -r FILE [-C] [--workers N] [-f FILTER] [--json]
                                      analyse a pcap/pcapng trace like zeek -r: conn.log,
                                      dns.log, weird.log … go to the current directory

Options:
  --config DIR       directory with node.cfg, weir.cfg, networks.cfg (default: built-in layout)
  -i, --interface I  capture interface for the built-in layout (default: the default route's)
  --role ROLE        manager, worker, proxy or logger
  --node NAME        this node's name in the layout
  -r FILE            read packets from a pcap or pcapng file
  -C                 ignore checksums (as zeek -C)
  --workers N        split the trace by flow across N worker processes (default 1)
  -f FILTER          BPF filter (tcpdump syntax) for the packets analysed
  --json             write JSON lines instead of Zeek's TSV (LogAscii::use_json)
  --insecure-websocket  allow the WebSocket API on a non-loopback address without tokens or TLS
  --token FILE       weir join: the token file weir enroll wrote (needed until enrolled)
  --dir DIR          weir join: the agent's state directory (default .weir-agent)
  --keys DIR         this node's bus keys (given by the manager or the agent that starts it)
  --local-bus        reach the forwarder through its IPC sockets (the manager's own host)
  -h, --help         this text
  --version          print the version
`;

const ROLES = ["manager", "worker", "proxy", "logger"] as const;
type Role = (typeof ROLES)[number];

function fail(message: string, code = 1): never {
  // deno-lint-ignore no-console
  console.error(`weir: ${message}`);
  Deno.exit(code);
}

async function readLayout(
  configDir: string | undefined,
  iface: string | undefined,
): Promise<Layout> {
  return configDir === undefined
    ? await createStandaloneLayout(iface === undefined ? {} : { interface: iface })
    : await loadLayout(configDir);
}

/** The argv that makes a child see the same layout as this process. */
function layoutArgs(configDir: string | undefined, iface: string | undefined): string[] {
  if (configDir !== undefined) return ["--config", configDir];
  return iface === undefined ? [] : ["--interface", iface];
}

/** The arguments that run this program again with `args`: the binary, or `deno run … main.ts`. */
function selfArgs(args: readonly string[]): string[] {
  return Deno.build.standalone ? [...args] : ["run", "-A", "--quiet", Deno.mainModule, ...args];
}

function launchSpec(node: NodeSpec, extraArgs: readonly string[]): LaunchSpec {
  return {
    command: Deno.execPath(),
    args: selfArgs(["--role", node.type, "--node", node.name, "--supervised", ...extraArgs]),
    env: { ...node.envVars, CLUSTER_NODE: node.name },
  };
}

async function runRole(
  role: Role,
  nodeName: string,
  layout: Layout,
  launchArgs: string[],
  flags: {
    supervised: boolean;
    insecureWebSocket: boolean;
    keys: string | undefined;
    localBus: boolean;
  },
) {
  const { supervised } = flags;
  const self = layout.nodes.find((n) => n.name === nodeName);
  if (self === undefined) {
    fail(`node "${nodeName}" is not in the layout (${layout.nodes.map((n) => n.name).join(", ")})`);
  }
  if (self.type !== role) fail(`node "${nodeName}" is a ${self.type} in the layout, not a ${role}`);
  const nodeId = createNodeId(self.name, Deno.hostname(), Deno.pid);
  const credentials = flags.keys === undefined
    ? undefined
    : await readCredentials(resolve(flags.keys), self.name);
  const reporter = createStderrReporter(self.name);
  const shutdown = createShutdownSignal({ watchStdin: supervised });
  const start: NodeStart = {
    layout,
    self,
    nodeId,
    reporter,
    shutdown: shutdown.signal,
    onFatal: (error: unknown) => {
      reporter.error(`fatal: ${error instanceof Error ? error.stack ?? error.message : error}`);
      Deno.exit(1);
    },
    insecureWebSocket: flags.insecureWebSocket,
    credentials,
    localBus: flags.localBus,
  };
  switch (role) {
    case "worker":
      return await runWorker(start);
    case "proxy":
      return await runProxy(start);
    case "logger":
      return await runLogger(start);
    case "manager": {
      const encoder = new TextEncoder();
      return await runManager({
        ...start,
        // A layout without loggers has the manager write the files, with the logger's writing.
        openLogWriting,
        launch: (node, extraArgs) => launchSpec(node, [...launchArgs, ...extraArgs]),
        printStatus: (table) => Deno.stdout.writeSync(encoder.encode(table + "\n")),
        onChildOutput: (node, line) => {
          if (line.startsWith("{")) Deno.stdout.writeSync(encoder.encode(line + "\n"));
          else Deno.stdout.writeSync(encoder.encode(`[${node}] ${line}\n`));
        },
        onChildError: (_node, line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
        requestStop: () => shutdown.abort("weir stop"),
      });
    }
  }
}

/** The agent channel's port when `weir join` is given none: the default ZeekPort's + 2. */
const DEFAULT_AGENT_PORT = 27762;

/** `weir join CONTROL-HOST[:PORT]`: the host agent, in the foreground until SIGTERM. */
async function joinManager(args: string[], tokenFile: string | undefined, dir: string) {
  const target = args[0];
  if (target === undefined || args.length > 1) {
    fail("join takes the control host, e.g. weir join 10.0.0.1:27762 --token FILE", 2);
  }
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(target);
  const port = Number(match?.[3] ?? DEFAULT_AGENT_PORT);
  if (match === null || !(port >= 1 && port <= 65535)) {
    fail(`join: "${target}" is not HOST or HOST:PORT (IPv6 in brackets: [::1]:27762)`, 2);
  }
  const reporter = createStderrReporter("agent");
  const shutdown = createShutdownSignal({ watchStdin: false });
  const encoder = new TextEncoder();
  await runAgent({
    manager: { host: match[1] ?? match[2]!, port },
    tokenFile: tokenFile === undefined ? undefined : resolve(tokenFile),
    dir: resolve(dir),
    reporter,
    shutdown: shutdown.signal,
    launch: (node, configDir, keysDir) =>
      launchSpec(node, [
        "--config",
        configDir,
        ...(keysDir === undefined ? [] : ["--keys", keysDir]),
      ]),
    onChildOutput: (node, line) => {
      if (line.startsWith("{")) Deno.stdout.writeSync(encoder.encode(line + "\n"));
      else Deno.stdout.writeSync(encoder.encode(`[${node}] ${line}\n`));
    },
    onChildError: (_node, line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
    onReady: (nodes) =>
      Deno.stdout.writeSync(
        encoder.encode(JSON.stringify({ weir: "agent-ready", nodes, pid: Deno.pid }) + "\n"),
      ),
  });
}

/**
 * Starts a manager that outlives this process: its own session, output
 * appended to files, stdin from /dev/null (so no pipe ties it to us).
 */
function launchManagerInBackground(args: string[], stdoutFile: string, stderrFile: string) {
  const argv = [Deno.execPath(), ...selfArgs(args)];
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'out="$1"; err="$2"; shift 2; exec "$@" >>"$out" 2>>"$err" </dev/null',
      "sh",
      stdoutFile,
      stderrFile,
      ...argv,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
}

/** `weir -r FILE`: the trace job, in this process or split across worker processes. */
async function readTrace(file: string, o: {
  checksums: boolean;
  workers: string | undefined;
  filter: string | undefined;
  json: boolean;
  traceWorker: string | undefined;
  configDir: string | undefined;
}): Promise<void> {
  const workers = o.workers === undefined ? 1 : Number(o.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    fail(`--workers must be a whole number from 1 to 256: current value is "${o.workers}"`, 2);
  }
  // Workers run in their own directories: hand them absolute paths.
  const path = resolve(file);
  const configDir = o.configDir === undefined ? undefined : resolve(o.configDir);
  const layout = configDir === undefined ? undefined : await loadLayout(configDir);
  const options = {
    path,
    logDir: Deno.cwd(),
    checksums: o.checksums,
    workers,
    json: o.json,
    ...(o.filter === undefined ? {} : { filter: o.filter }),
    ...(layout === undefined ? {} : {
      localNets: layout.localNets,
      fileHashes: layout.settings.fileHashes,
      httpCapturePassword: layout.settings.httpCapturePassword,
    }),
    say: (line: string) => console.error(`weir: ${line}`),
    spawnWorker: (index: number, count: number, dir: string) => {
      const args = selfArgs([
        "-r",
        path,
        "--trace-worker",
        `${index}/${count}`,
        ...(o.checksums ? [] : ["-C"]),
        ...(o.filter === undefined ? [] : ["-f", o.filter]),
        ...(o.json ? ["--json"] : []),
        ...(configDir === undefined ? [] : ["--config", configDir]),
      ]);
      return new Deno.Command(Deno.execPath(), {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      });
    },
  };
  try {
    if (o.traceWorker !== undefined) {
      const [index, count] = o.traceWorker.split("/").map(Number);
      await runTraceWorker(options, index!, count!);
    } else {
      await runTrace(options);
    }
  } catch (error) {
    // A bad file, filter or option is the operator's to fix: the message says how.
    if (error instanceof Error && !(error instanceof TypeError)) fail(error.message);
    throw error;
  }
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        role: { type: "string" },
        node: { type: "string" },
        config: { type: "string" },
        interface: { type: "string", short: "i" },
        supervised: { type: "boolean", default: false },
        readfile: { type: "string", short: "r" },
        "no-checksums": { type: "boolean", short: "C", default: false },
        workers: { type: "string" },
        filter: { type: "string", short: "f" },
        json: { type: "boolean", default: false },
        "insecure-websocket": { type: "boolean", default: false },
        token: { type: "string" },
        dir: { type: "string" },
        keys: { type: "string" },
        "local-bus": { type: "boolean", default: false },
        "trace-worker": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    fail(`${error instanceof Error ? error.message : error}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    // deno-lint-ignore no-console
    console.log(USAGE);
    return;
  }
  if (values.version) {
    // deno-lint-ignore no-console
    console.log(`weir ${WEIR_VERSION}`);
    return;
  }
  const verb = positionals[0];
  const configDir = values.config;
  const iface = values.interface;

  if (verb === "check") {
    const layout = await readLayout(configDir, iface);
    // deno-lint-ignore no-console
    console.log(
      `weir: configuration ${layout.source} is valid: ${
        layout.nodes.map((n) => n.name).join(", ")
      }`,
    );
    // Ports only while no cluster of this layout runs: a running one holds them.
    let portProblems = 0;
    if (await controlRequest(layout, "status").catch(() => undefined) === undefined) {
      const ports = probePorts(layout);
      for (const problem of ports.problems) console.error(`weir: ${problem}`);
      portProblems = ports.problems.length;
      // deno-lint-ignore no-console
      if (portProblems === 0) {
        console.log(`weir: ${ports.checked} listening ports of this host are free`);
      }
    } else {
      // deno-lint-ignore no-console
      console.log("weir: the cluster is running; its ports were not probed");
    }
    // What start would do on this host: directories, interfaces, the WebSocket rule.
    const hostProblems = await checkHost(layout);
    for (const problem of hostProblems) console.error(`weir: ${problem}`);
    const problems = portProblems + hostProblems.length + await checkNodeScripts(
      layout.settings.siteDir,
      layout.settings.sitePolicyScripts,
      layout.nodes,
      // deno-lint-ignore no-console
      { ok: (line) => console.log(line), problem: (line) => console.error(line) },
    );
    if (problems > 0) Deno.exit(1);
    return;
  }
  if (verb === "join") {
    await joinManager(positionals.slice(1), values.token, values.dir ?? ".weir-agent");
    return;
  }
  if (verb !== undefined && (VERBS as readonly string[]).includes(verb)) {
    const layout = await readLayout(configDir, iface);
    const code = await runVerb(verb as Verb, positionals.slice(1), {
      layout,
      launchManager: (stdoutFile, stderrFile) =>
        launchManagerInBackground(
          ["--role", "manager", ...layoutArgs(configDir, iface)],
          stdoutFile,
          stderrFile,
        ),
      // deno-lint-ignore no-console
      out: (line) => console.log(line),
      // deno-lint-ignore no-console
      err: (line) => console.error(line),
    });
    Deno.exit(code);
  }
  if (verb !== undefined) fail(`unknown command "${verb}"\n\n${USAGE}`, 2);
  if (values.readfile !== undefined) {
    await readTrace(values.readfile, {
      checksums: !values["no-checksums"],
      workers: values.workers,
      filter: values.filter,
      json: values.json,
      traceWorker: values["trace-worker"],
      configDir,
    });
    return;
  }

  if (values.role !== undefined && !(ROLES as readonly string[]).includes(values.role)) {
    fail(`--role must be one of ${ROLES.join("|")}: current value is "${values.role}"`, 2);
  }
  const layout = await readLayout(configDir, iface);
  // `--node NAME` alone runs that node as the layout types it (systemd units, sensors).
  const role = (values.role ??
    (values.node === undefined
      ? "manager"
      : layout.nodes.find((n) => n.name === values.node)?.type ?? "manager")) as Role;
  const nodeName = values.node ?? (role === "manager" ? layout.manager.name : undefined);
  if (nodeName === undefined) fail(`--node NAME is required with --role ${role}`, 2);
  await runRole(role, nodeName, layout, layoutArgs(configDir, iface), {
    supervised: values.supervised,
    insecureWebSocket: values["insecure-websocket"],
    keys: values.keys,
    localBus: values["local-bus"],
  });
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    Deno.exit(0);
  } catch (error) {
    if (
      error instanceof ConfigError || error instanceof LibraryMissingError ||
      error instanceof WebSocketOptionsError || error instanceof InsecureWebSocketError ||
      error instanceof TokenFileError || error instanceof TokenFileModeError ||
      error instanceof ControlTokenError || error instanceof CredentialsError ||
      error instanceof AgentError || error instanceof ListenError ||
      error instanceof WorkerCaptureError ||
      (error instanceof ZmqError && error.operatorCaused)
    ) fail(error.message);
    throw error;
  }
}
