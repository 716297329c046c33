/**
 * Packet decoding from the link layer to the transport header, into a
 * reusable `DecodedPacket`, with a bounds check before every field read.
 * Malformed input never throws: decoding stops, a weird is counted (Zeek's
 * name where Zeek has one) and the outcome says `OUTCOME_MALFORMED`.
 *
 * Layers: Ethernet (Ethernet II and 802.3 with LLC/SNAP), 802.1Q/802.1ad
 * tags (0x8100, 0x88a8, 0x9100), MPLS label stacks, PPPoE sessions, FDDI,
 * Linux cooked v1/v2, BSD loopback, raw IP; IPv4 with options and header
 * checksum; IPv6 with extension headers; fragments through a
 * `FragmentReassembler`; TCP, UDP, ICMP and ICMPv6 with checksums over the
 * pseudo-header; tunnels (IP-in-IP, GRE, VXLAN, GTPv1-U, Geneve), whose
 * outer layers are kept in `DecodedPacket.tunnels`.
 *
 * Checksums are verified and reported, not enforced: a packet with a bad
 * IP checksum still decodes (only its fragments are kept out of
 * reassembly), and the caller drops it unless it ignores checksums as
 * `zeek -C` does. `checksums: false` skips the work entirely.
 *
 * Length rules follow Zeek's IP analyzer: the IP length must fit in the
 * wire length (`truncated_IP_len`), a snap length may cut the packet short
 * (transport checksums are then left unchecked), and Ethernet padding
 * beyond the IP length is ignored.
 *
 * The common path is two large methods, the link layer with its ethertype
 * chain and the IP layer with its transport header, with multi-byte fields
 * read as spelled-out byte loads: V8 does not inline functions this large
 * or this deep, and a call per layer or per field cost more than the
 * decoding itself. Rare layers (IPv6 extension headers, fragments,
 * tunnels, unusual link types) are methods of their own.
 *
 * @module
 */

import { foldSum, pseudoSumWords, sumWords } from "./checksum.ts";
import {
  CHECKSUM_ABSENT,
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  type DecodedPacket,
  MAX_TUNNEL_DEPTH,
  OUTCOME_FRAGMENT,
  OUTCOME_IP,
  OUTCOME_MALFORMED,
  OUTCOME_NOT_IP,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_GTPV1,
  TUNNEL_IP,
  TUNNEL_VXLAN,
} from "./decoded_packet.ts";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_FDDI,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
} from "./link_type.ts";
import type { PacketBatch } from "./packet_source.ts";
import { FRAG_COMPLETE, FragmentReassembler } from "./reassembly.ts";
import { WEIRD, WeirdCounters } from "./weird.ts";

/** Zeek's `Tunnel::max_depth`. */
export const DEFAULT_MAX_TUNNEL_DEPTH = 2;
/** UDP ports Zeek decapsulates by default. */
export const VXLAN_PORT = 4789;
export const GTPV1_U_PORT = 2152;
export const GENEVE_PORT = 6081;

/** How a decoder treats checksums, fragments and tunnels. */
export interface DecoderOptions {
  /** Verify IP, TCP, UDP and ICMP checksums (default true; false is `zeek -C`). */
  readonly checksums?: boolean;
  /**
   * The reassembler for IP fragments (default: a new one with default
   * bounds); `null` leaves fragments as `OUTCOME_FRAGMENT`.
   */
  readonly reassembler?: FragmentReassembler | null;
  /** Decapsulate tunnels (default true, as Zeek does even in bare mode). */
  readonly tunnels?: boolean;
  /** Tunnel layers to decapsulate before giving up (default 2, at most MAX_TUNNEL_DEPTH). */
  readonly maxTunnelDepth?: number;
  /** Where weirds are counted (default: a new set, also used by the default reassembler). */
  readonly weirds?: WeirdCounters;
}

/** `#link` pseudo link type: start at the ethertype given (GRE, Geneve payloads). */
const ETHERTYPE_ONLY = -1;

/** Decodes packets into a `DecodedPacket`; one per capture loop (it holds reassembly state). */
export class PacketDecoder {
  readonly weirds: WeirdCounters;
  readonly reassembler: FragmentReassembler | null;
  readonly #counts: Float64Array;
  readonly #checksums: boolean;
  readonly #tunnels: boolean;
  readonly #maxDepth: number;
  /** Bytes the packet had on the wire beyond the captured end, for IP length checks. */
  #slack = 0;
  #now = 0;
  /** Above 0 while decoding inside a tunnel: link-layer facts are kept from the outermost frame. */
  #inner = 0;

  constructor(options: DecoderOptions = {}) {
    this.weirds = options.weirds ?? new WeirdCounters();
    this.#counts = this.weirds.counts;
    this.reassembler = options.reassembler === undefined
      ? new FragmentReassembler({ weirds: this.weirds })
      : options.reassembler;
    this.#checksums = options.checksums ?? true;
    this.#tunnels = options.tunnels ?? true;
    const depth = options.maxTunnelDepth ?? DEFAULT_MAX_TUNNEL_DEPTH;
    if (!Number.isInteger(depth) || depth < 0 || depth > MAX_TUNNEL_DEPTH) {
      throw new RangeError(
        `Cannot decode with maxTunnelDepth ${depth}: use an integer from 0 to ${MAX_TUNNEL_DEPTH}`,
      );
    }
    this.#maxDepth = depth;
  }

  /** Decodes packet `i` of a batch; returns and stores the OUTCOME_*. */
  decode(batch: PacketBatch, i: number, out: DecodedPacket): number {
    return this.decodeFrame(
      batch.data,
      batch.offset[i]!,
      batch.caplen[i]!,
      batch.wireLen[i]!,
      batch.linkType[i]!,
      batch.vlan[i]!,
      batch.tsSec[i]! + batch.tsNsec[i]! * 1e-9,
      out,
    );
  }

  /**
   * Decodes one frame at `data[offset … offset+caplen)` of link type
   * `linkType`; `vlan` is a tag stripped out of band (0 for none), `ts`
   * the packet time in seconds (it drives fragment timeouts).
   */
  decodeFrame(
    data: Uint8Array,
    offset: number,
    caplen: number,
    wireLen: number,
    linkType: number,
    vlan: number,
    ts: number,
    d: DecodedPacket,
  ): number {
    d.clear();
    d.ts = ts;
    d.wireLen = wireLen;
    d.caplen = caplen;
    d.linkType = linkType;
    d.data = data;
    this.#now = ts;
    this.#inner = 0;
    let end = offset + caplen;
    if (end > data.length) end = data.length;
    this.#slack = wireLen > caplen ? wireLen - caplen : 0;
    if (vlan !== 0) {
      d.vlan = vlan;
      d.vlanTags = 1;
    }
    const outcome = this.#link(d, data, offset, end, linkType, 0);
    d.outcome = outcome;
    return outcome;
  }

  #weird(d: DecodedPacket, slot: number): void {
    this.#counts[slot]!++;
    if (d.weird === 0) d.weird = slot;
  }

  #bad(d: DecodedPacket, slot: number): number {
    this.#counts[slot]!++;
    if (d.weird === 0) d.weird = slot;
    return OUTCOME_MALFORMED;
  }

  /**
   * The link layer, then ethertypes through tags, MPLS labels, SNAP and
   * PPPoE to IP. One loop, so stacked tags cannot exhaust the stack.
   */
  #link(
    d: DecodedPacket,
    data: Uint8Array,
    p: number,
    end: number,
    linkType: number,
    type: number,
  ): number {
    switch (linkType) {
      case LINKTYPE_ETHERNET:
        if (end - p < 14) return this.#bad(d, WEIRD.truncated_ethernet_frame);
        if (this.#inner === 0) d.macOffset = p;
        type = (data[p + 12]! << 8) | data[p + 13]!;
        p += 14;
        break;
      case ETHERTYPE_ONLY:
        break;
      case LINKTYPE_RAW:
      case LINKTYPE_RAW_12:
      case LINKTYPE_RAW_14:
      case LINKTYPE_IPV4:
      case LINKTYPE_IPV6:
        return this.#ip(d, data, p, end, false);
      case LINKTYPE_LINUX_SLL:
      case LINKTYPE_LINUX_SLL2: {
        const sll2 = linkType === LINKTYPE_LINUX_SLL2;
        const hl = sll2 ? 20 : 16;
        if (end - p < hl) return this.#bad(d, WEIRD.truncated_Linux_SLL_header);
        const at = sll2 ? p : p + 14;
        type = (data[at]! << 8) | data[at + 1]!;
        if (type < 1536) return OUTCOME_NOT_IP;
        p += hl;
        break;
      }
      case LINKTYPE_NULL:
      case LINKTYPE_LOOP:
        return this.#loopback(d, data, p, end, linkType === LINKTYPE_LOOP);
      case LINKTYPE_FDDI:
        // Frame control, two MACs, then an 802.2 LLC header of 8 bytes.
        if (end - p <= 21) return this.#bad(d, WEIRD.FDDI_analyzer_failed);
        if (data[p + 13] !== 0xaa || data[p + 14] !== 0xaa || data[p + 15] !== 0x03) {
          return this.#guessIp(d, data, p + 21, end);
        }
        type = (data[p + 19]! << 8) | data[p + 20]!;
        p += 21;
        break;
      default:
        return this.#bad(d, WEIRD.unknown_link_type);
    }
    for (;;) {
      if (type === 0x0800 || type === 0x86dd) {
        if (this.#inner === 0) d.ethertype = type;
        return this.#ip(d, data, p, end, false);
      }
      if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        if (end - p < 4) return this.#bad(d, WEIRD.truncated_VLAN_header);
        if (this.#inner === 0) {
          const id = ((data[p]! << 8) | data[p + 1]!) & 0xfff;
          if (d.vlanTags === 0) d.vlan = id;
          else {
            if (d.vlanTags >= 2) this.#weird(d, WEIRD.triple_tagged_vlan_unsupported);
            d.innerVlan = id;
          }
          d.vlanTags++;
        }
        type = (data[p + 2]! << 8) | data[p + 3]!;
        p += 4;
        continue;
      }
      if (type === 0x8847 || type === 0x8848) {
        for (;;) {
          if (end - p < 4) return this.#bad(d, WEIRD.truncated_link_header);
          const bottom = data[p + 2]! & 1;
          p += 4;
          d.mplsLabels++;
          if (bottom !== 0) break;
        }
        const version = p < end ? data[p]! >> 4 : 0;
        if (version !== 4 && version !== 6) return this.#bad(d, WEIRD.no_ip_in_mpls_payload);
        if (this.#inner === 0) d.ethertype = version === 4 ? 0x0800 : 0x86dd;
        return this.#ip(d, data, p, end, false);
      }
      if (type === 0x8864) {
        if (end - p < 8) return this.#bad(d, WEIRD.truncated_pppoe_header);
        d.pppoe = true;
        const ppp = (data[p + 6]! << 8) | data[p + 7]!;
        if (ppp !== 0x0021 && ppp !== 0x0057) return OUTCOME_NOT_IP;
        if (this.#inner === 0) d.ethertype = ppp === 0x0021 ? 0x0800 : 0x86dd;
        return this.#ip(d, data, p + 8, end, false);
      }
      if (type >= 1536) return OUTCOME_NOT_IP;
      if (type > 1500) return this.#bad(d, WEIRD.undefined_ether_type);
      // An 802.3 length: only LLC with a SNAP header leads on to an ethertype.
      if (end - p < 8) return OUTCOME_NOT_IP;
      if (data[p] !== 0xaa || data[p + 1] !== 0xaa || data[p + 2] !== 0x03) return OUTCOME_NOT_IP;
      type = (data[p + 6]! << 8) | data[p + 7]!;
      p += 8;
      if (type <= 1500) return OUTCOME_NOT_IP;
    }
  }

  #loopback(
    d: DecodedPacket,
    data: Uint8Array,
    p: number,
    end: number,
    bigEndian: boolean,
  ): number {
    if (end - p < 4) return this.#bad(d, WEIRD.truncated_null_header);
    const b0 = data[p]!;
    const b3 = data[p + 3]!;
    // The family is in the capturing host's byte order, which the file does not record.
    let family = bigEndian ? b3 | (data[p + 2]! << 8) : b0 | (data[p + 1]! << 8);
    if (family === 0) family = bigEndian ? b0 | (data[p + 1]! << 8) : b3 | (data[p + 2]! << 8);
    if (family === 2 || family === 10 || family === 24 || family === 28 || family === 30) {
      return this.#ip(d, data, p + 4, end, false);
    }
    this.#weird(d, WEIRD.non_ip_packet_in_null_transport);
    return OUTCOME_NOT_IP;
  }

  #guessIp(d: DecodedPacket, data: Uint8Array, p: number, end: number): number {
    const version = p < end ? data[p]! >> 4 : 0;
    if (version !== 4 && version !== 6) return OUTCOME_NOT_IP;
    return this.#ip(d, data, p, end, false);
  }

  /** The IP header and the transport header after it. */
  #ip(d: DecodedPacket, data: Uint8Array, p: number, end: number, reassembled: boolean): number {
    d.data = data;
    d.reassembled = reassembled;
    const avail = end - p;
    if (avail < 20) return this.#bad(d, WEIRD.truncated_IP);
    const version = data[p]! >> 4;
    const words = d.addrWords;
    let q: number;
    let len: number;
    let cap: number;
    if (version === 4) {
      const hl = (data[p]! & 0x0f) << 2;
      let total = (data[p + 2]! << 8) | data[p + 3]!;
      if (total === 0) {
        // Segmentation offload zeroes the length; Zeek trusts the capture only under -C.
        this.#weird(d, WEIRD.ip_hdr_len_zero);
        if (this.#checksums) return OUTCOME_MALFORMED;
        total = avail;
      }
      if (avail + this.#slack < total) return this.#bad(d, WEIRD.truncated_IP_len);
      if (hl > total) return this.#bad(d, WEIRD.invalid_IP_header_size);
      if (hl > avail) return this.#bad(d, WEIRD.internally_truncated_header);
      if (hl < 20) return this.#bad(d, WEIRD.IPv4_min_header_size);
      d.ipVersion = 4;
      d.ipOffset = p;
      d.ipHeaderLen = hl;
      d.ipTotalLen = total;
      d.ipId = (data[p + 4]! << 8) | data[p + 5]!;
      d.ttl = data[p + 8]!;
      d.proto = data[p + 9]!;
      words[0] = 0;
      words[1] = 0;
      words[2] = 0xffff;
      words[3] = (data[p + 12]! << 24) | (data[p + 13]! << 16) | (data[p + 14]! << 8) |
        data[p + 15]!;
      words[4] = 0;
      words[5] = 0;
      words[6] = 0xffff;
      words[7] = (data[p + 16]! << 24) | (data[p + 17]! << 16) | (data[p + 18]! << 8) |
        data[p + 19]!;
      if (this.#checksums) {
        let sum = 0;
        for (let i = p, e = p + hl; i < e; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
        if (foldSum(sum) === 0xffff) d.ipChecksum = CHECKSUM_GOOD;
        else {
          d.ipChecksum = CHECKSUM_BAD;
          this.#weird(d, WEIRD.bad_IP_checksum);
        }
      }
      const frag = (data[p + 6]! << 8) | data[p + 7]!;
      d.df = (frag & 0x4000) !== 0;
      if ((frag & 0x3fff) !== 0) {
        const outcome = this.#fragmentV4(d, data, p, avail, total, frag);
        if (outcome !== 0) return outcome;
      }
      q = p + hl;
      len = total - hl;
      cap = (avail < total ? avail : total) - hl;
    } else if (version === 6) {
      if (avail < 40) return this.#bad(d, WEIRD.truncated_IP);
      const payloadLen = (data[p + 4]! << 8) | data[p + 5]!;
      let total = payloadLen + 40;
      if (payloadLen === 0) {
        this.#weird(d, WEIRD.ip_hdr_len_zero);
        if (this.#checksums) return OUTCOME_MALFORMED;
        total = avail;
      }
      if (avail + this.#slack < total) return this.#bad(d, WEIRD.truncated_IP_len);
      d.ipVersion = 6;
      d.ipOffset = p;
      d.ipTotalLen = total;
      d.ttl = data[p + 7]!;
      d.flowLabel = ((data[p + 1]! & 0x0f) << 16) | (data[p + 2]! << 8) | data[p + 3]!;
      for (let i = 0, a = p + 8; i < 8; i++, a += 4) {
        words[i] = (data[a]! << 24) | (data[a + 1]! << 16) | (data[a + 2]! << 8) | data[a + 3]!;
      }
      const nh = data[p + 6]!;
      q = p + 40;
      if (nh === 0 || nh === 43 || nh === 44 || nh === 60 || nh === 51) {
        const r = this.#ipv6Extensions(d, data, p, avail, total, nh);
        if (r < 0) return -r;
        q = r;
      } else if (nh === 59) return this.#bad(d, WEIRD.ipv6_no_next);
      else d.proto = nh;
      d.ipHeaderLen = q - p;
      len = total - (q - p);
      cap = (avail < total ? avail : total) - (q - p);
    } else return this.#bad(d, WEIRD.unknown_ip_version);

    d.l4Offset = q;
    d.l4Len = len;
    d.l4Caplen = cap;
    const proto = d.proto;
    const check = this.#checksums && cap >= len;
    if (proto === 6) {
      if (len !== 0 && len < 20) return this.#bad(d, WEIRD.truncated_header);
      if (cap < 20) return this.#bad(d, WEIRD.internally_truncated_header);
      d.srcPort = (data[q]! << 8) | data[q + 1]!;
      d.dstPort = (data[q + 2]! << 8) | data[q + 3]!;
      d.tcpSeq = ((data[q + 4]! << 24) | (data[q + 5]! << 16) | (data[q + 6]! << 8) |
        data[q + 7]!) >>> 0;
      d.tcpAck = ((data[q + 8]! << 24) | (data[q + 9]! << 16) | (data[q + 10]! << 8) |
        data[q + 11]!) >>> 0;
      const thl = (data[q + 12]! >> 4) << 2;
      d.tcpHeaderLen = thl;
      d.tcpFlags = data[q + 13]!;
      d.tcpWindow = (data[q + 14]! << 8) | data[q + 15]!;
      if (thl < 20) return this.#bad(d, WEIRD.bad_TCP_header_len);
      if (thl > len || thl > cap) return this.#bad(d, WEIRD.truncated_header);
      d.payloadOffset = q + thl;
      d.payloadLen = len - thl;
      d.payloadCaplen = cap - thl;
      if (check) {
        if (foldSum(this.#pseudo(d, 6, len) + sumWords(data, q, len)) === 0xffff) {
          d.l4Checksum = CHECKSUM_GOOD;
        } else {
          d.l4Checksum = CHECKSUM_BAD;
          this.#weird(d, WEIRD.bad_TCP_checksum);
        }
      }
      return OUTCOME_IP;
    }
    if (proto === 17) {
      if (len !== 0 && len < 8) return this.#bad(d, WEIRD.truncated_header);
      if (cap < 8) return this.#bad(d, WEIRD.internally_truncated_header);
      const sport = (data[q]! << 8) | data[q + 1]!;
      const dport = (data[q + 2]! << 8) | data[q + 3]!;
      d.srcPort = sport;
      d.dstPort = dport;
      d.udpLen = (data[q + 4]! << 8) | data[q + 5]!;
      d.payloadOffset = q + 8;
      d.payloadLen = len - 8;
      d.payloadCaplen = cap - 8;
      if (check) {
        const stored = (data[q + 6]! << 8) | data[q + 7]!;
        // Zeek accepts a zero checksum on VXLAN's port even over IPv6, where zero is otherwise invalid.
        if (
          stored === 0 &&
          (d.ipVersion === 4 || (dport === VXLAN_PORT && len > 30 && (data[q + 8]! & 0x08) !== 0))
        ) {
          d.l4Checksum = CHECKSUM_ABSENT;
        } else if (foldSum(this.#pseudo(d, 17, len) + sumWords(data, q, len)) === 0xffff) {
          d.l4Checksum = CHECKSUM_GOOD;
        } else {
          d.l4Checksum = CHECKSUM_BAD;
          this.#weird(d, WEIRD.bad_UDP_checksum);
          return OUTCOME_IP;
        }
      }
      if (d.udpLen !== len) this.#weird(d, WEIRD.UDP_datagram_length_mismatch);
      if (this.#tunnels) {
        if (dport === VXLAN_PORT) return this.#vxlan(d, data, q + 8, len - 8, cap - 8);
        if (dport === GTPV1_U_PORT || sport === GTPV1_U_PORT) {
          return this.#gtp(d, data, q + 8, len - 8, cap - 8);
        }
        if (dport === GENEVE_PORT) return this.#geneve(d, data, q + 8, len - 8, cap - 8);
      }
      return OUTCOME_IP;
    }
    if (proto === 1 || proto === 58) {
      if (len !== 0 && len < 8) return this.#bad(d, WEIRD.truncated_header);
      if (cap < 8) return this.#bad(d, WEIRD.internally_truncated_header);
      d.icmpType = data[q]!;
      d.icmpCode = data[q + 1]!;
      d.payloadOffset = q + 8;
      d.payloadLen = len - 8;
      d.payloadCaplen = cap - 8;
      if (check) {
        let sum = sumWords(data, q, len);
        if (proto === 58) sum += this.#pseudo(d, 58, len);
        if (foldSum(sum) === 0xffff) d.l4Checksum = CHECKSUM_GOOD;
        else {
          d.l4Checksum = CHECKSUM_BAD;
          this.#weird(d, WEIRD.bad_ICMP_checksum);
        }
      }
      return OUTCOME_IP;
    }
    if (this.#tunnels) {
      if (proto === 4 || proto === 41) return this.#ipInIp(d, data, q, len, cap);
      if (proto === 47) return this.#gre(d, data, q, len, cap);
    }
    d.payloadOffset = q;
    d.payloadLen = len;
    d.payloadCaplen = cap;
    return OUTCOME_IP;
  }

  /** The pseudo-header sum for the packet's addresses. */
  #pseudo(d: DecodedPacket, proto: number, len: number): number {
    if (d.ipVersion === 6) return pseudoSumWords(d.addr, true, proto, len);
    const w = d.addrWords;
    const s = w[3]!;
    const t = w[7]!;
    return proto + len + (s >>> 16) + (s & 0xffff) + (t >>> 16) + (t & 0xffff);
  }

  /**
   * An IPv4 fragment: returns the outcome when the packet is handled here
   * (held, dropped, or the completed datagram decoded), 0 when decoding
   * continues with the fragment's own headers (an incompletely captured
   * first fragment, as Zeek does).
   */
  #fragmentV4(
    d: DecodedPacket,
    data: Uint8Array,
    p: number,
    avail: number,
    total: number,
    frag: number,
  ): number {
    d.fragment = true;
    if (avail < total) {
      this.#weird(d, WEIRD.incompletely_captured_fragment);
      return (frag & 0x1fff) !== 0 ? OUTCOME_FRAGMENT : 0;
    }
    const reassembler = this.reassembler;
    if (reassembler === null || d.ipChecksum === CHECKSUM_BAD) return OUTCOME_FRAGMENT;
    if (reassembler.addV4(this.#now, data, p, total) !== FRAG_COMPLETE) return OUTCOME_FRAGMENT;
    return this.#reassembled(d, reassembler);
  }

  /**
   * Walks IPv6 extension headers starting with `nh` after the base header.
   * Returns the transport header's offset (and sets `proto`), or a negated
   * outcome when decoding ends here (malformed, fragment, reassembled).
   */
  #ipv6Extensions(
    d: DecodedPacket,
    data: Uint8Array,
    p: number,
    avail: number,
    total: number,
    nh: number,
  ): number {
    const limit = p + (avail < total ? avail : total);
    const words = d.addrWords;
    let nhAt = p + 6;
    let q = p + 40;
    for (;;) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 51) {
        if (limit - q < 8) return -this.#bad(d, WEIRD.truncated_IPv6_extension_header);
        const len = nh === 51 ? (data[q + 1]! + 2) << 2 : (data[q + 1]! + 1) << 3;
        if (limit - q < len) return -this.#bad(d, WEIRD.truncated_IPv6_extension_header);
        if (nh === 43 && data[q + 3]! > 0 && len >= 24) {
          // With segments left, the connection's responder is the route's final hop.
          const rtype = data[q + 2]!;
          const finalAt = rtype === 0 ? q + len - 16 : rtype === 2 ? q + 8 : -1;
          for (let i = 0, a = finalAt; finalAt >= 0 && i < 4; i++, a += 4) {
            words[4 + i] = (data[a]! << 24) | (data[a + 1]! << 16) | (data[a + 2]! << 8) |
              data[a + 3]!;
          }
        }
        nhAt = q;
        nh = data[q]!;
        q += len;
        continue;
      }
      if (nh === 44) {
        if (limit - q < 8) return -this.#bad(d, WEIRD.truncated_IPv6_extension_header);
        const offField = (data[q + 2]! << 8) | data[q + 3]!;
        if ((offField & 0xfff9) !== 0) {
          d.fragment = true;
          d.proto = data[q]!;
          d.ipHeaderLen = q - p;
          if (avail < total) {
            this.#weird(d, WEIRD.incompletely_captured_fragment);
            if ((offField & 0xfff8) !== 0) return -OUTCOME_FRAGMENT;
          } else {
            const reassembler = this.reassembler;
            if (reassembler === null) return -OUTCOME_FRAGMENT;
            if (reassembler.addV6(this.#now, data, p, q, nhAt - p, total) !== FRAG_COMPLETE) {
              return -OUTCOME_FRAGMENT;
            }
            return -this.#reassembled(d, reassembler);
          }
        }
        // An atomic fragment (offset 0, no more fragments) is a whole datagram.
        nhAt = q;
        nh = data[q]!;
        q += 8;
        continue;
      }
      break;
    }
    if (nh === 59) return -this.#bad(d, WEIRD.ipv6_no_next);
    d.proto = nh;
    return q;
  }

  #reassembled(d: DecodedPacket, reassembler: FragmentReassembler): number {
    const slack = this.#slack;
    this.#slack = 0;
    d.clearIp();
    const outcome = this.#ip(d, reassembler.output, 0, reassembler.outputLength, true);
    this.#slack = slack;
    return outcome;
  }

  /** Saves the current IP level as tunnel layer `tunnelDepth`; false when the depth limit is reached. */
  #enter(d: DecodedPacket, type: number, id: number): boolean {
    if (d.tunnelDepth >= this.#maxDepth) {
      this.#weird(d, WEIRD.exceeded_tunnel_max_depth);
      return false;
    }
    d.saveLayer(d.tunnels[d.tunnelDepth]!, type, id);
    d.tunnelDepth++;
    return true;
  }

  /**
   * Finishes a decapsulation. When the inner packet is not IP, the outer
   * layer becomes the packet again: for UDP tunnels it is a valid UDP
   * datagram (Zeek still logs the outer flow), for IP-in-IP and GRE the
   * inner outcome stands, as Zeek makes no connection of the outer layer.
   */
  #leave(d: DecodedPacket, outcome: number, udpBased: boolean): number {
    if (outcome === OUTCOME_IP || outcome === OUTCOME_FRAGMENT) return outcome;
    d.tunnelDepth--;
    d.restoreLayer(d.tunnels[d.tunnelDepth]!);
    return udpBased ? OUTCOME_IP : outcome;
  }

  /**
   * Decodes the inner packet at `data[p … p+cap)` (`len` bytes declared):
   * an IP packet for `linkType` LINKTYPE_RAW, a frame for
   * LINKTYPE_ETHERNET, or the payload of ethertype `type` for ETHERTYPE_ONLY.
   */
  #inside(
    d: DecodedPacket,
    data: Uint8Array,
    p: number,
    len: number,
    cap: number,
    linkType: number,
    type: number,
  ): number {
    const slack = this.#slack;
    this.#slack = len > cap ? len - cap : 0;
    this.#inner++;
    d.clearIp();
    const outcome = this.#link(d, data, p, p + cap, linkType, type);
    this.#inner--;
    this.#slack = slack;
    return outcome;
  }

  #ipInIp(d: DecodedPacket, data: Uint8Array, q: number, len: number, cap: number): number {
    const version = cap > 0 ? data[q]! >> 4 : 0;
    if (version !== (d.proto === 4 ? 4 : 6)) return this.#bad(d, WEIRD.invalid_inner_IP_version);
    if (!this.#enter(d, TUNNEL_IP, 0)) return OUTCOME_MALFORMED;
    return this.#leave(d, this.#inside(d, data, q, len, cap, LINKTYPE_RAW, 0), false);
  }

  #gre(d: DecodedPacket, data: Uint8Array, q: number, len: number, cap: number): number {
    if (cap < 4) return this.#bad(d, WEIRD.truncated_GRE);
    const flags = (data[q]! << 8) | data[q + 1]!;
    const ptype = (data[q + 2]! << 8) | data[q + 3]!;
    const version = flags & 7;
    if (version > 1) return this.#bad(d, WEIRD.unknown_gre_version);
    const checksumLen = (flags & 0x8000) !== 0 ? 4 : 0;
    const hl = 4 + checksumLen + ((flags & 0x2000) !== 0 ? 4 : 0) +
      ((flags & 0x1000) !== 0 ? 4 : 0) + ((flags & 0x0080) !== 0 ? 4 : 0);
    if ((flags & 0x4000) !== 0) return this.#bad(d, WEIRD.gre_routing);
    if ((flags & 0x0078) !== 0) return this.#bad(d, WEIRD.unknown_gre_flags);
    if (cap < hl) return this.#bad(d, WEIRD.truncated_GRE);
    let key = 0;
    if ((flags & 0x2000) !== 0) {
      const k = q + 4 + checksumLen;
      key = ((data[k]! << 24) | (data[k + 1]! << 16) | (data[k + 2]! << 8) | data[k + 3]!) >>> 0;
    }
    let start = q + hl;
    let linkType = ETHERTYPE_ONLY;
    if (version === 1) {
      if (ptype !== 0x880b) return this.#bad(d, WEIRD.egre_protocol_type);
      if (cap < hl + 4) return this.#bad(d, WEIRD.truncated_GRE);
      const ppp = (data[start + 2]! << 8) | data[start + 3]!;
      if (ppp !== 0x0021 && ppp !== 0x0057) return this.#bad(d, WEIRD.non_ip_packet_in_encap);
      start += 4;
      linkType = LINKTYPE_RAW;
    } else if (ptype === 0x6558) {
      if (cap <= hl + 14) return this.#bad(d, WEIRD.truncated_GRE);
      linkType = LINKTYPE_ETHERNET;
    } else if (ptype < 1536) return OUTCOME_NOT_IP;
    if (!this.#enter(d, TUNNEL_GRE, key)) return OUTCOME_MALFORMED;
    const used = start - q;
    return this.#leave(
      d,
      this.#inside(d, data, start, len - used, cap - used, linkType, ptype),
      false,
    );
  }

  #vxlan(d: DecodedPacket, data: Uint8Array, p: number, len: number, cap: number): number {
    if (cap < 8) {
      this.#weird(d, WEIRD.truncated_VXLAN);
      return OUTCOME_IP;
    }
    if ((data[p]! & 0x08) === 0) return OUTCOME_IP;
    const vni = (data[p + 4]! << 16) | (data[p + 5]! << 8) | data[p + 6]!;
    if (!this.#enter(d, TUNNEL_VXLAN, vni)) return OUTCOME_IP;
    return this.#leave(
      d,
      this.#inside(d, data, p + 8, len - 8, cap - 8, LINKTYPE_ETHERNET, 0),
      true,
    );
  }

  #gtp(d: DecodedPacket, data: Uint8Array, p: number, len: number, cap: number): number {
    if (cap < 8) {
      this.#weird(d, WEIRD.truncated_GTPv1);
      return OUTCOME_IP;
    }
    const flags = data[p]!;
    // Only GTPv1 (not GTP') G-PDUs carry user packets; signalling stays a plain UDP flow.
    if (flags >> 5 !== 1 || (flags & 0x10) === 0 || data[p + 1] !== 0xff) return OUTCOME_IP;
    const teid = ((data[p + 4]! << 24) | (data[p + 5]! << 16) | (data[p + 6]! << 8) |
      data[p + 7]!) >>> 0;
    let hl = 8;
    if ((flags & 0x07) !== 0) {
      if (cap < 12) {
        this.#weird(d, WEIRD.truncated_GTPv1);
        return OUTCOME_IP;
      }
      hl = 12;
      let next = (flags & 0x04) !== 0 ? data[p + 11]! : 0;
      while (next !== 0) {
        const extLen = hl < cap ? data[p + hl]! << 2 : 0;
        if (extLen === 0 || cap < hl + extLen) {
          this.#weird(d, WEIRD.truncated_GTPv1);
          return OUTCOME_IP;
        }
        next = data[p + hl + extLen - 1]!;
        hl += extLen;
      }
    }
    const version = cap > hl ? data[p + hl]! >> 4 : 0;
    if (version !== 4 && version !== 6) {
      this.#weird(d, WEIRD.GTPv1_invalid_inner_packet);
      return OUTCOME_IP;
    }
    if (!this.#enter(d, TUNNEL_GTPV1, teid)) return OUTCOME_IP;
    return this.#leave(
      d,
      this.#inside(d, data, p + hl, len - hl, cap - hl, LINKTYPE_RAW, 0),
      true,
    );
  }

  #geneve(d: DecodedPacket, data: Uint8Array, p: number, len: number, cap: number): number {
    if (cap < 8) {
      this.#weird(d, WEIRD.truncated_Geneve);
      return OUTCOME_IP;
    }
    if (data[p]! >> 6 !== 0) return OUTCOME_IP;
    const hl = 8 + ((data[p]! & 0x3f) << 2);
    const ptype = (data[p + 2]! << 8) | data[p + 3]!;
    if (cap < hl) {
      this.#weird(d, WEIRD.truncated_Geneve);
      return OUTCOME_IP;
    }
    if (ptype !== 0x6558 && ptype < 1536) return OUTCOME_IP;
    const vni = (data[p + 4]! << 16) | (data[p + 5]! << 8) | data[p + 6]!;
    if (!this.#enter(d, TUNNEL_GENEVE, vni)) return OUTCOME_IP;
    const linkType = ptype === 0x6558 ? LINKTYPE_ETHERNET : ETHERTYPE_ONLY;
    return this.#leave(
      d,
      this.#inside(d, data, p + hl, len - hl, cap - hl, linkType, ptype),
      true,
    );
  }
}
