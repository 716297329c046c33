import assert from "node:assert/strict";
import { measureReassemblyMemory, measureReassemblyThroughput } from "./reassembly.ts";

Deno.test("the memory benchmark holds to its bound, counts the cut and ends with nothing held", () => {
  const r = measureReassemblyMemory(2_000, 1000, 1024 * 1024);
  assert.ok(r.stats.peakHeldBytes <= r.maxBytes);
  assert.ok(r.stats.bufferedSegments > 0);
  assert.equal(r.stats.bufferedSegments + r.stats.cutSegments, 2_000);
  assert.equal(r.stats.cutBytesGlobal, r.stats.cutSegments * 1000);
  assert.equal(r.heldAfterClose, 0);
});

Deno.test("the throughput benchmark delivers every in-order byte", () => {
  const r = measureReassemblyThroughput(20_000, 500);
  assert.equal(r.delivered, 20_000 * 500);
  assert.ok(r.segmentsPerSecond > 0 && r.copySegmentsPerSecond > 0);
});
