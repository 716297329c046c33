/**
 * A real `nats-server -js` for tests: Debian's `nats-server` package, on a
 * loopback port chosen at run time and a store directory of its own, ready
 * when it prints that it is. `kill()` is a SIGKILL (a crash, not a shutdown)
 * and `start()` brings the same server back on the same port and store, so a
 * test can prove what survives a crash and that clients reconnect by
 * themselves.
 *
 * A missing binary skips the tests that need it only where `setup.sh` could
 * not have installed it (not root); as root `setup.sh` installs it, so there
 * (CI) the tests run and `NatsServer.open()` fails, naming the fix.
 *
 * @module
 */

import { findFreePortRange } from "./ports.ts";

/** Where Debian's `nats-server` package puts the server. */
export const NATS_SERVER = "/usr/sbin/nats-server";
const INSTALL_HINT = 'Debian package "nats-server"; as root run: bash scripts/setup.sh';
/** The line nats-server prints once it accepts clients. */
const READY_LINE = "Server is ready";
const BIND_FAILED = "address already in use";
const STARTUP_TIMEOUT_MS = 10_000;
/** How many fresh ports `open()` tries when one is taken between the probe and the bind. */
const PORT_ATTEMPTS = 3;

/**
 * Why the tests that need nats-server are skipped here, or undefined when they
 * run. As root it is always undefined: `setup.sh` installs the server there,
 * so a missing one is a broken setup the tests must report, not skip.
 */
export function natsServerUnavailable(): string | undefined {
  if (isFile(NATS_SERVER) || Deno.uid() === 0) return undefined;
  return `${NATS_SERVER} is not installed (${INSTALL_HINT})`;
}

/** One nats-server with JetStream, on 127.0.0.1; see the module doc. */
export class NatsServer implements AsyncDisposable {
  readonly port: number;
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  /** The `-sd` directory: JetStream keeps its streams under `jetstream/` in it. */
  readonly storeDir: string;
  #configFile: string | undefined;
  #child: Deno.ChildProcess | undefined;
  #reader: Promise<void> = Promise.resolve();
  #log = "";
  #disposed = false;

  private constructor(port: number, storeDir: string) {
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.storeDir = storeDir;
  }

  /**
   * Starts a server on a free port with a fresh temporary store directory.
   * `config` is nats-server configuration text (authorization, limits) for
   * what flags cannot say; the flags' address, port and store win over it.
   */
  static async open(options: { readonly config?: string } = {}): Promise<NatsServer> {
    if (!isFile(NATS_SERVER)) {
      throw new Error(
        `Cannot start nats-server: ${NATS_SERVER} is not installed (${INSTALL_HINT})`,
      );
    }
    for (let attempt = 1;; attempt++) {
      const storeDir = await Deno.makeTempDir({ prefix: "weir-nats-" });
      const server = new NatsServer(findFreePortRange(1), storeDir);
      try {
        if (options.config !== undefined) {
          server.#configFile = `${storeDir}/nats-server.conf`;
          await Deno.writeTextFile(server.#configFile, options.config);
        }
        await server.start();
        return server;
      } catch (error) {
        await server[Symbol.asyncDispose]();
        if (attempt >= PORT_ATTEMPTS || !server.log.includes(BIND_FAILED)) throw error;
      }
    }
  }

  /** Everything the server has printed, across restarts. */
  get log(): string {
    return this.#log;
  }

  /** True from `start()` until `kill()`. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server on this port and store directory; resolves once it accepts clients. */
  async start(): Promise<void> {
    if (this.#disposed) throw new Error("Cannot start a disposed NatsServer");
    if (this.#child !== undefined) throw new Error(`nats-server already runs at ${this.url}`);
    const child = new Deno.Command(NATS_SERVER, {
      args: [
        ...(this.#configFile === undefined ? [] : ["-c", this.#configFile]),
        ...["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.storeDir],
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    this.#reader = (async () => {
      let output = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        output += chunk;
        this.#log += chunk;
        if (output.includes(READY_LINE)) ready();
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      isReady.then(() => "ready" as const),
      this.#reader.then(() => "exited" as const, () => "exited" as const),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), STARTUP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === "ready") return;
    await this.kill();
    throw new Error(
      outcome === "exited"
        ? `nats-server at ${this.url} exited before it was ready:\n${this.#log}`
        : `nats-server at ${this.url} was not ready within ${STARTUP_TIMEOUT_MS} ms:\n${this.#log}`,
    );
  }

  /** SIGKILLs the server (a crash: nothing is flushed or closed) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited by itself.
    }
    await child.status;
    await this.#reader.catch(() => {});
    this.#child = undefined;
    this.#log += `--- killed ${this.url} ---\n`;
  }

  /** `kill()` then `start()`: the same port and store directory. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Kills the server and removes its store directory; safe to call twice. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.kill();
    } finally {
      await Deno.remove(this.storeDir, { recursive: true }).catch(() => {});
    }
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
