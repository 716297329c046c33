/**
 * The closed bus's door counts: ZAP verdicts per domain (forwarder `weir`,
 * log sockets `weir-log`, agent channel `weir-agent`), handshakes that
 * failed on a server socket (a client without keys, a wrong key, a refusal),
 * and messages the forwarder dropped for a sender id not of their key.
 *
 * @module
 */

import type { ZapCounters } from "../../bus/mod.ts";
import type { MetricSample } from "./sample.ts";

/** Samples of a ZAP handler's counters and a handshake monitor's failures. */
export function authSamples(
  zap: Readonly<ZapCounters> | undefined,
  handshakeFailures: ReadonlyMap<string, number> | undefined,
  senderRefused?: number,
): MetricSample[] {
  const samples: MetricSample[] = [];
  if (senderRefused !== undefined) {
    samples.push({
      name: "weir_bus_sender_refused_total",
      help:
        "Messages the forwarder dropped because their sender id does not belong to the key that sent them.",
      type: "counter",
      value: senderRefused,
    });
  }
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
