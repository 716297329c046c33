import assert from "node:assert/strict";
import { ReassemblyMemory } from "../../analysis/tcp/mod.ts";
import { formatSamples } from "./exposition.ts";
import { reassemblySamples } from "./reassembly_metrics.ts";

Deno.test("a real reassembly memory's stats fit as they are and render as Prometheus text", () => {
  const memory = new ReassemblyMemory({ maxBytes: 4096 });
  const text = formatSamples(reassemblySamples(memory.stats()), {
    labels: { node: "worker-1" },
  });
  assert.match(text, /^# TYPE weir_reassembly_held_bytes gauge$/m);
  assert.match(text, /^weir_reassembly_limit_bytes\{node="worker-1"\} 4096$/m);
  assert.match(text, /^weir_reassembly_cut_bytes_total\{bound="global",node="worker-1"\} 0$/m);
  assert.match(text, /^weir_reassembly_cut_bytes_total\{bound="connection",node="worker-1"\} 0$/m);
});
