/**
 * The closed bus's door counts: ZAP verdicts per domain (forwarder `weir`,
 * log sockets `weir-log`, agent channel `weir-agent`) and handshakes that
 * failed on a server socket (a client without keys, a wrong key, a refusal).
 *
 * @module
 */

import type { ZapCounters } from "../../bus/mod.ts";
import type { MetricSample } from "./sample.ts";

/** Samples of a ZAP handler's counters and a handshake monitor's failures. */
export function authSamples(
  zap: Readonly<ZapCounters> | undefined,
  handshakeFailures: ReadonlyMap<string, number> | undefined,
): MetricSample[] {
  const samples: MetricSample[] = [];
  for (
    const [result, counts] of [["accepted", zap?.accepted], ["refused", zap?.refused]] as const
  ) {
    for (const [domain, value] of counts ?? []) {
      samples.push({
        name: "weir_bus_auth_total",
        help: "CURVE clients the ZAP handler accepted or refused, by ZAP domain.",
        type: "counter",
        labels: { domain, result },
        value,
      });
    }
  }
  for (const [key, value] of handshakeFailures ?? []) {
    const [socket, reason] = key.split("#") as [string, string];
    samples.push({
      name: "weir_bus_handshake_failures_total",
      help:
        "Connections refused during the ZMTP handshake on a server socket, by socket and reason.",
      type: "counter",
      labels: { socket, reason },
      value,
    });
  }
  return samples;
}
