/**
 * TCP reassembly memory: what the pipeline holds for out-of-order data now,
 * its peak, and what its bounds refused to store (weir's own names: Zeek
 * has no such series).
 *
 * @module
 */

import type { MetricSample } from "./sample.ts";

/** The counters this needs; a `ReassemblyMemory`'s `stats()` fits as it is. */
export interface ReassemblyCounters {
  /** Bytes held now (payload plus per-segment overhead): what the bounds limit. */
  readonly heldBytes: number;
  readonly peakHeldBytes: number;
  /** The global bound. */
  readonly maxBytes: number;
  /** Payload bytes not stored because a connection reached its bound, or the pipeline its. */
  readonly cutBytesPerConnection: number;
  readonly cutBytesGlobal: number;
}

/** Samples of a pipeline's reassembly memory, read now. */
export function reassemblySamples(counters: ReassemblyCounters): MetricSample[] {
  return [
    {
      name: "weir_reassembly_held_bytes",
      help: "Bytes TCP reassembly holds for out-of-order data now.",
      type: "gauge",
      value: counters.heldBytes,
    },
    {
      name: "weir_reassembly_peak_held_bytes",
      help: "The most bytes TCP reassembly held at once.",
      type: "gauge",
      value: counters.peakHeldBytes,
    },
    {
      name: "weir_reassembly_limit_bytes",
      help: "The bound on bytes TCP reassembly may hold.",
      type: "gauge",
      value: counters.maxBytes,
    },
    {
      name: "weir_reassembly_cut_bytes_total",
      help: "Payload bytes reassembly did not store because a memory bound was reached.",
      type: "counter",
      labels: { bound: "connection" },
      value: counters.cutBytesPerConnection,
    },
    {
      name: "weir_reassembly_cut_bytes_total",
      help: "Payload bytes reassembly did not store because a memory bound was reached.",
      type: "counter",
      labels: { bound: "global" },
      value: counters.cutBytesGlobal,
    },
  ];
}
