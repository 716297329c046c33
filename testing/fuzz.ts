/**
 * The standing fuzz guard (issue 17): seeded mutations of what weir reads
 * from outside, run through the real parsers. Five targets:
 *
 * - `trace`: pcap and pcapng files (generated ones, and the corpus's when
 *   `../shared` is there) through the file reader and the whole packet
 *   pipeline with every analyzer;
 * - `bus`: broker-bin-v1 event payloads through `decodeEvent`;
 * - `json`: WebSocket data messages through the JSON codec;
 * - `ws`: client byte streams through the WebSocket frame reader;
 * - `config`: node.cfg, weir.cfg and networks.cfg through their parsers.
 *
 * Each parser may refuse an input only with its own error (a
 * `TraceFormatError`, a `BrokerDecodeError`, a `WebSocketProtocolError`,
 * a problem list); anything else is an escaping exception. An input that
 * takes longer than a time limit is a hang; a heap that keeps growing from
 * the first quarter of the run to its end is a leak. The seed is printed
 * and reruns the same inputs.
 *
 * @module
 */

import { mulberry32 } from "./prng.ts";
import { generateTraceBytes } from "./generate.ts";
import { DEFAULT_APPS_CORPUS_DIR } from "./apps_corpus.ts";
import { openPcapFile, TraceFormatError, TraceOpenError } from "../capture/mod.ts";
import {
  BrokerDecodeError,
  ByteWriter,
  decodeEvent,
  decodeJsonEvent,
  encodeEvent,
  encodeJsonEvent,
  parseBrokerJson,
} from "../mod/codec/mod.ts";
import { FrameReader, WebSocketProtocolError } from "../mod/api/websocket/mod.ts";
import { parseNetworksCfg, parseNodeCfg, parseWeirCfg, Problems } from "../config/mod.ts";
import { LogRegistry } from "../mod/log/mod.ts";
import { PacketPipeline, weirAnalyzers } from "../mod/pipeline/mod.ts";
import { createAnalyzerStage } from "../mod/analysis/framework/mod.ts";
import { ReassemblyMemory } from "../mod/analysis/tcp/mod.ts";
import { WeirdLog } from "../mod/analysis/weird/mod.ts";
import { T, type ZeekType } from "../zeek/mod.ts";

export const FUZZ_TARGETS = ["trace", "bus", "json", "ws", "config"] as const;
export type FuzzTarget = (typeof FUZZ_TARGETS)[number];

/** What one target's run found. */
export interface FuzzReport {
  readonly target: FuzzTarget;
  readonly seed: number;
  readonly inputs: number;
  /** Inputs the parser refused with its own error. */
  readonly refused: number;
  readonly seconds: number;
  /** Heap after a collection at a quarter of the run and at its end, bytes. */
  readonly heapQuarter: number;
  readonly heapEnd: number;
  /** The first escaping exception, hang or leak (undefined when none). */
  readonly failure: string | undefined;
}

/** Options of a run. */
export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** One input may take this long (default 5 s). */
  readonly hangMs?: number;
  /** Allowed heap growth from the first quarter to the end (default 64 MiB). */
  readonly heapSlack?: number;
  /** Progress lines (every tenth of the run). */
  readonly progress?: (line: string) => void;
}

type Rand = () => number;

/** Mutates `base`: bit flips, overwritten lengths, inserted, deleted and random bytes, truncation. */
export function mutateBytes(base: Uint8Array, rand: Rand, keepPrefix = 0): Uint8Array {
  let d = base.slice();
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const span = d.length - keepPrefix;
    const pos = keepPrefix + Math.floor(rand() * (span + 1));
    switch (Math.floor(rand() * 6)) {
      case 0:
        for (let k = 0; k < 1 + rand() * 8 && d.length > keepPrefix; k++) {
          d[keepPrefix + Math.floor(rand() * span)]! ^= 1 << Math.floor(rand() * 8);
        }
        break;
      case 1: { // a 16- or 32-bit field overwritten: 0, small, huge
        if (span < 4) break;
        const p = keepPrefix + Math.floor(rand() * (span - 3));
        const v = [0, 1, 0xffff, 0x7fffffff, 0xffffffff, Math.floor(rand() * 2 ** 32)][
          Math.floor(rand() * 6)
        ]!;
        new DataView(d.buffer, d.byteOffset).setUint32(p, v >>> 0, rand() < 0.5);
        break;
      }
      case 2: {
        const r = new Uint8Array(1 + Math.floor(rand() * 64));
        for (let k = 0; k < r.length; k++) r[k] = Math.floor(rand() * 256);
        const out = new Uint8Array(d.length + r.length);
        out.set(d.subarray(0, pos));
        out.set(r, pos);
        out.set(d.subarray(pos), pos + r.length);
        d = out;
        break;
      }
      case 3: {
        const end = Math.min(d.length, pos + 1 + Math.floor(rand() * 64));
        const out = new Uint8Array(d.length - (end - pos));
        out.set(d.subarray(0, pos));
        out.set(d.subarray(end), pos);
        d = out;
        break;
      }
      case 4:
        d = d.subarray(0, pos);
        break;
      default: {
        // A chunk repeated (a retransmission, a doubled record).
        const len = Math.min(d.length - pos, 1 + Math.floor(rand() * 256));
        const out = new Uint8Array(d.length + len);
        out.set(d.subarray(0, pos + len));
        out.set(d.subarray(pos, pos + len), pos + len);
        out.set(d.subarray(pos + len), pos + 2 * len);
        d = out;
      }
    }
  }
  return d;
}

function settledHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

/** A target: its seed inputs, and how one input goes through the parser (true: refused). */
interface Target {
  readonly seeds: readonly Uint8Array[];
  run(input: Uint8Array): Promise<boolean> | boolean;
  close?(): Promise<void>;
}

const text = new TextEncoder();
const untext = new TextDecoder();

async function traceTarget(): Promise<Target> {
  const seeds: Uint8Array[] = [];
  for (const [seed, format] of [[1, "pcap"], [2, "pcapng"], [3, "pcap"]] as const) {
    seeds.push((await generateTraceBytes({ flows: 12, seed, format, packetsPerFlow: 10 })).bytes);
  }
  // The corpus's small pcaps (TLS, DNS, HTTP, STARTTLS), when ../shared is there.
  try {
    for (const c of Deno.readDirSync(DEFAULT_APPS_CORPUS_DIR)) {
      if (!c.isDirectory) continue;
      for (const f of Deno.readDirSync(`${DEFAULT_APPS_CORPUS_DIR}/${c.name}`)) {
        const file = `${DEFAULT_APPS_CORPUS_DIR}/${c.name}/${f.name}`;
        if (f.name.endsWith(".pcap") && Deno.statSync(file).size < 32 * 1024) {
          seeds.push(Deno.readFileSync(file));
        }
      }
    }
  } catch {
    // No corpus: the generated traces alone.
  }
  const dir = await Deno.makeTempDir({ prefix: "weir-fuzz-" });
  const path = `${dir}/input.pcap`;
  return {
    seeds,
    async run(input) {
      await Deno.writeFile(path, input);
      // As `weir -r` builds them: one set of analyzers per run.
      const analyzers = weirAnalyzers();
      const logs = new LogRegistry();
      const pipeline = new PacketPipeline({
        checksums: false,
        weirds: new WeirdLog({ logs }),
        sessions: { logs },
        analyzers: createAnalyzerStage({ analyzers, logs, reassembly: new ReassemblyMemory() }),
      });
      try {
        await using source = await openPcapFile(path);
        await pipeline.run(source);
        pipeline.flush();
        return false;
      } catch (error) {
        if (error instanceof TraceFormatError || error instanceof TraceOpenError) return true;
        throw error;
      } finally {
        for (const spec of analyzers) spec.finish?.();
      }
    },
    async close() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const BUS_TYPES: ZeekType[] = [T.string, T.count, T.vector(T.string), T.addr, T.port, T.time];
const lookupTypes = (name: string) => name === "Fuzz::ev" ? BUS_TYPES : undefined;

function busTarget(): Target {
  const w = new ByteWriter();
  encodeEvent(w, "Fuzz::ev", [
    "hello",
    42,
    ["a", "b"],
    "10.0.0.1",
    "80/tcp",
    1_700_000_000.5,
  ], BUS_TYPES);
  return {
    seeds: [w.bytes().slice()],
    run(input) {
      try {
        decodeEvent(input, lookupTypes);
        return false;
      } catch (error) {
        if (error instanceof BrokerDecodeError) return true;
        throw error;
      }
    },
  };
}

function jsonTarget(): Target {
  const message = encodeJsonEvent(
    "zeek.fuzz.",
    "Fuzz::ev",
    [
      "hello",
      42,
      ["a"],
      "10.0.0.1",
      "80/tcp",
      1_700_000_000.5,
    ],
    BUS_TYPES,
    null,
  );
  return {
    seeds: [text.encode(JSON.stringify(message))],
    run(input) {
      let parsed: unknown;
      try {
        parsed = parseBrokerJson(untext.decode(input));
      } catch (error) {
        if (error instanceof BrokerDecodeError) return true;
        throw error;
      }
      return !decodeJsonEvent(parsed, lookupTypes).ok;
    },
  };
}

function wsTarget(): Target {
  const frame = (opcode: number, payload: Uint8Array, fin = true) => {
    const mask = Uint8Array.of(1, 2, 3, 4);
    const header = payload.length < 126
      ? [(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]
      : [(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
    const out = new Uint8Array(header.length + 4 + payload.length);
    out.set(header);
    out.set(mask, header.length);
    for (let i = 0; i < payload.length; i++) {
      out[header.length + 4 + i] = payload[i]! ^ mask[i & 3]!;
    }
    return out;
  };
  const stream = new Uint8Array([
    ...frame(1, text.encode('["zeek."]')),
    ...frame(1, text.encode('{"type":"data-message"'), false),
    ...frame(0, text.encode(',"topic":"x"}')),
    ...frame(9, text.encode("ping")),
    ...frame(2, new Uint8Array(300).fill(65)),
    ...frame(8, Uint8Array.of(3, 232)),
  ]);
  return {
    seeds: [stream],
    run(input) {
      const reader = new FrameReader(64 * 1024);
      try {
        // Delivered in two pieces, as TCP may.
        const cut = input.length >> 1;
        reader.push(input.subarray(0, cut));
        while (reader.next() >= 0);
        reader.push(input.subarray(cut));
        while (reader.next() >= 0);
        return false;
      } catch (error) {
        if (error instanceof WebSocketProtocolError) return true;
        throw error;
      }
    },
  };
}

function configTarget(): Target {
  const nodeCfg =
    "[manager]\ntype=manager\nhost=localhost\n\n[logger-1]\ntype=logger\nhost=localhost\n\n" +
    "[worker-1]\ntype=worker\nhost=localhost\ninterface=af_packet::eth0\nlb_method=af_packet\n" +
    "lb_procs=4\npin_cpus=0,1\naf_packet_fanout_mode=hash\nenv_vars=A=1,B=2\naux_scripts=a.ts\n";
  const weirCfg = "ZeekPort = 27760\nMetricsPort = 9991\nLogRotationInterval = 3600\n" +
    "LogExpireInterval = 30day\nWebSocketHost = 127.0.0.1\nFileHashes = md5, sha1\n" +
    "SitePolicyScripts = local.ts\nEnv_Vars = X=1\nLogSpoolSize = 1G\n";
  const networksCfg = "10.0.0.0/8 private\n192.168.0.0/16\n2001:db8::/32 docs\n";
  const places = { file: "weir.cfg", configDir: "/etc/weir", stateDir: "/var/lib/weir" };
  // The first byte says which file the rest is (kept by the mutations).
  const tagged = (kind: number, body: string) => new Uint8Array([kind, ...text.encode(body)]);
  return {
    seeds: [tagged(0, nodeCfg), tagged(1, weirCfg), tagged(2, networksCfg)],
    run(input) {
      const source = untext.decode(input.subarray(1));
      const problems = new Problems();
      const kind = (input[0] ?? 0) % 3;
      if (kind === 0) parseNodeCfg(source, "node.cfg", problems);
      else if (kind === 1) parseWeirCfg(source, places, problems);
      else parseNetworksCfg(source, "networks.cfg", problems);
      return problems.count > 0;
    },
  };
}

async function openTarget(target: FuzzTarget): Promise<Target> {
  switch (target) {
    case "trace":
      return await traceTarget();
    case "bus":
      return busTarget();
    case "json":
      return jsonTarget();
    case "ws":
      return wsTarget();
    case "config":
      return configTarget();
  }
}

/** Runs `options.inputs` mutated inputs of `target` through its parser. */
export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const t = await openTarget(target);
  const rand = mulberry32(options.seed);
  const hangMs = options.hangMs ?? 5000;
  const slack = options.heapSlack ?? 64 * 2 ** 20;
  const started = performance.now();
  let refused = 0;
  let heapQuarter = 0;
  let failure: string | undefined;
  // A trace's file header is kept most of the time, so the records get mutated.
  const keep = target === "trace" ? 24 : target === "config" ? 1 : 0;
  try {
    for (let n = 0; n < options.inputs && failure === undefined; n++) {
      const base = t.seeds[Math.floor(rand() * t.seeds.length)]!;
      const input = mutateBytes(base, rand, target === "config" || rand() < 0.9 ? keep : 0);
      const at = performance.now();
      try {
        if (await t.run(input)) refused++;
      } catch (error) {
        failure = `input ${n} escaped with ${
          error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        }`;
        break;
      }
      const took = performance.now() - at;
      if (took > hangMs) failure = `input ${n} took ${took.toFixed(0)} ms (a hang)`;
      if (n === Math.floor(options.inputs / 4)) heapQuarter = settledHeap();
      if (options.progress !== undefined && n > 0 && n % Math.max(1, options.inputs / 10) === 0) {
        options.progress(`${target}: ${n} inputs, ${refused} refused`);
      }
    }
  } finally {
    await t.close?.();
  }
  const heapEnd = settledHeap();
  if (failure === undefined && heapQuarter > 0 && heapEnd > heapQuarter + slack) {
    failure = `the heap grew from ${heapQuarter} to ${heapEnd} bytes`;
  }
  return {
    target,
    seed: options.seed,
    inputs: options.inputs,
    refused,
    seconds: (performance.now() - started) / 1000,
    heapQuarter,
    heapEnd,
    failure,
  };
}

/** One line of a report. */
export function formatFuzzReport(r: FuzzReport): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  return `${
    r.target.padEnd(6)
  } seed ${r.seed}: ${r.inputs} inputs, ${r.refused} refused by the parser, ` +
    `${r.seconds.toFixed(1)} s, heap ${mib(r.heapQuarter)} → ${mib(r.heapEnd)} MiB: ${
      r.failure ?? "ok"
    }`;
}
