/**
 * The capture micro benchmark: read a trace, decode every packet and hash
 * its flow, as a worker splitting a trace does. `deno task bench` calls it
 * next to `tcpdump -r F -w /dev/null` on the same file.
 *
 * @module
 */

import { DecodedPacket, flowHash, openPcapFile, PacketDecoder } from "../capture/mod.ts";

/** What one run measured. */
export interface BenchResult {
  readonly packets: number;
  readonly seconds: number;
  readonly pps: number;
}

/** How to run the benchmark. */
export interface BenchOptions {
  /** Verify checksums as `zeek -r` does (default true); false measures `zeek -C`. */
  readonly checksums?: boolean;
}

/** Keeps the hashes observable so no engine can drop the work. */
let sink = 0;

/** Reads, decodes and flow-hashes every packet of `path` once; returns the rate. */
export async function benchReadDecodeHash(
  path: string,
  options: BenchOptions = {},
): Promise<BenchResult> {
  const start = performance.now();
  await using source = await openPcapFile(path);
  const decoder = new PacketDecoder({ checksums: options.checksums ?? true });
  const decoded = new DecodedPacket();
  let packets = 0;
  let acc = 0;
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    const n = batch.count;
    for (let i = 0; i < n; i++) {
      decoder.decode(batch, i, decoded);
      acc = (acc + flowHash(decoded)) | 0;
    }
    packets += n;
  }
  sink ^= acc;
  const seconds = (performance.now() - start) / 1000;
  return Object.freeze({ packets, seconds, pps: seconds > 0 ? packets / seconds : 0 });
}

/** The running xor of all hashes computed so far (lets callers prove the work happened). */
export function benchDigest(): number {
  return sink;
}

/**
 * Seconds `tcpdump -r path -w /dev/null` takes: the reference the capture
 * benchmarks print next to their own figures. Undefined without tcpdump.
 */
export async function timeTcpdump(path: string): Promise<number | undefined> {
  const start = performance.now();
  try {
    const out = await new Deno.Command("tcpdump", {
      args: ["-r", path, "-w", "/dev/null"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
  } catch {
    return undefined;
  }
  return (performance.now() - start) / 1000;
}
