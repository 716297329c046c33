/**
 * A two-host network for live capture tests and benchmarks, made from
 * nothing on this machine: two network namespaces joined by a veth pair,
 * traffic replayed with `tcpreplay` into one end, capture probes
 * (`capture_probe.ts`) run as processes in the other. IPv6 is off in both
 * namespaces and no address is configured, so the only packets on the link
 * are the replayed ones. Offloads are off, as for Zeek, so the capture sees
 * frames as sent. Disposing removes both namespaces and with them the veth
 * pair, also after a failure half way through creation.
 *
 * Needs root, `ip` (iproute2), `ethtool` and `tcpreplay`; `labUnavailable()`
 * says which is missing.
 *
 * @module
 */

import type { ProbeResult } from "./capture_probe.ts";

const PROBE = new URL("./capture_probe.ts", import.meta.url).pathname;

/** Why a live lab cannot be built here, or undefined when it can. */
export async function labUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "live capture needs Linux";
  if (Deno.uid() !== 0) return "live capture tests need root (network namespaces, CAP_NET_RAW)";
  for (const tool of ["ip", "ethtool", "tcpreplay"]) {
    try {
      await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
        .output()
        .then((o) => {
          if (!o.success) throw new Error(tool);
        });
    } catch {
      return `live capture tests need \`${tool}\` (apt-get install ${
        tool === "ip" ? "iproute2" : tool
      })`;
    }
  }
  return undefined;
}

/** Runs a command; throws with its stderr when it fails. */
export async function run(command: string, args: readonly string[]): Promise<string> {
  const out = await new Deno.Command(command, { args: [...args], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed (status ${out.code}): ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return text;
}

/** Adds network namespace `ns` with IPv6 off, so only the packets a test sends are on its links. */
export async function addNamespace(ns: string): Promise<void> {
  await run("ip", ["netns", "add", ns]);
  await run("ip", [
    "netns",
    "exec",
    ns,
    "sysctl",
    "-qw",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
  ]);
}

/** Turns off GRO, GSO and TSO on `dev` in `ns`, as for Zeek: captures see frames as sent. */
export async function offloadsOff(ns: string, dev: string): Promise<void> {
  await run("ip", [
    "netns",
    "exec",
    ns,
    "ethtool",
    "-K",
    dev,
    "gro",
    "off",
    "gso",
    "off",
    "tso",
    "off",
  ]);
}

/** What `tcpreplay` reported. */
export interface ReplayResult {
  readonly sent: number;
  readonly failed: number;
  /** Packets per second tcpreplay reached. */
  readonly pps: number;
  readonly output: string;
}

/** How to replay. */
export interface ReplayOptions {
  /** Packets per second; omitted means `--topspeed`. */
  readonly pps?: number;
  /** Times to send the file (default 1). */
  readonly loop?: number;
}

/** The two namespaces and the veth between them; see the module doc. */
export class VethLab implements AsyncDisposable {
  readonly senderNs: string;
  readonly captureNs: string;
  readonly senderDevice: string;
  readonly captureDevice: string;
  #disposed = false;

  private constructor(id: string) {
    this.senderNs = `weir-tx-${id}`;
    this.captureNs = `weir-rx-${id}`;
    this.senderDevice = `wtx${id}`;
    this.captureDevice = `wrx${id}`;
  }

  /** Creates the namespaces and the link; `queues` gives both ends that many RX and TX queues. */
  static async create(options: { readonly queues?: number } = {}): Promise<VethLab> {
    const id = `${Deno.pid % 10000}${Math.floor(Math.random() * 1296).toString(36)}`;
    const lab = new VethLab(id);
    try {
      await lab.#build(options.queues ?? 1);
      return lab;
    } catch (error) {
      await lab[Symbol.asyncDispose]();
      throw error;
    }
  }

  async #build(queues: number): Promise<void> {
    const q = queues > 1 ? ["numtxqueues", String(queues), "numrxqueues", String(queues)] : [];
    for (const ns of [this.senderNs, this.captureNs]) await addNamespace(ns);
    await run("ip", [
      "link",
      "add",
      this.senderDevice,
      ...q,
      "netns",
      this.senderNs,
      "type",
      "veth",
      "peer",
      "name",
      this.captureDevice,
      ...q,
      "netns",
      this.captureNs,
    ]);
    for (
      const [ns, dev] of [[this.senderNs, this.senderDevice], [
        this.captureNs,
        this.captureDevice,
      ]] as const
    ) {
      await offloadsOff(ns, dev);
      await run("ip", ["-n", ns, "link", "set", dev, "up"]);
    }
  }

  /** Runs a command inside the capture namespace. */
  inCapture(command: string, args: readonly string[]): Promise<string> {
    return run("ip", ["netns", "exec", this.captureNs, command, ...args]);
  }

  /** Sets the capture end down (or up again). */
  async setCaptureLink(up: boolean): Promise<void> {
    await run("ip", ["-n", this.captureNs, "link", "set", this.captureDevice, up ? "up" : "down"]);
  }

  /** Replays `pcap` from the sender end with `tcpreplay`. */
  async replay(pcap: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const rate = options.pps === undefined ? ["--topspeed"] : ["--pps", String(options.pps)];
    const output = await run("ip", [
      "netns",
      "exec",
      this.senderNs,
      "tcpreplay",
      "-K",
      "-i",
      this.senderDevice,
      ...rate,
      "--loop",
      String(options.loop ?? 1),
      pcap,
    ]);
    const number = (re: RegExp) => Number(re.exec(output)?.[1]?.replaceAll(",", "") ?? NaN);
    return Object.freeze({
      sent: number(/Successful packets:\s+([\d,]+)/),
      failed: number(/Failed packets:\s+([\d,]+)/),
      pps: number(/Rated:.*?([\d.]+) pps/),
      output,
    });
  }

  /**
   * Starts a capture probe process in the capture namespace; `args` as
   * `capture_probe.ts` takes them, `wrapper` a command that runs it (e.g.
   * `setpriv` to drop capabilities).
   */
  startProbe(args: readonly string[], wrapper: readonly string[] = []): ProbeProcess {
    return new ProbeProcess(this.captureNs, args, wrapper);
  }

  /** Removes both namespaces (and so the veth pair). Idempotent; never throws. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const ns of [this.senderNs, this.captureNs]) {
      await new Deno.Command("ip", { args: ["netns", "del", ns], stdout: "null", stderr: "null" })
        .output();
    }
  }
}

/** A running `capture_probe.ts`, read line by line. */
export class ProbeProcess implements AsyncDisposable {
  readonly out: string;
  readonly process: Deno.ChildProcess;
  /** The last `progress` count. */
  progress = 0;
  /** CPU ticks at `ready`. */
  readyTicks = -1;
  readonly lines: string[] = [];
  readonly #stderr: Promise<string>;
  readonly #reader: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(ns: string, args: readonly string[], wrapper: readonly string[] = []) {
    this.out = Deno.makeTempFileSync({ prefix: "weir-probe-", suffix: ".json" });
    this.process = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        ...wrapper,
        Deno.execPath(),
        "run",
        "-A",
        PROBE,
        ...args,
        "--out",
        this.out,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stderr = new Response(this.process.stderr).text();
    this.#reader = this.#read();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.process.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        this.lines.push(line);
        if (line.startsWith("progress ")) this.progress = Number(line.slice(9));
        if (line.startsWith("ready ")) this.readyTicks = Number(line.slice(6));
        this.#wake?.();
      }
    }
    this.#wake?.();
  }

  /** Resolves when a line satisfies `predicate`; rejects after `timeoutMs` or when the process ends first. */
  async waitFor(predicate: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let seen = 0;
    let ended = false;
    this.#reader.then(() => (ended = true));
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        if (predicate(this.lines[seen]!)) return this.lines[seen]!;
      }
      if (ended) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    throw new Error(
      `capture probe: no expected line within ${timeoutMs} ms; output: ${this.lines.join(" | ")}${
        ended ? ` | stderr: ${(await this.#stderr).trim()}` : ""
      }`,
    );
  }

  /** Waits for `ready`; throws the probe's own error line when it failed to open. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const line = await this.waitFor(
      (l) => l.startsWith("ready ") || l.startsWith("error "),
      timeoutMs,
    );
    if (line.startsWith("error ")) throw new Error(`capture probe failed: ${line.slice(6)}`);
  }

  /** Closes stdin, waits for the result and the exit. */
  async finish(timeoutMs = 20_000): Promise<ProbeResult> {
    await this.process.stdin.close();
    await this.waitFor((l) => l === "done", timeoutMs);
    await this.process.status;
    const result = JSON.parse(await Deno.readTextFile(this.out)) as ProbeResult;
    await Deno.remove(this.out).catch(() => {});
    return result;
  }

  /** Kills the probe if it still runs and removes its result file. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.process.status;
    await this.#reader.catch(() => {});
    await this.#stderr.catch(() => "");
    await Deno.remove(this.out).catch(() => {});
  }
}

/** Waits until `probes`' progress adds up to `total` (or `timeoutMs` passes); returns the sum. */
export async function waitForTotal(
  probes: readonly ProbeProcess[],
  total: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let sum = 0;
  while (performance.now() < deadline) {
    sum = probes.reduce((s, p) => s + p.progress, 0);
    if (sum >= total) return sum;
    await new Promise((r) => setTimeout(r, 50));
  }
  return sum;
}
