/**
 * Named counters for malformed or unusual packets, using Zeek's weird names
 * where Zeek has one (so `weird.log` readers recognise them) and names in
 * the same style where it does not. The decoder and the fragment
 * reassembler count into a shared `WeirdCounters`; each counter is a slot
 * in a typed array, so counting costs one increment.
 *
 * `ZEEK_WEIRDS` says, per name, how Zeek reports the same finding in
 * weird.log: which analyzer raises it and whether as a net, flow or
 * connection weird. Names Zeek never raises are counted but not logged.
 *
 * @module
 */

/** Every weird name, in slot order; `WEIRD.<name>` is the slot. */
export const WEIRD_NAMES = Object.freeze(
  [
    "none",
    "unknown_link_type",
    "truncated_link_header",
    "truncated_ethernet_frame",
    "undefined_ether_type",
    "truncated_VLAN_header",
    "triple_tagged_vlan_unsupported",
    "truncated_pppoe_header",
    "no_ip_in_mpls_payload",
    "truncated_Linux_SLL_header",
    "FDDI_analyzer_failed",
    "truncated_null_header",
    "non_ip_packet_in_null_transport",
    "truncated_IP",
    "unknown_ip_version",
    "ip_hdr_len_zero",
    "truncated_IP_len",
    "invalid_IP_header_size",
    "internally_truncated_header",
    "IPv4_min_header_size",
    "bad_IP_checksum",
    "truncated_IPv6_extension_header",
    "ipv6_no_next",
    "incompletely_captured_fragment",
    "fragment_with_DF",
    "fragment_protocol_inconsistency",
    "fragment_size_inconsistency",
    "fragment_inconsistency",
    "fragment_overlap",
    "excessively_small_fragment",
    "excessively_large_fragment",
    "truncated_header",
    "bad_TCP_header_len",
    "bad_TCP_checksum",
    "bad_UDP_checksum",
    "UDP_datagram_length_mismatch",
    "bad_ICMP_checksum",
    "truncated_GRE",
    "unknown_gre_version",
    "unknown_gre_flags",
    "gre_routing",
    "egre_protocol_type",
    "non_ip_packet_in_encap",
    "truncated_VXLAN",
    "truncated_Geneve",
    "truncated_GTPv1",
    "GTPv1_invalid_inner_packet",
    "exceeded_tunnel_max_depth",
    "invalid_inner_IP_version",
  ] as const,
);

/** A weird's name. */
export type WeirdName = typeof WEIRD_NAMES[number];

/** Slot numbers by name, e.g. `WEIRD.truncated_IP`. */
export const WEIRD: Readonly<Record<WeirdName, number>> = Object.freeze(
  Object.fromEntries(WEIRD_NAMES.map((name, i) => [name, i])) as Record<WeirdName, number>,
);

/**
 * How Zeek reports a weird (`src/session/Manager.cc` `Manager::Weird`):
 * `net` has no addresses (the packet has no IP header yet), `flow` has the
 * packet's source and destination (it has one), `conn` belongs to the
 * packet's connection (raised by its session adapter, with its uid).
 */
export type WeirdKind = "net" | "flow" | "conn";

/** Where and how Zeek raises one of the decoder's weirds. */
export interface ZeekWeird {
  /**
   * The `source` column: the raising analyzer's canonical name
   * (`GetAnalyzerName()`), "" for none, or one of `SOURCE_TRANSPORT` and
   * `SOURCE_TUNNEL`, which the packet decides.
   */
  readonly source: string;
  readonly kind: WeirdKind;
  /** A fixed `addl`; names whose `addl` is formatted from the packet leave it out. */
  readonly addl?: string;
}

/** The packet's transport analyzer: `TCP`, `UDP` or `ICMP` (`IPBasedAnalyzer::CheckHeaderTrunc`). */
export const SOURCE_TRANSPORT = "<transport>";
/** The analyzer of the tunnel being entered: `IPTUNNEL` (IP-in-IP, GRE), `VXLAN`, `GENEVE`. */
export const SOURCE_TUNNEL = "<tunnel>";

/**
 * Zeek's report of each weird the decoder and the reassembler count, read
 * in Zeek's sources (commit a13de64f, 9.1.0-dev): `src/packet_analysis/protocol/<analyzer>/`,
 * `src/Frag.cc` for fragments. `null` marks weir's own names: Zeek either
 * raises nothing there (an unknown link type or a non-IP null payload is an
 * unknown protocol; a truncated VXLAN, Geneve or GTP header is an analyzer
 * violation) or raises it elsewhere under another name (MPLS without IP
 * reaches the IP analyzer; a short null header is `null_analyzer_failed`;
 * a cut IPv6 extension chain is `truncated_IP_len`).
 *
 * Zeek raises a few names at a second place, which the packet tells apart:
 * `internally_truncated_header` and `truncated_header` in the transport
 * header are flow weirds of TCP, UDP or ICMP; TCP's own header length
 * checks (`TCPAnalyzer::ExtractTCP_Header`) are connection weirds;
 * `invalid_IP_header_size` of a reassembled datagram is a flow weird.
 */
export const ZEEK_WEIRDS: Readonly<Record<WeirdName, ZeekWeird | null>> = Object.freeze({
  none: null,
  unknown_link_type: null,
  truncated_link_header: { source: "MPLS", kind: "net" },
  truncated_ethernet_frame: { source: "ETHERNET", kind: "net" },
  undefined_ether_type: { source: "ETHERNET", kind: "net" },
  truncated_VLAN_header: { source: "VLAN", kind: "net" },
  triple_tagged_vlan_unsupported: {
    source: "VLAN",
    kind: "net",
    addl: "inner VLAN tag overwritten",
  },
  truncated_pppoe_header: { source: "PPPOE", kind: "net" },
  no_ip_in_mpls_payload: null,
  truncated_Linux_SLL_header: { source: "LINUXSLL", kind: "net" },
  // FDDI.cc raises it without the packet, so it is a net weird even in a tunnel.
  FDDI_analyzer_failed: { source: "FDDI", kind: "net" },
  truncated_null_header: null,
  non_ip_packet_in_null_transport: null,
  truncated_IP: { source: "IP", kind: "net" },
  unknown_ip_version: { source: "IP", kind: "net" },
  ip_hdr_len_zero: { source: "IP", kind: "net" },
  truncated_IP_len: { source: "IP", kind: "net" },
  invalid_IP_header_size: { source: "IP", kind: "net" },
  internally_truncated_header: { source: "IP", kind: "net" },
  IPv4_min_header_size: { source: "IP", kind: "net" },
  bad_IP_checksum: { source: "IP", kind: "flow" },
  truncated_IPv6_extension_header: null,
  ipv6_no_next: { source: "IP", kind: "flow" },
  incompletely_captured_fragment: { source: "IP", kind: "flow" },
  // FragReassembler reports through Manager::Weird(name, IP_Hdr*): no source, no _in_tunnel.
  fragment_with_DF: { source: "", kind: "flow" },
  fragment_protocol_inconsistency: { source: "", kind: "flow" },
  fragment_size_inconsistency: { source: "", kind: "flow" },
  fragment_inconsistency: { source: "", kind: "flow" },
  fragment_overlap: { source: "", kind: "flow" },
  excessively_small_fragment: { source: "", kind: "flow" },
  excessively_large_fragment: { source: "", kind: "flow" },
  truncated_header: { source: SOURCE_TRANSPORT, kind: "flow" },
  bad_TCP_header_len: { source: "TCP", kind: "conn" },
  bad_TCP_checksum: { source: "TCP", kind: "conn" },
  bad_UDP_checksum: { source: "UDP", kind: "conn" },
  // addl "%d != %d": the UDP length field, then the IP payload length (UDPAnalyzer::DeliverPacket).
  UDP_datagram_length_mismatch: { source: "UDP", kind: "conn" },
  bad_ICMP_checksum: { source: "ICMP", kind: "conn" },
  truncated_GRE: { source: "GRE", kind: "flow" },
  // addl "version=%d".
  unknown_gre_version: { source: "GRE", kind: "flow" },
  unknown_gre_flags: { source: "GRE", kind: "flow" },
  gre_routing: { source: "GRE", kind: "flow" },
  // addl "proto=%d", the GRE protocol type in decimal.
  egre_protocol_type: { source: "GRE", kind: "flow" },
  non_ip_packet_in_encap: { source: "GRE", kind: "flow" },
  truncated_VXLAN: null,
  truncated_Geneve: null,
  truncated_GTPv1: null,
  GTPv1_invalid_inner_packet: null,
  exceeded_tunnel_max_depth: { source: SOURCE_TUNNEL, kind: "flow" },
  invalid_inner_IP_version: { source: "IPTUNNEL", kind: "flow" },
});

/** How many `add` calls between two `takeRaised` the journal remembers. */
export const RAISED_CAPACITY = 16;

/** Counts of weirds, one slot per name. */
export class WeirdCounters {
  readonly counts: Float64Array = new Float64Array(WEIRD_NAMES.length);
  /**
   * The slots `add` counted since the last `clearRaised`, in order (the
   * first `RAISED_CAPACITY`): the reassembler counts through `add` and
   * knows no packet, so the pipeline reads its weirds here.
   */
  readonly raised: Uint8Array = new Uint8Array(RAISED_CAPACITY);
  raisedCount = 0;

  /** Adds one to a slot (`WEIRD.<name>`) and notes it in `raised`. */
  add(slot: number): void {
    this.counts[slot]!++;
    const n = this.raisedCount;
    if (n < RAISED_CAPACITY) {
      this.raised[n] = slot;
      this.raisedCount = n + 1;
    }
  }

  /** Forgets the slots noted in `raised`. */
  clearRaised(): void {
    this.raisedCount = 0;
  }

  /** The count for a name. */
  get(name: WeirdName): number {
    return this.counts[WEIRD[name]]!;
  }

  /** The sum over all names. */
  total(): number {
    let sum = 0;
    for (let i = 1; i < this.counts.length; i++) sum += this.counts[i]!;
    return sum;
  }

  /** The names seen at least once, with their counts. */
  entries(): Array<[WeirdName, number]> {
    const out: Array<[WeirdName, number]> = [];
    for (let i = 1; i < this.counts.length; i++) {
      const n = this.counts[i]!;
      if (n > 0) out.push([WEIRD_NAMES[i]!, n]);
    }
    return out;
  }

  reset(): void {
    this.counts.fill(0);
    this.raisedCount = 0;
  }
}
