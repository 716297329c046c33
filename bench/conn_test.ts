import assert from "node:assert/strict";
import { measureConnMemory, measureConnThroughput } from "./conn.ts";

Deno.test("the memory benchmark tracks every flow it creates", () => {
  const r = measureConnMemory(20_000);
  assert.equal(r.flows, 20_000);
  assert.ok(r.tableBytes > 0);
});

Deno.test("the throughput benchmark reads and tracks a generated trace", async () => {
  const r = await measureConnThroughput({ packets: 5_000 });
  assert.equal(r.packets, 5_000);
  assert.equal(r.connections, 500);
  assert.ok(r.pps > 0);
});
