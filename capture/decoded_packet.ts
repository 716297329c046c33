/**
 * What the decoder learns about one packet, in a reusable struct of
 * numbers: one `DecodedPacket` is filled again for every packet, so reading
 * it allocates nothing. Offsets point into `data`, which is the capture
 * buffer or, for a reassembled datagram, the reassembler's buffer; both are
 * borrowed until the next packet.
 *
 * Addresses are eight big-endian 32-bit words in `addr`: source in 0–3,
 * destination in 4–7, IPv4 as the mapped form ::ffff:a.b.c.d (words 0, 0,
 * 0xffff, a.b.c.d), the same slots Zeek's `addr` uses.
 *
 * Which fields mean something depends on the outcome: link-layer fields
 * always, IP fields for OUTCOME_IP and OUTCOME_FRAGMENT, transport fields
 * for OUTCOME_IP per `proto` (TCP, UDP or ICMP fields; payload fields for
 * every protocol). Addresses are not cleared between packets, so read them
 * only when the outcome says there is an IP header.
 *
 * @module
 */

import { formatAddr } from "../zeek/mod.ts";

/** The packet is an IP datagram whose transport fields are filled (per `proto`). */
export const OUTCOME_IP = 1;
/** An IP fragment held for reassembly (or not reassembled): addresses and `proto` only. */
export const OUTCOME_FRAGMENT = 2;
/** A well-formed frame that carries no IP (ARP, LLDP, PPPoE discovery, …). */
export const OUTCOME_NOT_IP = 3;
/** Decoding stopped at a malformed header; `weird` names the first problem. */
export const OUTCOME_MALFORMED = 4;

/** The checksum was not verified (`checksums: false`, or the packet is not fully captured). */
export const CHECKSUM_UNCHECKED = 0;
export const CHECKSUM_GOOD = 1;
export const CHECKSUM_BAD = 2;
/** The packet declares no checksum (UDP over IPv4 with 0, VXLAN with 0). */
export const CHECKSUM_ABSENT = 3;

/** IP-in-IP (protocol 4 or 41). */
export const TUNNEL_IP = 1;
export const TUNNEL_GRE = 2;
export const TUNNEL_VXLAN = 3;
export const TUNNEL_GTPV1 = 4;
export const TUNNEL_GENEVE = 5;

/** Tunnel layers a packet can record; `PacketDecoder`'s `maxTunnelDepth` stays within it. */
export const MAX_TUNNEL_DEPTH = 4;

/** TCP flag bits as in the header's flags byte. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

const EMPTY = new Uint8Array(0);

/**
 * One encapsulating layer: the outer packet's IP and transport facts at the
 * point where its payload was decapsulated. UDP-based tunnels (VXLAN, GTPv1,
 * Geneve) are connections of their own in Zeek (the outer UDP flow gets a
 * conn.log row); IP-in-IP and GRE are only parents of the inner connection.
 */
export class TunnelLayer {
  /** TUNNEL_* kind of the encapsulation this layer carries. */
  type = 0;
  /** VXLAN/Geneve VNI, GTP TEID or GRE key; 0 when the header has none. */
  tunnelId = 0;
  data: Uint8Array = EMPTY;
  ipVersion = 0;
  ipOffset = 0;
  ipHeaderLen = 0;
  ipTotalLen = 0;
  ipId = 0;
  ttl = 0;
  ipChecksum = 0;
  fragment = false;
  reassembled = false;
  df = false;
  proto = 0;
  /** Source words 0–3, destination 4–7 (see `DecodedPacket.addr`). */
  readonly addr: Uint32Array = new Uint32Array(8);
  /** The same memory as `addr`, signed: integer math on it stays in 32-bit registers. */
  readonly addrWords: Int32Array = new Int32Array(this.addr.buffer);
  srcPort = 0;
  dstPort = 0;
  l4Offset = 0;
  l4Len = 0;
  l4Caplen = 0;
  l4Checksum = 0;
  udpLen = 0;
  payloadOffset = 0;
  payloadLen = 0;
  payloadCaplen = 0;
}

/** The decoded view of one packet; reuse one instance for a whole capture. */
export class DecodedPacket {
  /** OUTCOME_* of the last decode. */
  outcome = 0;
  /** The first weird slot (`WEIRD.<name>`) this packet raised; 0 for none. */
  weird = 0;
  /** Packet time in fractional epoch seconds. */
  ts = 0;
  /** Bytes on the wire and captured, as the source reported them. */
  wireLen = 0;
  caplen = 0;
  linkType = 0;
  /** Offset of the outermost Ethernet destination MAC (source MAC 6 bytes later), or -1. */
  macOffset = -1;
  /** The ethertype that led to the IP header (0 for link types without one). */
  ethertype = 0;
  /** Outer and inner VLAN ids seen (informational; not part of any flow key). */
  vlan = 0;
  innerVlan = 0;
  vlanTags = 0;
  mplsLabels = 0;
  pppoe = false;
  /** Buffer the IP and transport offsets point into. */
  data: Uint8Array = EMPTY;
  ipVersion = 0;
  ipOffset = 0;
  /** IPv4 header length, or IPv6's 40 plus every extension header before the transport. */
  ipHeaderLen = 0;
  /** IPv4 total length; IPv6 payload length + 40. Reassembled datagrams: the whole datagram. */
  ipTotalLen = 0;
  ipId = 0;
  ttl = 0;
  flowLabel = 0;
  ipChecksum = 0;
  /** This packet is a fragment whose datagram is not (yet) reassembled. */
  fragment = false;
  /** This packet completed a datagram; `data` is the reassembler's buffer. */
  reassembled = false;
  df = false;
  /** The transport protocol after IPv6 extension headers (6, 17, 1, 58, 132, …). */
  proto = 0;
  /** Source address words 0–3, destination 4–7, big-endian values. */
  readonly addr: Uint32Array = new Uint32Array(8);
  /** The same memory as `addr`, signed: integer math on it stays in 32-bit registers. */
  readonly addrWords: Int32Array = new Int32Array(this.addr.buffer);
  srcPort = 0;
  dstPort = 0;
  /** Where the transport header starts, its length per the IP header, and how much was captured. */
  l4Offset = 0;
  l4Len = 0;
  l4Caplen = 0;
  l4Checksum = 0;
  /** The UDP header's length field. */
  udpLen = 0;
  /** TCP_* bits. */
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  tcpHeaderLen = 0;
  icmpType = 0;
  icmpCode = 0;
  /** Transport payload: offset, length per the headers, and bytes captured. */
  payloadOffset = 0;
  payloadLen = 0;
  payloadCaplen = 0;
  /** Encapsulating layers, outermost first; `tunnels[0 … tunnelDepth)` are valid. */
  tunnelDepth = 0;
  readonly tunnels: readonly TunnelLayer[] = Array.from(
    { length: MAX_TUNNEL_DEPTH },
    () => new TunnelLayer(),
  );

  /** Resets the per-packet fields before a decode. */
  clear(): void {
    this.outcome = 0;
    this.weird = 0;
    this.macOffset = -1;
    this.ethertype = 0;
    this.vlan = 0;
    this.innerVlan = 0;
    this.vlanTags = 0;
    this.mplsLabels = 0;
    this.pppoe = false;
    this.tunnelDepth = 0;
    this.clearIp();
  }

  /** Resets the IP-level fields (done again for each tunnel layer). */
  clearIp(): void {
    this.ipVersion = 0;
    this.ipOffset = 0;
    this.ipHeaderLen = 0;
    this.ipTotalLen = 0;
    this.ipId = 0;
    this.ttl = 0;
    this.flowLabel = 0;
    this.ipChecksum = 0;
    this.fragment = false;
    this.reassembled = false;
    this.df = false;
    this.proto = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.l4Offset = 0;
    this.l4Len = 0;
    this.l4Caplen = 0;
    this.l4Checksum = 0;
    this.udpLen = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.tcpHeaderLen = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.payloadOffset = 0;
    this.payloadLen = 0;
    this.payloadCaplen = 0;
  }

  /** Copies the IP-level fields into a tunnel layer. */
  saveLayer(t: TunnelLayer, type: number, tunnelId: number): void {
    t.type = type;
    t.tunnelId = tunnelId;
    t.data = this.data;
    t.ipVersion = this.ipVersion;
    t.ipOffset = this.ipOffset;
    t.ipHeaderLen = this.ipHeaderLen;
    t.ipTotalLen = this.ipTotalLen;
    t.ipId = this.ipId;
    t.ttl = this.ttl;
    t.ipChecksum = this.ipChecksum;
    t.fragment = this.fragment;
    t.reassembled = this.reassembled;
    t.df = this.df;
    t.proto = this.proto;
    t.addr.set(this.addr);
    t.srcPort = this.srcPort;
    t.dstPort = this.dstPort;
    t.l4Offset = this.l4Offset;
    t.l4Len = this.l4Len;
    t.l4Caplen = this.l4Caplen;
    t.l4Checksum = this.l4Checksum;
    t.udpLen = this.udpLen;
    t.payloadOffset = this.payloadOffset;
    t.payloadLen = this.payloadLen;
    t.payloadCaplen = this.payloadCaplen;
  }

  /** Puts a tunnel layer back as the packet's own IP level (when its payload did not decode). */
  restoreLayer(t: TunnelLayer): void {
    this.clearIp();
    this.data = t.data;
    this.ipVersion = t.ipVersion;
    this.ipOffset = t.ipOffset;
    this.ipHeaderLen = t.ipHeaderLen;
    this.ipTotalLen = t.ipTotalLen;
    this.ipId = t.ipId;
    this.ttl = t.ttl;
    this.ipChecksum = t.ipChecksum;
    this.fragment = t.fragment;
    this.reassembled = t.reassembled;
    this.df = t.df;
    this.proto = t.proto;
    this.addr.set(t.addr);
    this.srcPort = t.srcPort;
    this.dstPort = t.dstPort;
    this.l4Offset = t.l4Offset;
    this.l4Len = t.l4Len;
    this.l4Caplen = t.l4Caplen;
    this.l4Checksum = t.l4Checksum;
    this.udpLen = t.udpLen;
    this.payloadOffset = t.payloadOffset;
    this.payloadLen = t.payloadLen;
    this.payloadCaplen = t.payloadCaplen;
  }
}

// One address is formatted at a time, so one scratch serves every call.
const ADDR_BYTES = new Uint8Array(16);
const ADDR_VIEW = new DataView(ADDR_BYTES.buffer);

/**
 * Text of the address in `words[base … base+4)` (base 0: source, 4:
 * destination): dotted quad for IPv4-mapped, RFC 5952 for IPv6. Allocates
 * only the string; for logs and tests, not per packet.
 */
export function formatAddress(words: Uint32Array, base: number): string {
  for (let i = 0; i < 4; i++) ADDR_VIEW.setUint32(4 * i, words[base + i]!);
  return formatAddr(ADDR_BYTES, 0, 16);
}
