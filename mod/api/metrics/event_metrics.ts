/**
 * Event handler invocations under Zeek's name.
 *
 * @module
 */

import type { MetricSample } from "./sample.ts";

/** Samples of `EventRegistry.invocations` (event name → times its handlers ran). */
export function eventSamples(invocations: ReadonlyMap<string, number>): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const [name, value] of invocations) {
    samples.push({
      name: "zeek_event_handler_invocations_total",
      help: "Times the handlers of an event ran.",
      type: "counter",
      labels: { name },
      value,
    });
  }
  return samples;
}
