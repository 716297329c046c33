/**
 * The decoder's and the fragment reassembler's weirds in weird.log, as
 * Zeek's packet analysis reports them. A packet analyzer calls
 * `Analyzer::Weird` → `session::Manager::Weird(name, pkt, addl, source)`
 * (`src/session/Manager.cc`): a packet that already has an IP header gives
 * a flow weird (its source and destination), one without a net weird; a
 * packet inside a tunnel adds `_in_tunnel` to the name. Fragment weirds
 * come from `src/Frag.cc` as flow weirds with no source and no suffix;
 * checksum and UDP length weirds come from the connection's session
 * adapter (`TCP`, `UDP`, `ICMP`) as connection weirds, without suffix.
 * `ZEEK_WEIRDS` in `capture/weird.ts` has each name's analyzer and kind.
 *
 * Only packets the decoder flagged reach this file, so nothing here is on
 * the common path. `DecodedPacket.weird` holds a packet's first weird and
 * `WeirdCounters` counts every one; a weird after the first is told apart
 * by comparing the counts with those after the last flagged packet.
 *
 * @module
 */

import {
  CHECKSUM_BAD,
  DecodedPacket,
  DEFAULT_MAX_TUNNEL_DEPTH,
  formatAddress,
  GENEVE_PORT,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  OUTCOME_FRAGMENT,
  OUTCOME_IP,
  PacketDecoder,
  SOURCE_TRANSPORT,
  SOURCE_TUNNEL,
  TUNNEL_GRE,
  TUNNEL_IP,
  TUNNEL_VXLAN,
  type TunnelLayer,
  VXLAN_PORT,
  WEIRD,
  WEIRD_NAMES,
  type WeirdCounters,
  ZEEK_WEIRDS,
} from "../../capture/mod.ts";
import { isLocalAddress, type LocalNet } from "../../config/mod.ts";
import { ConnTable, type ConnTracker, icmpCounterpart } from "../analysis/conn/mod.ts";
import type { ConnWeirds, WeirdLog } from "../analysis/weird/mod.ts";

/**
 * The weirds after which `capture/decode.ts` goes on decoding the packet
 * (its `#weird`, not `#bad`).
 */
const DECODING_GOES_ON: ReadonlySet<number> = new Set([
  WEIRD.triple_tagged_vlan_unsupported,
  WEIRD.non_ip_packet_in_null_transport,
  WEIRD.ip_hdr_len_zero,
  WEIRD.bad_IP_checksum,
  WEIRD.incompletely_captured_fragment,
  WEIRD.bad_TCP_checksum,
  WEIRD.bad_UDP_checksum,
  WEIRD.UDP_datagram_length_mismatch,
  WEIRD.bad_ICMP_checksum,
  WEIRD.truncated_VXLAN,
  WEIRD.truncated_Geneve,
  WEIRD.truncated_GTPv1,
  WEIRD.GTPv1_invalid_inner_packet,
  WEIRD.exceeded_tunnel_max_depth,
]);

/** The weirds the decoder raises on the packet that carries an IP-in-IP or GRE tunnel. */
const TUNNEL_ENTRY: ReadonlySet<number> = new Set([
  WEIRD.truncated_GRE,
  WEIRD.unknown_gre_version,
  WEIRD.unknown_gre_flags,
  WEIRD.gre_routing,
  WEIRD.egre_protocol_type,
  WEIRD.non_ip_packet_in_encap,
  WEIRD.invalid_inner_IP_version,
]);

/**
 * Whether the packet's weird was raised inside a tunnel payload the decoder
 * gave up on: it then puts the outer layer back as the packet (`#leave`),
 * so `d` no longer shows the layer that raised it. A UDP tunnel's datagram
 * stays `OUTCOME_IP`, which no weird that stops decoding otherwise does; an
 * IP-in-IP or GRE packet keeps its inner outcome, and no weird but the
 * tunnel's own stops decoding at a layer whose protocol is 4, 41 or 47.
 */
function raisedInLeftTunnel(d: DecodedPacket, slot: number): boolean {
  if (DECODING_GOES_ON.has(slot)) return false;
  if (d.outcome === OUTCOME_IP) return true;
  const proto = d.proto;
  return (proto === 4 || proto === 41 || proto === 47) && !TUNNEL_ENTRY.has(slot);
}

/** The IP facts a weird needs, shared by a packet and its tunnel layers. */
type IpView = DecodedPacket | TunnelLayer;

/** Reports the weirds of flagged packets; one per pipeline with weird.log on. */
export class PacketWeirds {
  readonly #log: WeirdLog;
  readonly #conns: ConnWeirds;
  readonly #sessions: ConnTracker;
  readonly #ignoreChecksumsNets: readonly LocalNet[];
  /** The decoder's counts as of the last packet with weirds, and this packet's increase. */
  readonly #seen = new Float64Array(WEIRD_NAMES.length);
  readonly #extra = new Float64Array(WEIRD_NAMES.length);
  /** Decodes a tunnel payload again for the addresses the decoder did not keep. */
  readonly #rescan = new PacketDecoder({ checksums: false, reassembler: null, tunnels: false });
  readonly #scratch = new DecodedPacket();

  constructor(
    conns: ConnWeirds,
    sessions: ConnTracker,
    ignoreChecksumsNets: readonly LocalNet[] = [],
  ) {
    this.#log = conns.log;
    this.#conns = conns;
    this.#sessions = sessions;
    this.#ignoreChecksumsNets = ignoreChecksumsNets;
  }

  /**
   * Counts the flagged packet `d` in the sessions stage (as
   * `sessions.packet(d, ts)`) and reports its weirds: first those of the
   * reassembler noted in `counters` (Zeek raises them while adding the
   * fragment, before the datagram is analysed), then the decoder's.
   */
  packet(d: DecodedPacket, ts: number, counters: WeirdCounters): void {
    const sessions = this.#sessions;
    const badBefore = sessions.stats().badChecksums;
    sessions.packet(d, ts);
    const now = sessions.now;
    const extra = this.#extra;
    const counts = counters.counts;
    const seen = this.#seen;
    for (let i = 1; i < counts.length; i++) extra[i] = counts[i]! - seen[i]!;
    seen.set(counts);
    for (let i = 0; i < counters.raisedCount; i++) {
      const slot = counters.raised[i]!;
      extra[slot]!--;
      this.#fragment(now, d, slot);
    }
    const first = d.weird;
    if (first === 0) return;
    extra[first]!--;
    this.#decoded(now, d, first, badBefore);
    // Zeek's IP analyzer stops at a bad header checksum; the decoder only marks it.
    if (first === WEIRD.bad_IP_checksum) return;
    // A packet the decoder went on with after its first weird (`zeek -C` with a zero IP
    // length, a first fragment, a triple tag, …) can raise more, as Zeek does; each was
    // counted, and they come from the layer the decoder ended in.
    for (let i = 1; i < extra.length; i++) {
      for (let n = extra[i]!; n > 0; n--) this.#decoded(now, d, i, badBefore);
    }
  }

  /** A packet the pipeline does not analyse: its weirds are counted, not reported. */
  skip(counters: WeirdCounters): void {
    this.#seen.set(counters.counts);
  }

  #fragment(now: number, d: DecodedPacket, slot: number): void {
    const zeek = ZEEK_WEIRDS[WEIRD_NAMES[slot]!];
    if (zeek === null) return;
    // The addresses of the layer that is (or was) the fragment, when the datagram led into a tunnel.
    let at: IpView = d;
    for (let i = 0; i < d.tunnelDepth; i++) {
      const layer = d.tunnels[i]!;
      if (layer.fragment || layer.reassembled) {
        at = layer;
        break;
      }
    }
    this.#log.flowWeird(
      now,
      formatAddress(at.addr, 0),
      formatAddress(at.addr, 4),
      WEIRD_NAMES[slot]!,
      zeek.addl ?? "",
      zeek.source,
    );
  }

  #decoded(now: number, d: DecodedPacket, slot: number, badBefore: number): void {
    const zeek = ZEEK_WEIRDS[WEIRD_NAMES[slot]!];
    if (zeek === null) return;
    let name: string = WEIRD_NAMES[slot]!;
    let source = zeek.source;
    let kind = zeek.kind;
    let addl = zeek.addl ?? "";
    if (raisedInLeftTunnel(d, slot)) {
      // Zeek raised it on the tunnel's inner packet, which has no IP header for a net
      // weird; a flow weird's inner addresses went with the layer the decoder left.
      if (kind === "net") this.#log.netWeird(now, `${name}_in_tunnel`, addl, source);
      return;
    }
    switch (slot) {
      case WEIRD.bad_IP_checksum:
        this.#badIpChecksum(now, d);
        return;
      case WEIRD.UDP_datagram_length_mismatch:
        this.#udpLength(d);
        return;
      case WEIRD.bad_TCP_checksum:
      case WEIRD.bad_UDP_checksum:
      case WEIRD.bad_ICMP_checksum: {
        // Zeek checks only when the packet reached its connection, the kernel did not vouch
        // for it and its source is not in ignore_checksums_nets: exactly when the sessions
        // stage held the checksum against the connection.
        if (this.#sessions.stats().badChecksums === badBefore) return;
        const conn = this.#slotOf(d, d.proto, d);
        if (conn >= 0) this.#conns.report(conn, name, "", source);
        return;
      }
      case WEIRD.bad_TCP_header_len:
        // TCPAnalyzer::ExtractTCP_Header raises it on the connection Zeek made for the
        // packet; the sessions stage makes none for a packet that did not decode.
        return;
      case WEIRD.truncated_header:
        // Past the first checks, the TCP header's own length is ExtractTCP_Header's (as above).
        if (d.tcpHeaderLen !== 0) return;
        source = transportSource(d.proto);
        break;
      case WEIRD.internally_truncated_header:
        // The transport header rather than the IP header: IPBasedAnalyzer::CheckHeaderTrunc,
        // on a packet whose IP header is accepted.
        if (d.l4Offset !== 0) {
          source = transportSource(d.proto);
          kind = "flow";
        }
        break;
      case WEIRD.invalid_IP_header_size:
        // IPAnalyzer::AnalyzePacket checks a reassembled datagram's header again, when the
        // packet already carries it.
        if (d.reassembled) kind = "flow";
        break;
      case WEIRD.truncated_Linux_SLL_header:
        if (d.linkType === LINKTYPE_LINUX_SLL2) {
          name = "truncated_Linux_SLL2_header";
          source = "LINUXSLL2";
        }
        break;
      case WEIRD.undefined_ether_type:
        // After an 802.1Q tag the VLAN analyzer looks at the type (VLAN.cc).
        if (d.vlanTags !== 0) {
          name = "undefined_vlan_protocol";
          source = "VLAN";
        }
        break;
      case WEIRD.unknown_gre_version:
        addl = `version=${d.data[d.l4Offset + 1]! & 7}`;
        break;
      case WEIRD.egre_protocol_type:
        addl = `proto=${(d.data[d.l4Offset + 2]! << 8) | d.data[d.l4Offset + 3]!}`;
        break;
      case WEIRD.exceeded_tunnel_max_depth:
        this.#tooDeep(now, d);
        return;
    }
    if (source === SOURCE_TRANSPORT || source === SOURCE_TUNNEL) return;
    if (d.tunnelDepth > 0) name = `${name}_in_tunnel`;
    if (kind === "net") this.#log.netWeird(now, name, addl, source);
    else {
      this.#log.flowWeird(
        now,
        formatAddress(d.addr, 0),
        formatAddress(d.addr, 4),
        name,
        addl,
        source,
      );
    }
  }

  /**
   * `exceeded_tunnel_max_depth`, raised by the analyzer of the tunnel Zeek
   * would have entered, on the packet that carries it: VXLAN, GENEVE, or
   * IPTUNNEL for IP-in-IP and GRE (GRE hands its payload to IPTunnel, which
   * checks the depth). GTPv1's analyzer says `tunnel_depth` instead, as a
   * net weird (`gtpv1-analyzer.pac`, no packet given).
   */
  #tooDeep(now: number, d: DecodedPacket): void {
    let carrier: DecodedPacket | null = d;
    if (d.tunnelDepth !== DEFAULT_MAX_TUNNEL_DEPTH) {
      // A refused IP-in-IP or GRE payload ends decoding, and the decoder went back out
      // through every layer: the carrier is the payload of the deepest saved layer.
      carrier = this.#payloadOf(d.tunnels[DEFAULT_MAX_TUNNEL_DEPTH - 1]!, d.ts);
      if (carrier === null) return;
    }
    const proto = carrier.proto;
    let source = "IPTUNNEL";
    if (proto === 17) {
      const port = carrier.dstPort;
      if (port !== VXLAN_PORT && port !== GENEVE_PORT) {
        this.#log.netWeird(now, "tunnel_depth", "", "GTPV1");
        return;
      }
      source = port === VXLAN_PORT ? "VXLAN" : "GENEVE";
    }
    const name = DEFAULT_MAX_TUNNEL_DEPTH > 0
      ? "exceeded_tunnel_max_depth_in_tunnel"
      : "exceeded_tunnel_max_depth";
    const src = formatAddress(carrier.addr, 0);
    this.#log.flowWeird(now, src, formatAddress(carrier.addr, 4), name, "", source);
  }

  /**
   * The IP header in the payload of an IP-in-IP, GRE or VXLAN layer, decoded
   * again without tunnels (into a scratch packet), or null for other layers.
   */
  #payloadOf(layer: TunnelLayer, ts: number): DecodedPacket | null {
    const data = layer.data;
    const start = layer.l4Offset;
    const end = start + layer.l4Caplen;
    let p = start;
    let linkType = LINKTYPE_RAW;
    if (layer.type === TUNNEL_GRE) {
      if (end - p < 4) return null;
      const flags = (data[p]! << 8) | data[p + 1]!;
      const ptype = (data[p + 2]! << 8) | data[p + 3]!;
      p += 4 + ((flags & 0x8000) !== 0 ? 4 : 0) + ((flags & 0x2000) !== 0 ? 4 : 0) +
        ((flags & 0x1000) !== 0 ? 4 : 0) + ((flags & 0x0080) !== 0 ? 4 : 0);
      if ((flags & 7) === 1) p += 4;
      else if (ptype === 0x6558) linkType = LINKTYPE_ETHERNET;
      else if (ptype !== 0x0800 && ptype !== 0x86dd) return null;
    } else if (layer.type === TUNNEL_VXLAN) {
      p += 16;
      linkType = LINKTYPE_ETHERNET;
    } else if (layer.type !== TUNNEL_IP) return null;
    if (p >= end) return null;
    const scratch = this.#scratch;
    const outcome = this.#rescan.decodeFrame(data, p, end - p, end - p, linkType, 0, ts, scratch);
    return outcome === OUTCOME_IP || outcome === OUTCOME_FRAGMENT ? scratch : null;
  }

  /** The first layer with a bad header checksum is where Zeek's IP analyzer stopped. */
  #badIpChecksum(now: number, d: DecodedPacket): void {
    let at: IpView = d;
    let depth = d.tunnelDepth;
    for (let i = 0; i < d.tunnelDepth; i++) {
      if (d.tunnels[i]!.ipChecksum === CHECKSUM_BAD) {
        at = d.tunnels[i]!;
        depth = i;
        break;
      }
    }
    // Raised in a layer the decoder left (see `raisedInLeftTunnel`): its addresses are gone.
    if (at.ipChecksum !== CHECKSUM_BAD) return;
    const src = formatAddress(at.addr, 0);
    const nets = this.#ignoreChecksumsNets;
    if (nets.length > 0 && isLocalAddress(nets, src)) return;
    const name = depth > 0 ? "bad_IP_checksum_in_tunnel" : "bad_IP_checksum";
    this.#log.flowWeird(now, src, formatAddress(at.addr, 4), name, "", "IP");
  }

  /** The mismatch belongs to the first UDP layer with it: a tunnel's datagram or the packet's own. */
  #udpLength(d: DecodedPacket): void {
    let at: IpView = d;
    for (let i = 0; i < d.tunnelDepth; i++) {
      const layer = d.tunnels[i]!;
      if (layer.proto === 17 && layer.udpLen !== layer.l4Len) {
        at = layer;
        break;
      }
    }
    const lastSlot = this.#sessions.lastSlot;
    const conn = at === d && lastSlot >= 0 ? lastSlot : this.#slotOf(at, 17, d);
    if (conn < 0) return;
    this.#conns.report(conn, "UDP_datagram_length_mismatch", `${at.udpLen} != ${at.l4Len}`, "UDP");
  }

  /** The connection the sessions stage keeps for `at` (a layer of `d`), or -1. */
  #slotOf(at: IpView, proto: number, d: DecodedPacket): number {
    const table = this.#sessions.table;
    let sport = at.srcPort;
    let dport = at.dstPort;
    let oneWay = false;
    if (proto === 1 || proto === 58) {
      // ICMP connections are keyed on type and counterpart type, as the sessions stage keys them.
      const counterpart = icmpCounterpart(proto === 58, d.icmpType, d.icmpCode);
      oneWay = counterpart < 0;
      sport = d.icmpType;
      dport = oneWay ? -1 - counterpart : counterpart;
    }
    const vlan = table.vlanKey ? d.vlan : 0;
    const inner = table.vlanKey ? d.innerVlan : 0;
    const words = at.addrWords;
    const hash = ConnTable.hashKey(words, proto, sport, dport, vlan, inner);
    return table.find(words, proto, sport, dport, oneWay, vlan, inner, hash);
  }
}

/** The transport analyzer's canonical name (`TCP`, `UDP`, `ICMP` for ICMPv6 too). */
function transportSource(proto: number): string {
  return proto === 6 ? "TCP" : proto === 17 ? "UDP" : proto === 1 || proto === 58 ? "ICMP" : "";
}
