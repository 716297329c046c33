/**
 * Capture benchmark P1: read + decode + flow-hash a generated trace of two
 * million packets in one worker, next to `tcpdump -r F -w /dev/null` on the
 * same file in the same run.
 *
 * @module
 */

import { benchReadDecodeHash, timeTcpdump } from "./decode.ts";
import { generateTrace } from "../testing/mod.ts";

/** Packets in the generated trace (`WEIR_BENCH_PACKETS` in `deno task bench`). */
export const DEFAULT_PACKETS = 2_000_000;

/** Runs P1 and returns its table rows. */
export async function benchCapture(packets = DEFAULT_PACKETS): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-capture-" });
  try {
    const path = `${dir}/p1.pcap`;
    const flows = Math.ceil(packets / 10);
    await generateTrace(path, { flows, packetsPerFlow: 10, payloadMin: 0, payloadMax: 256 });
    // One warm-up pass so the file is in the page cache for both readers.
    await benchReadDecodeHash(path, { checksums: false });
    const checked = await benchReadDecodeHash(path);
    const unchecked = await benchReadDecodeHash(path, { checksums: false });
    const tcpdump = await timeTcpdump(path);
    const tcpdumpPps = tcpdump === undefined ? undefined : checked.packets / tcpdump;
    const ratio = (pps: number) =>
      tcpdumpPps === undefined ? "" : `  ${(pps / tcpdumpPps).toFixed(2)} × tcpdump`;
    const target = tcpdumpPps === undefined
      ? ""
      : `  [target ≥ 0.5 × tcpdump: ${checked.pps / tcpdumpPps >= 0.5 ? "ok" : "MISSED"}]`;
    return [
      `${"P1 capture: tcpdump -r F -w /dev/null".padEnd(50)} ${
        tcpdumpPps === undefined ? "tcpdump missing" : `${fmt(tcpdumpPps)} packets/s`
      }`,
      `${"P1 capture: read + decode + hash (checksums)".padEnd(50)} ${
        fmt(checked.pps)
      } packets/s (${fmt(checked.packets)} packets)${ratio(checked.pps)}${target}`,
      `${"P1 capture: read + decode + hash (-C)".padEnd(50)} ${fmt(unchecked.pps)} packets/s${
        ratio(unchecked.pps)
      }`,
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

if (import.meta.main) { for (const row of await benchCapture()) console.log(row); }
