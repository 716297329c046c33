/**
 * The bus counters under Zeek's ZeroMQ backend and cluster names.
 *
 * @module
 */

import type { BusCounters } from "../../bus/mod.ts";
import type { MetricSample } from "./sample.ts";

/** Samples of a `Bus.counters` object, read now. */
export function busSamples(counters: Readonly<BusCounters>): MetricSample[] {
  return [
    {
      name: "zeek_cluster_zeromq_xpub_drops_total",
      help: "Events not published because the XPUB socket was at its high-water mark.",
      type: "counter",
      value: counters.xpubDrops,
    },
    {
      name: "zeek_cluster_zeromq_msg_errors_total",
      help: "Messages received from the bus that could not be handled.",
      type: "counter",
      value: counters.messageErrors,
    },
    {
      name: "zeek_cluster_core_outgoing_events_total",
      help: "Events published to the cluster.",
      type: "counter",
      value: counters.published,
    },
    {
      name: "zeek_cluster_core_incoming_events_total",
      help: "Events received from other nodes of the cluster.",
      type: "counter",
      value: counters.received,
    },
    {
      name: "weir_cluster_own_messages_total",
      help: "Messages the forwarder echoed back to their sender, dropped as Zeek does.",
      type: "counter",
      value: counters.ownMessages,
    },
  ];
}

/** What the cluster layer counts of the events it received (`Cluster.counters`). */
export interface ClusterCounters {
  readonly decodeErrors: number;
  readonly formatErrors: number;
  readonly unknownEvents: number;
  readonly forgedHellos: number;
}

/** Samples of the cluster layer's counters: bad input from the bus, counted however little is reported. */
export function clusterSamples(counters: Readonly<ClusterCounters>): MetricSample[] {
  return [
    {
      name: "weir_cluster_malformed_events_total",
      help: "Events from the bus dropped because their payload did not decode.",
      type: "counter",
      value: counters.decodeErrors,
    },
    {
      name: "weir_cluster_unsupported_format_messages_total",
      help: "Messages from the bus dropped because of an unsupported format frame.",
      type: "counter",
      value: counters.formatErrors,
    },
    {
      name: "weir_cluster_unknown_events_total",
      help: "Events from the bus that no script declares.",
      type: "counter",
      value: counters.unknownEvents,
    },
    {
      name: "weir_cluster_forged_hellos_total",
      help: "Hellos dropped because their sender is not the node they name.",
      type: "counter",
      value: counters.forgedHellos,
    },
  ];
}
