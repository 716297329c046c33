/**
 * A node's process metrics from prom-client's default collectors, kept to
 * the ones that mean the same under Deno as under Node. Zeek exposes the
 * `process_*` names too, so its dashboards read them unchanged.
 *
 * @module
 */

import client from "prom-client";

/**
 * The defaults kept. Dropped: the event-loop lag gauges (Deno's
 * `monitorEventLoopDelay` does not see blocked turns, so they would reassure
 * falsely), the GC histogram (never observed under Deno), the libuv
 * active-handle gauges (Node internals, and promtool rejects their `_total`
 * gauge names) and `nodejs_version_info` (the Node API version Deno
 * emulates; `weir_version_info` names the real runtime).
 */
export const PROCESS_METRIC_NAMES: ReadonlySet<string> = new Set([
  "process_cpu_user_seconds_total",
  "process_cpu_system_seconds_total",
  "process_cpu_seconds_total",
  "process_start_time_seconds",
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
  "nodejs_heap_size_total_bytes",
  "nodejs_heap_size_used_bytes",
  "nodejs_external_memory_bytes",
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
]);

/** A registry holding this process's metrics, every series labelled with `labels`. */
export function createProcessRegistry(
  labels: Readonly<Record<string, string>>,
): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ ...labels });
  client.collectDefaultMetrics({ register: registry });
  for (const { name } of registry.getMetricsAsArray()) {
    if (!PROCESS_METRIC_NAMES.has(name)) registry.removeSingleMetric(name);
  }
  return registry;
}
