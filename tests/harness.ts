/**
 * Test harness for real clusters: writes a configuration with ports chosen
 * at run time, starts the manager as a real process of weir, reads its
 * output lines, and always stops what it started.
 *
 * @module
 */

import assert from "node:assert/strict";
import { findFreePortRange } from "../testing/mod.ts";

export { findFreePortRange };

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** True when `path` exists; otherwise says that `what` is skipped and which Debian package has it. */
export function toolInstalled(path: string, what: string, debianPackage: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    console.warn(`SKIPPING ${what}: ${path} is not installed (Debian package "${debianPackage}")`);
    return false;
  }
}

/** True when nothing listens on `port` of 127.0.0.1. */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

export interface TestConfig {
  readonly dir: string;
  readonly zeekPort: number;
  readonly metricsPort: number;
}

/** Writes node.cfg, weir.cfg and site scripts into a fresh temporary directory. */
export async function writeConfig(options: {
  nodeCfg: string;
  weirCfg?: string;
  site?: Record<string, string>;
}): Promise<TestConfig> {
  const dir = await Deno.makeTempDir({ prefix: "weir-test-" });
  // ZeekPort-2 and below: the log writers' acknowledgement ports.
  const base = findFreePortRange(45);
  const zeekPort = base + 5, metricsPort = zeekPort + 20;
  await Deno.writeTextFile(`${dir}/node.cfg`, options.nodeCfg);
  await Deno.writeTextFile(
    `${dir}/weir.cfg`,
    `ZeekPort = ${zeekPort}\nMetricsPort = ${metricsPort}\nWebSocketPort = ${zeekPort + 19}\n${
      options.weirCfg ?? ""
    }`,
  );
  if (options.site !== undefined) {
    await Deno.mkdir(`${dir}/site`);
    for (const [name, text] of Object.entries(options.site)) {
      await Deno.writeTextFile(`${dir}/site/${name}`, text);
    }
  }
  return { dir, zeekPort, metricsPort };
}

/** Runs `weir ARGS…` (a verb, `check`, a role that stops at once) to its end. */
export async function runWeir(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

/** One row of `weir status`. */
export interface StatusRow {
  readonly status: string;
  readonly pid: number;
  /** 0 while the table has no Restarts column. */
  readonly restarts: number;
}

/** `weir status ARGS…`: its rows by node name, and its stderr. */
export async function weirStatus(
  ...args: string[]
): Promise<{ rows: Map<string, StatusRow>; err: string }> {
  const r = await runWeir("status", ...args);
  const rows = new Map<string, StatusRow>();
  const lines = r.out.trim().split("\n");
  const restartsColumn = lines[0]!.includes("Restarts");
  for (const line of lines.slice(1)) {
    // Name Type Host Status Pid Started (three words) [Restarts]
    const f = line.trim().split(/\s+/);
    rows.set(f[0]!, {
      status: f[3]!,
      pid: Number(f[4]),
      restarts: restartsColumn ? Number(f.at(-1)) : 0,
    });
  }
  return { rows, err: r.err };
}

/** Polls `ok` every 500 ms until it holds; fails naming `what` after `ms`. */
export async function until(
  what: string,
  ok: () => Promise<boolean>,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await ok()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A running `weir` process with its output captured line by line. */
export class WeirProcess implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  #waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  #exited: Promise<Deno.CommandStatus>;

  /** `wrapper` runs weir through another command, e.g. `["ip", "netns", "exec", ns]`. */
  constructor(
    args: string[],
    options: { env?: Record<string, string>; cwd?: string; wrapper?: string[] } = {},
  ) {
    const argv = [Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args];
    const command = [...(options.wrapper ?? []), ...argv];
    this.process = new Deno.Command(command[0]!, {
      args: command.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env ?? {},
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    }).spawn();
    const out = this.#pump(this.process.stdout, (line) => {
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.predicate(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    const err = this.#pump(this.process.stderr, (line) => {
      this.errors.push(line);
      if (Deno.env.get("WEIR_TEST_VERBOSE")) console.error(line);
    });
    this.#exited = Promise.all([out, err]).then(() => this.process.status);
  }

  async #pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
    if (pending) onLine(pending);
  }

  /** JSON objects printed on stdout so far. */
  json(): Record<string, unknown>[] {
    return this.lines.filter((l) => l.startsWith("{")).flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first line (past or future) matching `predicate`. */
  waitForLine(
    predicate: (line: string) => boolean,
    what: string,
    timeoutMs = 60000,
  ): Promise<string> {
    const seen = this.lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${what}\nstderr:\n${
              this.errors.slice(-30).join("\n")
            }`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      this.#exited.then(() => {
        clearTimeout(timer);
        reject(
          new Error(
            `weir exited while waiting for ${what}\nstderr:\n${this.errors.slice(-30).join("\n")}`,
          ),
        );
      });
    });
  }

  /** Waits until `count` JSON lines satisfy `predicate`. */
  async waitForJson(
    predicate: (o: Record<string, unknown>) => boolean,
    what: string,
    count = 1,
    timeoutMs = 60000,
  ): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matches = this.json().filter(predicate);
      if (matches.length >= count) return matches;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out waiting for ${count} × ${what} (have ${matches.length})\nstderr:\n${
            this.errors.slice(-30).join("\n")
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  status(): Promise<Deno.CommandStatus> {
    return this.#exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Safe to call twice. */
  async stop(graceMs = 20000): Promise<Deno.CommandStatus> {
    try {
      this.process.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        this.process.kill("SIGKILL");
      } catch { /* gone */ }
    }, graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Pids of live processes whose command line mentions `needle` (to find leaks). */
export async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(needle) && Number(entry.name) !== Deno.pid) {
        pids.push(Number(entry.name));
      }
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

/** Kills every process mentioning `needle`; returns how many there were. */
export async function killLeftovers(needle: string): Promise<number> {
  const pids = await processesMentioning(needle);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  return pids.length;
}

/**
 * Ends a test's cluster, even a half-broken one: `weir stop`, then SIGKILL to
 * every process still mentioning its directory (stopped ones too), then the
 * directory goes.
 */
export async function tearDownCluster(dir: string): Promise<void> {
  await runWeir("stop", "--config", dir);
  await killLeftovers(dir);
  await Deno.remove(dir, { recursive: true });
}

/** Whether process `pid` is alive. */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
