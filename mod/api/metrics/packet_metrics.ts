/**
 * Capture counters under the names Zeek's `misc/stats` telemetry uses.
 *
 * @module
 */

import type { MetricSample } from "./sample.ts";

/** The capture counters this needs; a capture source's `SourceStats` fits as it is. */
export interface PacketCounters {
  /** Packets handed to the analysis. */
  readonly received: number;
  /** Packets the kernel or library dropped for want of buffer space. */
  readonly dropped: number;
  /** Bytes of the packets received, as captured. */
  readonly bytes: number;
  /** Packets seen on the link before filtering, where the source can tell. */
  readonly link?: number;
  /** Packets the interface dropped before capture, where the source can tell. */
  readonly ifDropped?: number;
}

/** Samples of a capture source's counters, read now. */
export function packetSamples(counters: PacketCounters): MetricSample[] {
  const samples: MetricSample[] = [
    {
      name: "zeek_net_received_packets_total",
      help: "Packets received by the capture.",
      type: "counter",
      value: counters.received,
    },
    {
      name: "zeek_net_received_bytes_total",
      help: "Bytes of the packets received by the capture.",
      type: "counter",
      value: counters.bytes,
    },
    {
      name: "zeek_net_dropped_packets_total",
      help: "Packets dropped by the kernel or capture library before analysis.",
      type: "counter",
      value: counters.dropped,
    },
  ];
  if (counters.link !== undefined) {
    samples.push({
      name: "zeek_net_link_packets_total",
      help: "Packets seen on the link.",
      type: "counter",
      value: counters.link,
    });
  }
  if (counters.ifDropped !== undefined) {
    samples.push({
      name: "weir_net_interface_dropped_packets_total",
      help: "Packets the network interface dropped before they reached the capture.",
      type: "counter",
      value: counters.ifDropped,
    });
  }
  return samples;
}
