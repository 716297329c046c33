import assert from "node:assert/strict";
import { createProcessRegistry, PROCESS_METRIC_NAMES } from "./process_metrics.ts";

Deno.test("process metrics carry the node label and Zeek's process_* names", async () => {
  const registry = createProcessRegistry({ node: "worker-1" });
  const text = await registry.metrics();
  const families = new Set(
    [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!),
  );
  for (
    const name of [
      "process_resident_memory_bytes",
      "process_virtual_memory_bytes",
      "process_cpu_user_seconds_total",
      "process_cpu_system_seconds_total",
      "process_open_fds",
      "process_start_time_seconds",
    ]
  ) {
    assert.ok(families.has(name), `${name} is missing`);
  }
  for (const name of families) assert.ok(PROCESS_METRIC_NAMES.has(name), `${name} was not dropped`);
  const rss = text.match(/^process_resident_memory_bytes\{node="worker-1"\} (\d+)$/m);
  assert.ok(rss, "RSS sample with the node label");
  assert.ok(Number(rss[1]) > 1024 * 1024, `RSS ${rss[1]} is implausibly small`);
  const start = Number(text.match(/^process_start_time_seconds\{node="worker-1"\} (\d+)/m)?.[1]);
  assert.ok(Math.abs(start - Date.now() / 1000) < 3600, `start time ${start} is not recent`);
});
