/**
 * Benchmark P2: live capture over a veth pair in network namespaces made
 * for the run (`live_lab.ts`). tcpreplay sends a generated trace of small
 * frames as fast as it can; two capture probes (separate processes, one
 * AF_PACKET hash fanout group, each decoding and flow-hashing every packet)
 * and `tcpdump -i … -w /dev/null` capture the same traffic at the same
 * time. Each reader's CPU time comes from `/proc/<pid>/stat` (every thread
 * of the process, 10 ms ticks) and is divided by the packets it read. The
 * run is repeated with Zeek's 32 KiB blocks and with 1 MiB blocks.
 *
 *   deno run -A bench/live.ts      # prints the table (root only)
 *
 * @module
 */

import {
  cpuTicksFromStat,
  generateTrace,
  labUnavailable,
  type ProbeProcess,
  type ProbeResult,
  VethLab,
  waitForTotal,
} from "../testing/mod.ts";

/** How to run the benchmark. */
export interface LiveBenchOptions {
  /** Flows in the trace (default 20 000). */
  readonly flows?: number;
  /** Packets per flow (default 10). */
  readonly packetsPerFlow?: number;
  /** How often tcpreplay sends the trace (default 10). */
  readonly loops?: number;
  /** Block sizes to compare (default 32 KiB, Zeek's, and 1 MiB). */
  readonly blockSizes?: readonly number[];
  /** Capture workers (default 2). */
  readonly workers?: number;
}

const TICKS_PER_SECOND = 100;

interface ReaderFigures {
  readonly packets: number;
  readonly drops: number;
  readonly cpuSeconds: number;
}

function nsPerPacket(r: ReaderFigures): string {
  return r.packets > 0 ? `${((r.cpuSeconds * 1e9) / r.packets).toFixed(0)} ns/pkt` : "–";
}

function describe(label: string, r: ReaderFigures): string {
  return `${label} ${r.packets} pkts, ${nsPerPacket(r)} (cpu ${r.cpuSeconds.toFixed(2)} s), ` +
    `drops ${r.drops}`;
}

async function readStat(pid: number): Promise<number> {
  return cpuTicksFromStat(await Deno.readTextFile(`/proc/${pid}/stat`));
}

/** tcpdump in the capture namespace, with its CPU ticks from when it started listening. */
class Tcpdump implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly #stderr: ReadableStreamDefaultReader<string>;
  #text = "";
  #startTicks = 0;

  constructor(lab: VethLab) {
    this.process = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        lab.captureNs,
        "tcpdump",
        "-i",
        lab.captureDevice,
        "-n",
        "-w",
        "/dev/null",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#stderr = this.process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  }

  async ready(): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (!this.#text.includes("listening on")) {
      if (performance.now() > deadline) throw new Error(`tcpdump did not start: ${this.#text}`);
      const { value, done } = await this.#stderr.read();
      if (done) throw new Error(`tcpdump exited: ${this.#text}`);
      this.#text += value;
    }
    this.#startTicks = await readStat(this.process.pid);
  }

  /** Reads its CPU time, stops it and parses its closing counts. */
  async finish(): Promise<ReaderFigures> {
    const ticks = (await readStat(this.process.pid)) - this.#startTicks;
    this.process.kill("SIGINT");
    for (;;) {
      const { value, done } = await this.#stderr.read();
      if (done) break;
      this.#text += value;
    }
    await this.process.status;
    const count = (re: RegExp) => Number(re.exec(this.#text)?.[1] ?? NaN);
    return {
      packets: count(/(\d+) packets captured/),
      drops: count(/(\d+) packets dropped by kernel/),
      cpuSeconds: ticks / TICKS_PER_SECOND,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // already stopped
    }
    await this.process.status;
  }
}

function probeFigures(r: ProbeResult): ReaderFigures {
  return {
    packets: r.received,
    drops: r.stats.dropped,
    cpuSeconds: (r.cpuTicksEnd - r.cpuTicksReady) / r.clockTicksPerSecond,
  };
}

async function runOnce(
  lab: VethLab,
  trace: string,
  loops: number,
  blockSize: number,
  workers: number,
  fanoutId: number,
): Promise<string> {
  const probes: ProbeProcess[] = [];
  await using tcpdump = new Tcpdump(lab);
  try {
    for (let w = 0; w < workers; w++) {
      probes.push(lab.startProbe([
        "--interface",
        `af_packet::${lab.captureDevice}`,
        "--mode",
        "count",
        "--fanout-id",
        String(fanoutId),
        "--block-size",
        String(blockSize),
      ]));
    }
    await Promise.all([...probes.map((p) => p.ready()), tcpdump.ready()]);
    const replay = await lab.replay(trace, { loop: loops });
    await waitForTotal(probes, replay.sent, 30_000);
    // tcpdump's libpcap hands over a block after its 1 s buffer timeout at the latest.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const reference = await tcpdump.finish();
    const results: ProbeResult[] = [];
    for (const p of probes) results.push(await p.finish());
    const size = blockSize >= 1 << 20 ? `${blockSize >> 20} MiB` : `${blockSize >> 10} KiB`;
    const parts = results.map((r, w) => describe(`worker-${w + 1}`, probeFigures(r)));
    return `${`P2 live capture, ${workers} workers, ${size} blocks`.padEnd(42)} ` +
      `sent ${replay.sent} at ${Math.round(replay.pps)} pps | ${parts.join(" | ")} | ${
        describe("tcpdump -w /dev/null:", reference)
      }`;
  } finally {
    for (const p of probes) await p[Symbol.asyncDispose]();
  }
}

/**
 * Runs P2 and returns its table rows (one per block size), or one row
 * saying why it was skipped.
 */
export async function benchLiveCapture(options: LiveBenchOptions = {}): Promise<string[]> {
  const reason = await labUnavailable();
  if (reason !== undefined) return [`P2 live capture: skipped (${reason})`];
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-live-" });
  try {
    const trace = `${dir}/small-frames.pcap`;
    await generateTrace(trace, {
      flows: options.flows ?? 20_000,
      packetsPerFlow: options.packetsPerFlow ?? 10,
      udpShare: 0.5,
      icmpShare: 0,
      payloadMin: 0,
      payloadMax: 32,
      seed: 2,
    });
    await using lab = await VethLab.create();
    const rows: string[] = [];
    let fanoutId = 4600;
    for (const blockSize of options.blockSizes ?? [32 * 1024, 1024 * 1024]) {
      rows.push(
        await runOnce(lab, trace, options.loops ?? 10, blockSize, options.workers ?? 2, fanoutId++),
      );
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  for (const row of await benchLiveCapture()) console.log(row);
}
