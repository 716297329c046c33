import assert from "node:assert/strict";
import { benchDigest, benchReadDecodeHash } from "./decode.ts";
import { generateTrace } from "../testing/generate.ts";

Deno.test("the benchmark reads, decodes and hashes every packet of a file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const truth = await generateTrace(path, {
      flows: 200,
      packetsPerFlow: 8,
      fragmentsShare: 0.1,
      seed: 9,
    });
    const before = benchDigest();
    const r = await benchReadDecodeHash(path);
    assert.equal(r.packets, truth.packets);
    assert.ok(r.seconds > 0);
    assert.ok(r.pps > 0);
    assert.notEqual(benchDigest(), before);
    const unchecked = await benchReadDecodeHash(path, { checksums: false });
    assert.equal(unchecked.packets, truth.packets);
  } finally {
    await Deno.remove(path);
  }
});
