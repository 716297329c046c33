/**
 * Named counters for malformed or unusual packets, using Zeek's weird names
 * where Zeek has one (so `weird.log` readers recognise them) and names in
 * the same style where it does not. The decoder and the fragment
 * reassembler count into a shared `WeirdCounters`; each counter is a slot
 * in a typed array, so counting costs one increment.
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

/** Counts of weirds, one slot per name. */
export class WeirdCounters {
  readonly counts: Float64Array = new Float64Array(WEIRD_NAMES.length);

  /** Adds one to a slot (`WEIRD.<name>`). */
  add(slot: number): void {
    this.counts[slot]!++;
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
  }
}
