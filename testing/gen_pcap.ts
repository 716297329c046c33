/**
 * Writes a synthetic trace for tests and benchmarks and prints its ground
 * truth.
 *
 *   deno run -A testing/gen_pcap.ts --flows 10000 --packets-per-flow 10 --out x.pcap \
 *     [--ipv6-share 0.2] [--vlan-share 0.1] [--fragments-share 0.01] \
 *     [--format pcap|pcap-ns|pcapng] [--seed N] [--truth truth.json]
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { TraceWriteFormat } from "../capture/mod.ts";
import { type GenerateOptions, generateTrace, type TraceTruth } from "./generate.ts";

const USAGE = `usage: gen_pcap.ts --out FILE [options]
  --flows N               flows to generate (default 100)
  --packets-per-flow N    packets per flow (default 10; TCP needs 6)
  --ipv6-share X          share of IPv6 flows, 0-1 (default 0)
  --vlan-share X          share of VLAN-tagged flows, half of them QinQ (default 0)
  --fragments-share X     share of IPv4 UDP flows sent in fragments (default 0)
  --udp-share X           share of UDP flows (default 0.3)
  --icmp-share X          share of ICMP echo flows (default 0.1)
  --payload-min N         smallest payload in bytes (default 0)
  --payload-max N         largest payload in bytes (default 512)
  --rate N                packets per second of trace time (default 10000)
  --start-time N          epoch seconds of the first packet (default 1700000000)
  --concurrency N         flows interleaved at once (default 64)
  --format F              pcap, pcap-ns or pcapng (default pcap)
  --seed N                random seed (default 1)
  --truth FILE            also write the per-flow ground truth as JSON`;

const FORMATS: readonly string[] = ["pcap", "pcap-ns", "pcapng"];

function fail(message: string): never {
  console.error(`gen_pcap: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n)) {
    fail(`--${name} wants a number, got "${String(raw)}"`);
  }
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        flows: { type: "string" },
        "packets-per-flow": { type: "string" },
        "ipv6-share": { type: "string" },
        "vlan-share": { type: "string" },
        "fragments-share": { type: "string" },
        "udp-share": { type: "string" },
        "icmp-share": { type: "string" },
        "payload-min": { type: "string" },
        "payload-max": { type: "string" },
        rate: { type: "string" },
        "start-time": { type: "string" },
        concurrency: { type: "string" },
        format: { type: "string" },
        seed: { type: "string" },
        truth: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return;
  }
  if (v.out === undefined) fail("--out is required");
  const format = v.format ?? "pcap";
  if (!FORMATS.includes(format)) {
    fail(`--format must be one of ${FORMATS.join(", ")}, got "${format}"`);
  }
  const options: GenerateOptions = {
    flows: numberFlag(v, "flows"),
    packetsPerFlow: numberFlag(v, "packets-per-flow"),
    ipv6Share: numberFlag(v, "ipv6-share"),
    vlanShare: numberFlag(v, "vlan-share"),
    fragmentsShare: numberFlag(v, "fragments-share"),
    udpShare: numberFlag(v, "udp-share"),
    icmpShare: numberFlag(v, "icmp-share"),
    payloadMin: numberFlag(v, "payload-min"),
    payloadMax: numberFlag(v, "payload-max"),
    rate: numberFlag(v, "rate"),
    startTime: numberFlag(v, "start-time"),
    concurrency: numberFlag(v, "concurrency"),
    seed: numberFlag(v, "seed"),
    format: format as TraceWriteFormat,
  };
  const started = performance.now();
  let truth: TraceTruth;
  try {
    truth = await generateTrace(v.out, options);
  } catch (err) {
    if (err instanceof RangeError) fail(err.message);
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  const flows = truth.flows;
  const count = (pred: (f: TraceTruth["flows"][number]) => boolean) => flows.filter(pred).length;
  console.log(
    `wrote ${v.out} (${format}): ${truth.packets} packets, ${truth.bytes} bytes, ` +
      `${truth.datagrams} datagrams, ${truth.flows.length} flows ` +
      `(tcp ${count((f) => f.proto === "tcp")}, udp ${count((f) => f.proto === "udp")}, ` +
      `icmp ${count((f) => f.proto === "icmp")}; ipv6 ${count((f) => f.ipVersion === 6)}, ` +
      `vlan ${count((f) => f.vlan !== 0)}, fragmented ${count((f) => f.fragmented)}) ` +
      `in ${seconds.toFixed(2)} s`,
  );
  if (v.truth !== undefined) {
    await Deno.writeTextFile(v.truth, JSON.stringify(truth, null, 1) + "\n");
    console.log(`wrote ground truth to ${v.truth}`);
  }
}

if (import.meta.main) await main();
