/**
 * Connection (session) counters by transport protocol, under Zeek's names.
 *
 * @module
 */

import type { MetricSample } from "./sample.ts";

/** One count per transport protocol; the keys become Zeek's `protocol` label. */
export interface SessionsByProtocol {
  readonly tcp: number;
  readonly udp: number;
  readonly icmp: number;
}

export interface SessionCounters {
  /** Connections tracked now. */
  readonly active: SessionsByProtocol;
  /** Connections ever created. */
  readonly total: SessionsByProtocol;
  /** Connections ended, by reason, where the tracker counts them. */
  readonly ended?: Readonly<Record<string, number>>;
}

const PROTOCOLS = ["tcp", "udp", "icmp"] as const;

/** Samples of the connection tracker's counters, read now. */
export function sessionSamples(counters: SessionCounters): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const protocol of PROTOCOLS) {
    samples.push({
      name: "zeek_active_sessions",
      help: "Connections tracked now.",
      type: "gauge",
      labels: { protocol },
      value: counters.active[protocol],
    });
  }
  for (const protocol of PROTOCOLS) {
    samples.push({
      name: "zeek_total_sessions_total",
      help: "Connections created since the node started.",
      type: "counter",
      labels: { protocol },
      value: counters.total[protocol],
    });
  }
  for (const [reason, value] of Object.entries(counters.ended ?? {})) {
    samples.push({
      name: "zeek_ended_sessions_total",
      help: "Connections ended, by reason.",
      type: "counter",
      labels: { reason },
      value,
    });
  }
  return samples;
}
