/**
 * Fuzzes `TcpStreams` with mutations of real TCP flows: the conformance
 * corpus's traces when they are there, generated flows otherwise. Prints
 * its seed; `WEIR_FUZZ_SEED=<seed>` reruns the same inputs, and
 * `WEIR_FUZZ_INPUT=<n>` only input n of them.
 */

import assert from "node:assert/strict";
import {
  DecodedPacket,
  formatAddress,
  openPcapFile,
  OUTCOME_IP,
  PacketDecoder,
} from "../../../capture/mod.ts";
import { generateTraceBytes } from "../../../testing/mod.ts";
import {
  type FuzzDone,
  type FuzzFailure,
  type FuzzProgress,
  type FuzzRequest,
  type FuzzSegment,
  PROGRESS_EVERY,
  runFuzz,
} from "./_fuzz_worker.ts";

const INPUTS = 100_000;
/** No word from the worker for this long: it hangs. */
const HANG_MS = 10_000;
const CORPUS = new URL("../../../../shared/conformance/", import.meta.url);

async function* traces(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* traces(path);
    else if (/\.(pcap|pcapng|trace)$/.test(entry.name)) yield path;
  }
}

/** The TCP flows of one trace file, each packet's fields and payload copied out. */
async function flowsOf(
  path: string,
  into: Map<string, { first: string; segs: FuzzSegment[] }>,
): Promise<void> {
  await using source = await openPcapFile(path);
  const decoder = new PacketDecoder({ checksums: false });
  const d = new DecodedPacket();
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    for (let i = 0; i < batch.count; i++) {
      if (decoder.decode(batch, i, d) !== OUTCOME_IP || d.proto !== 6) continue;
      const a = `${formatAddress(d.addr, 0)}:${d.srcPort}`;
      const b = `${formatAddress(d.addr, 4)}:${d.dstPort}`;
      const key = `${path} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
      let flow = into.get(key);
      if (flow === undefined) into.set(key, flow = { first: a, segs: [] });
      const captured = Math.max(0, Math.min(d.payloadLen, d.payloadCaplen));
      const payload = new Uint8Array(d.payloadLen);
      payload.set(d.data.subarray(d.payloadOffset, d.payloadOffset + captured));
      flow.segs.push({
        orig: a === flow.first,
        seq: d.tcpSeq,
        ack: d.tcpAck,
        flags: d.tcpFlags,
        payload,
        caplen: captured,
      });
    }
  }
}

/** Real flows: the conformance corpus's TCP traffic, or generated flows when it is absent. */
async function loadFlows(): Promise<{ flows: FuzzSegment[][]; origin: string }> {
  const found = new Map<string, { first: string; segs: FuzzSegment[] }>();
  let files = 0;
  for (const sub of ["zeek-conn", "zeek-apps"]) {
    let dir: string;
    try {
      dir = new URL(sub, CORPUS).pathname;
      await Deno.stat(dir);
    } catch {
      continue;
    }
    for await (const path of traces(dir)) {
      try {
        await flowsOf(path, found);
        files++;
      } catch {
        // A trace the reader does not take (gzip, odd link types) is simply not used.
      }
    }
  }
  let flows = [...found.values()].map((f) => f.segs).filter((f) => f.length >= 2);
  if (flows.length > 0) return { flows, origin: `${files} corpus traces` };
  const { bytes } = await generateTraceBytes({
    flows: 300,
    packetsPerFlow: 30,
    udpShare: 0,
    icmpShare: 0,
    payloadMax: 1200,
    seed: 7,
  });
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, bytes);
    await flowsOf(path, found);
  } finally {
    await Deno.remove(path);
  }
  flows = [...found.values()].map((f) => f.segs).filter((f) => f.length >= 2);
  return { flows, origin: "generated flows (corpus absent)" };
}

function seedFromEnv(): number {
  const text = Deno.env.get("WEIR_FUZZ_SEED");
  if (text === undefined) return (Math.random() * 0x1_0000_0000) >>> 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new RangeError(
      `WEIR_FUZZ_SEED must be a whole number 0 … 4294967295: current value is "${text}"`,
    );
  }
  return n;
}

Deno.test("fuzz: 100,000 mutated real TCP flows keep TcpStreams consistent and bounded", async () => {
  const seed = seedFromEnv();
  const only = Deno.env.get("WEIR_FUZZ_INPUT");
  const { flows, origin } = await loadFlows();
  assert.ok(flows.length > 0, "no TCP flows to fuzz with");
  console.log(
    `fuzz: seed ${seed} (rerun: WEIR_FUZZ_SEED=${seed}), ${flows.length} flows from ${origin}`,
  );

  if (only !== undefined) {
    const done = runFuzz({ seed, inputs: 1, first: Number(only), flows }, () => {});
    console.log(`fuzz: input ${only}:`, done);
    return;
  }

  const started = performance.now();
  const worker = new Worker(new URL("./_fuzz_worker.ts", import.meta.url), { type: "module" });
  let done = 0;
  try {
    const result = await new Promise<FuzzDone>((resolve, reject) => {
      let watchdog: ReturnType<typeof setTimeout> | undefined = undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          reject(
            new Error(
              `fuzz hangs: no progress for ${HANG_MS} ms in inputs ${done} … ${
                done + PROGRESS_EVERY - 1
              } ` +
                `(seed ${seed}; replay one input with WEIR_FUZZ_SEED=${seed} WEIR_FUZZ_INPUT=<n>)`,
            ),
          );
        }, HANG_MS);
      };
      worker.onmessage = (ev: MessageEvent<FuzzProgress | FuzzDone | FuzzFailure>) => {
        const m = ev.data;
        if (m.kind === "progress") {
          done = m.done;
          arm();
        } else {
          clearTimeout(watchdog);
          if (m.kind === "done") resolve(m);
          else {
            reject(
              new Error(
                `fuzz failed (seed ${seed}; rerun: WEIR_FUZZ_SEED=${seed} WEIR_FUZZ_INPUT=${m.input}): ${m.message}`,
              ),
            );
          }
        }
      };
      worker.onerror = (e) => {
        clearTimeout(watchdog);
        e.preventDefault();
        reject(new Error(`fuzz worker crashed (seed ${seed}) after input ${done}: ${e.message}`));
      };
      arm();
      worker.postMessage({ seed, inputs: INPUTS, first: 0, flows } satisfies FuzzRequest);
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `fuzz: ${result.inputs} inputs, ${result.packets} packets in ${seconds.toFixed(1)} s ` +
        `(slowest input ${result.slowestMs.toFixed(1)} ms); delivered ${result.delivered} B, ` +
        `${result.gaps} gaps, cut ${result.cutBytes} B, peak held ${result.peakHeld} B, weirds ` +
        JSON.stringify(result.weirds),
    );
    assert.equal(result.inputs, INPUTS);
    assert.ok(result.delivered > 0 && result.gaps > 0 && result.cutBytes > 0);
  } finally {
    worker.terminate();
  }
});
