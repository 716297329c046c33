import assert from "node:assert/strict";
import {
  bytes,
  concat,
  ethernet,
  fragmentV4,
  geneve,
  gre,
  gtp,
  icmp,
  ipv4,
  ipv6,
  mpls,
  pppoe,
  tcp,
  udp,
  v4,
  vxlan,
} from "../testing/frames.ts";
import { PacketDecoder } from "./decode.ts";
import {
  CHECKSUM_ABSENT,
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  CHECKSUM_UNCHECKED,
  DecodedPacket,
  formatAddress,
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
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "./link_type.ts";
import { WEIRD, WeirdCounters } from "./weird.ts";
import { mulberry32 as rng } from "../testing/prng.ts";

const ETH = LINKTYPE_ETHERNET;
const TS = 1700000000.5;

interface Expect {
  outcome?: number;
  ipVersion?: number;
  proto?: number;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  vlan?: number;
  innerVlan?: number;
  tunnels?: number[];
  ipTotalLen?: number;
  payloadLen?: number;
  tcpFlags?: number;
  icmpType?: number;
  ethertype?: number;
}

interface Case {
  name: string;
  linkType: number;
  frame: Uint8Array;
  expect: Expect;
}

function decode(
  frame: Uint8Array,
  linkType = ETH,
  options: ConstructorParameters<typeof PacketDecoder>[0] = {},
  wireLen = frame.length,
  vlan = 0,
): { d: DecodedPacket; decoder: PacketDecoder; outcome: number } {
  const decoder = new PacketDecoder(options);
  const d = new DecodedPacket();
  const outcome = decoder.decodeFrame(frame, 0, frame.length, wireLen, linkType, vlan, TS, d);
  return { d, decoder, outcome };
}

function check(name: string, d: DecodedPacket, outcome: number, e: Expect): void {
  assert.equal(outcome, e.outcome ?? OUTCOME_IP, `${name}: outcome (weird ${d.weird})`);
  assert.equal(d.outcome, outcome, `${name}: stored outcome`);
  if (e.ipVersion !== undefined) assert.equal(d.ipVersion, e.ipVersion, `${name}: ipVersion`);
  if (e.proto !== undefined) assert.equal(d.proto, e.proto, `${name}: proto`);
  if (e.src !== undefined) assert.equal(formatAddress(d.addr, 0), e.src, `${name}: src`);
  if (e.dst !== undefined) assert.equal(formatAddress(d.addr, 4), e.dst, `${name}: dst`);
  if (e.sport !== undefined) assert.equal(d.srcPort, e.sport, `${name}: sport`);
  if (e.dport !== undefined) assert.equal(d.dstPort, e.dport, `${name}: dport`);
  if (e.vlan !== undefined) assert.equal(d.vlan, e.vlan, `${name}: vlan`);
  if (e.innerVlan !== undefined) assert.equal(d.innerVlan, e.innerVlan, `${name}: innerVlan`);
  if (e.ipTotalLen !== undefined) assert.equal(d.ipTotalLen, e.ipTotalLen, `${name}: ipTotalLen`);
  if (e.payloadLen !== undefined) assert.equal(d.payloadLen, e.payloadLen, `${name}: payloadLen`);
  if (e.tcpFlags !== undefined) assert.equal(d.tcpFlags, e.tcpFlags, `${name}: tcpFlags`);
  if (e.icmpType !== undefined) assert.equal(d.icmpType, e.icmpType, `${name}: icmpType`);
  if (e.ethertype !== undefined) assert.equal(d.ethertype, e.ethertype, `${name}: ethertype`);
  const tunnels = e.tunnels ?? [];
  assert.equal(d.tunnelDepth, tunnels.length, `${name}: tunnel depth`);
  tunnels.forEach((type, i) => assert.equal(d.tunnels[i]!.type, type, `${name}: tunnel ${i}`));
  if (outcome === OUTCOME_IP) {
    assert.equal(d.ipChecksum === CHECKSUM_BAD, false, `${name}: IP checksum`);
    assert.equal(d.l4Checksum === CHECKSUM_BAD, false, `${name}: transport checksum`);
  }
}

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const tcp4 = ipv4(6, tcp({ sport: 40000, dport: 80, flags: 0x18, ack: 77, payload: payload(33) }));
const udp4 = ipv4(17, udp(5353, 53, payload(20)), { src: "192.168.1.5", dst: "8.8.8.8" });
const tcp6 = ipv6(6, tcp({ sport: 443, dport: 51000, flags: 0x12, payload: payload(5) }));
const innerEth = ethernet(
  0x0800,
  ipv4(6, tcp({ sport: 1, dport: 2 }), { src: "1.1.1.1", dst: "2.2.2.2" }),
);

const CASES: Case[] = [
  {
    name: "Ethernet IPv4 TCP",
    linkType: ETH,
    frame: ethernet(0x0800, tcp4),
    expect: {
      ipVersion: 4,
      proto: 6,
      src: "10.0.0.1",
      dst: "10.0.0.2",
      sport: 40000,
      dport: 80,
      tcpFlags: 0x18,
      ipTotalLen: 20 + 20 + 33,
      payloadLen: 33,
      ethertype: 0x0800,
    },
  },
  {
    name: "IPv4 with options, UDP",
    linkType: ETH,
    frame: ethernet(
      0x0800,
      ipv4(17, udp(1000, 2000, payload(10)), { options: bytes(0x94, 4, 0, 0, 1, 1, 1, 0) }),
    ),
    expect: { proto: 17, sport: 1000, dport: 2000, ipTotalLen: 28 + 18, payloadLen: 10 },
  },
  {
    name: "ICMP echo",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(1, icmp(8, 0, 0x12340001, payload(56)))),
    expect: { proto: 1, icmpType: 8, payloadLen: 56, sport: 0, dport: 0 },
  },
  {
    name: "IPv6 TCP",
    linkType: ETH,
    frame: ethernet(0x86dd, tcp6),
    expect: {
      ipVersion: 6,
      proto: 6,
      src: "2001:db8::1",
      dst: "2001:db8::2",
      sport: 443,
      dport: 51000,
      ipTotalLen: 40 + 25,
    },
  },
  {
    name: "IPv6 extension headers and routing to a final hop",
    linkType: ETH,
    frame: ethernet(
      0x86dd,
      ipv6(17, udp(7, 9, payload(12)), {
        extensions: [
          { type: 0, body: bytes(1, 4, 0, 0, 0, 0) },
          { type: 60, body: bytes(1, 4, 0, 0, 0, 0) },
          { type: 43, body: concat(bytes(0, 1, 0, 0, 0, 0), v6Bytes("2001:db8::99")) },
        ],
        checksumDst: "2001:db8::99",
      }),
    ),
    expect: { ipVersion: 6, proto: 17, dst: "2001:db8::99", sport: 7, dport: 9, payloadLen: 12 },
  },
  {
    name: "IPv6 AH then TCP",
    linkType: ETH,
    frame: ethernet(
      0x86dd,
      ipv6(6, tcp({ sport: 5, dport: 6 }), {
        extensions: [{
          type: 51,
          body: bytes(0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        }],
      }),
    ),
    expect: { proto: 6, sport: 5, dport: 6 },
  },
  {
    name: "IPv6 atomic fragment",
    linkType: ETH,
    frame: ethernet(
      0x86dd,
      ipv6(17, udp(1, 2, payload(4)), {
        extensions: [{ type: 44, body: bytes(0, 0, 0, 0, 0, 9) }],
      }),
    ),
    expect: { proto: 17, sport: 1, dport: 2 },
  },
  {
    name: "ICMPv6 echo",
    linkType: ETH,
    frame: ethernet(0x86dd, ipv6(58, icmp(128, 0, 1, payload(8)))),
    expect: { proto: 58, icmpType: 128 },
  },
  {
    name: "802.1Q",
    linkType: ETH,
    frame: ethernet(0x0800, udp4, [[0x8100, 42]]),
    expect: { vlan: 42, innerVlan: 0, sport: 5353, src: "192.168.1.5" },
  },
  {
    name: "QinQ 802.1ad",
    linkType: ETH,
    frame: ethernet(0x0800, udp4, [[0x88a8, 100], [0x8100, 200]]),
    expect: { vlan: 100, innerVlan: 200, dport: 53 },
  },
  {
    name: "QinQ 0x9100",
    linkType: ETH,
    frame: ethernet(0x86dd, tcp6, [[0x9100, 7], [0x8100, 8]]),
    expect: { vlan: 7, innerVlan: 8, ipVersion: 6 },
  },
  {
    name: "MPLS to IPv4",
    linkType: ETH,
    frame: ethernet(0x8847, mpls([100, 200], tcp4)),
    expect: { sport: 40000, ethertype: 0x0800 },
  },
  {
    name: "MPLS to IPv6",
    linkType: ETH,
    frame: ethernet(0x8847, mpls([5], tcp6), [[0x8100, 3]]),
    expect: { ipVersion: 6, vlan: 3 },
  },
  {
    name: "PPPoE IPv4",
    linkType: ETH,
    frame: ethernet(0x8864, pppoe(0x0021, udp4)),
    expect: { proto: 17, sport: 5353 },
  },
  {
    name: "PPPoE IPv6 ICMPv6",
    linkType: ETH,
    frame: ethernet(0x8864, pppoe(0x0057, ipv6(58, icmp(135, 0, 0, payload(20))))),
    expect: { proto: 58, icmpType: 135 },
  },
  {
    name: "PPPoE discovery",
    linkType: ETH,
    frame: ethernet(0x8863, bytes(0x11, 0x09, 0, 0, 0, 0)),
    expect: { outcome: OUTCOME_NOT_IP },
  },
  {
    name: "PPPoE LCP",
    linkType: ETH,
    frame: ethernet(0x8864, pppoe(0xc021, payload(10))),
    expect: { outcome: OUTCOME_NOT_IP },
  },
  {
    name: "ARP",
    linkType: ETH,
    frame: ethernet(0x0806, payload(28)),
    expect: { outcome: OUTCOME_NOT_IP },
  },
  {
    name: "802.3 with LLC/SNAP",
    linkType: ETH,
    frame: concat(
      bytes(0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0, 8 + tcp4.length),
      bytes(0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00),
      tcp4,
    ),
    expect: { sport: 40000 },
  },
  {
    name: "802.3 with plain LLC",
    linkType: ETH,
    frame: concat(
      bytes(0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0, 20),
      bytes(0x42, 0x42, 0x03),
      payload(17),
    ),
    expect: { outcome: OUTCOME_NOT_IP },
  },
  {
    name: "GRE carrying IPv4 ICMP",
    linkType: ETH,
    frame: ethernet(
      0x0800,
      ipv4(
        47,
        gre(
          0x0800,
          ipv4(1, icmp(8, 0, 1, payload(16)), { src: "66.59.111.190", dst: "172.28.2.3" }),
        ),
        {
          src: "172.27.1.66",
          dst: "66.59.109.137",
        },
      ),
    ),
    expect: { proto: 1, src: "66.59.111.190", dst: "172.28.2.3", tunnels: [TUNNEL_GRE] },
  },
  {
    name: "GRE with key carrying Ethernet",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(47, gre(0x6558, innerEth, 77))),
    expect: { src: "1.1.1.1", sport: 1, tunnels: [TUNNEL_GRE] },
  },
  {
    name: "IPv4 in IPv4",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(4, udp4)),
    expect: { src: "192.168.1.5", proto: 17, tunnels: [TUNNEL_IP] },
  },
  {
    name: "IPv6 in IPv4",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(41, tcp6)),
    expect: { ipVersion: 6, tunnels: [TUNNEL_IP] },
  },
  {
    name: "VXLAN",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(17, udp(50000, 4789, vxlan(5001, innerEth)))),
    expect: { src: "1.1.1.1", dst: "2.2.2.2", sport: 1, dport: 2, tunnels: [TUNNEL_VXLAN] },
  },
  {
    name: "GTPv1-U",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(17, udp(2152, 2152, gtp(0x1234, udp4)))),
    expect: { src: "192.168.1.5", sport: 5353, tunnels: [TUNNEL_GTPV1] },
  },
  {
    name: "GTPv1-U with extension headers, IPv6 inside",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(17, udp(2152, 2152, gtp(0x99, tcp6, true)))),
    expect: { ipVersion: 6, sport: 443, tunnels: [TUNNEL_GTPV1] },
  },
  {
    name: "Geneve",
    linkType: ETH,
    frame: ethernet(0x86dd, ipv6(17, udp(1234, 6081, geneve(9, 0x6558, innerEth)))),
    expect: { src: "1.1.1.1", tunnels: [TUNNEL_GENEVE] },
  },
  {
    name: "SCTP as another protocol",
    linkType: ETH,
    frame: ethernet(0x0800, ipv4(132, payload(28))),
    expect: { proto: 132, sport: 0, payloadLen: 28 },
  },
  { name: "raw IPv4", linkType: LINKTYPE_RAW, frame: tcp4, expect: { sport: 40000 } },
  { name: "raw IPv6", linkType: LINKTYPE_RAW, frame: tcp6, expect: { ipVersion: 6 } },
  { name: "LINKTYPE_IPV4", linkType: LINKTYPE_IPV4, frame: udp4, expect: { dport: 53 } },
  {
    name: "Linux cooked v1",
    linkType: LINKTYPE_LINUX_SLL,
    frame: concat(bytes(0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00), tcp4),
    expect: { sport: 40000 },
  },
  {
    name: "Linux cooked v2",
    linkType: LINKTYPE_LINUX_SLL2,
    frame: concat(bytes(0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0), tcp6),
    expect: { ipVersion: 6 },
  },
  {
    name: "BSD loopback, little-endian host",
    linkType: LINKTYPE_NULL,
    frame: concat(bytes(2, 0, 0, 0), tcp4),
    expect: { sport: 40000 },
  },
  {
    name: "BSD loopback, big-endian host, IPv6",
    linkType: LINKTYPE_NULL,
    frame: concat(bytes(0, 0, 0, 30), tcp6),
    expect: { ipVersion: 6 },
  },
  {
    name: "OpenBSD loopback",
    linkType: LINKTYPE_LOOP,
    frame: concat(bytes(0, 0, 0, 2), udp4),
    expect: { dport: 53 },
  },
  {
    name: "FDDI with LLC/SNAP",
    linkType: LINKTYPE_FDDI,
    frame: concat(
      bytes(0x50, 0xaa, 0, 4, 0, 0x82, 0xa7, 0xaa, 0, 4, 0, 0x83, 0xa7),
      bytes(0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00),
      ipv4(6, tcp({ sport: 2035, dport: 80, flags: 0x04 })),
    ),
    expect: { sport: 2035, dport: 80, tcpFlags: 0x04 },
  },
];

function v6Bytes(text: string): Uint8Array {
  return ipv6(59, new Uint8Array(0), { dst: text }).subarray(24, 40);
}

Deno.test("decodes every layer of well-formed frames", () => {
  for (const c of CASES) {
    const { d, outcome, decoder } = decode(c.frame, c.linkType);
    check(c.name, d, outcome, c.expect);
    if (outcome === OUTCOME_IP) {
      assert.equal(d.ipChecksum === CHECKSUM_GOOD || d.ipVersion === 6, true, `${c.name}: IP ok`);
      if (d.proto === 6 || d.proto === 1 || d.proto === 58) {
        assert.equal(d.l4Checksum, CHECKSUM_GOOD, `${c.name}: transport checksum verified`);
      }
      assert.equal(decoder.weirds.total(), 0, `${c.name}: weirds ${decoder.weirds.entries()}`);
    }
  }
});

Deno.test("TCP fields: sequence numbers above 2^31, window, header and payload offsets", () => {
  const frame = ethernet(
    0x0800,
    ipv4(
      6,
      tcp({
        sport: 1,
        dport: 2,
        seq: 0xfffffff0,
        ack: 0x80000001,
        flags: 0x11,
        window: 512,
        payload: payload(7),
        options: bytes(1, 1, 1, 0),
      }),
    ),
  );
  const { d } = decode(frame);
  assert.equal(d.tcpSeq, 0xfffffff0);
  assert.equal(d.tcpAck, 0x80000001);
  assert.equal(d.tcpWindow, 512);
  assert.equal(d.tcpHeaderLen, 24);
  assert.equal(d.l4Offset, 14 + 20);
  assert.equal(d.payloadOffset, 14 + 20 + 24);
  assert.equal(d.payloadLen, 7);
  assert.equal(d.macOffset, 0);
  assert.equal(d.addr[3], 0x0a000001);
  assert.equal(d.addrWords[3], 0x0a000001);
});

Deno.test("a VLAN stripped by the capture layer is the outer tag", () => {
  const { d } = decode(ethernet(0x0800, tcp4, [[0x8100, 9]]), ETH, {}, undefined, 300);
  assert.equal(d.vlan, 300);
  assert.equal(d.innerVlan, 9);
});

Deno.test("a third VLAN tag is a weird but still decodes", () => {
  const { d, outcome, decoder } = decode(
    ethernet(0x0800, tcp4, [[0x88a8, 1], [0x8100, 2], [0x8100, 3]]),
  );
  assert.equal(outcome, OUTCOME_IP);
  assert.equal(decoder.weirds.get("triple_tagged_vlan_unsupported"), 1);
  assert.equal(d.vlan, 1);
  assert.equal(d.innerVlan, 3);
});

Deno.test("checksums: good, bad, unchecked, absent", () => {
  const corrupt = (frame: Uint8Array, at: number) => {
    const copy = frame.slice();
    copy[at]! ^= 0x01;
    return copy;
  };
  const tcpFrame = ethernet(0x0800, tcp4);
  assert.equal(decode(tcpFrame).d.l4Checksum, CHECKSUM_GOOD);
  const badTcp = decode(corrupt(tcpFrame, tcpFrame.length - 1));
  assert.equal(badTcp.d.l4Checksum, CHECKSUM_BAD);
  assert.equal(badTcp.outcome, OUTCOME_IP);
  assert.equal(badTcp.decoder.weirds.get("bad_TCP_checksum"), 1);

  const badIp = decode(
    ethernet(0x0800, ipv4(6, tcp({ sport: 1, dport: 2 }), { badChecksum: true })),
  );
  assert.equal(badIp.d.ipChecksum, CHECKSUM_BAD);
  assert.equal(badIp.decoder.weirds.get("bad_IP_checksum"), 1);
  assert.equal(badIp.d.l4Checksum, CHECKSUM_GOOD);

  const udpFrame = ethernet(0x0800, udp4);
  assert.equal(decode(corrupt(udpFrame, udpFrame.length - 1)).d.l4Checksum, CHECKSUM_BAD);
  const icmpFrame = ethernet(0x0800, ipv4(1, icmp(0, 0, 5, payload(9))));
  assert.equal(decode(icmpFrame).d.l4Checksum, CHECKSUM_GOOD);
  assert.equal(decode(corrupt(icmpFrame, icmpFrame.length - 2)).d.l4Checksum, CHECKSUM_BAD);
  const icmp6Frame = ethernet(0x86dd, ipv6(58, icmp(129, 0, 5, payload(9))));
  assert.equal(decode(icmp6Frame).d.l4Checksum, CHECKSUM_GOOD);
  const icmp6Bad = decode(corrupt(icmp6Frame, 14 + 8));
  assert.equal(icmp6Bad.d.l4Checksum, CHECKSUM_BAD, "the ICMPv6 pseudo-header covers the source");

  const zero4 = ethernet(0x0800, ipv4(17, udp(1, 2, payload(3)), { keepTransportChecksum: true }));
  assert.equal(decode(zero4).d.l4Checksum, CHECKSUM_ABSENT);
  const zero6 = ethernet(0x86dd, ipv6(17, udp(1, 2, payload(3)), { keepTransportChecksum: true }));
  assert.equal(decode(zero6).d.l4Checksum, CHECKSUM_BAD);
  const vxlan6 = ethernet(
    0x86dd,
    ipv6(17, udp(1, 4789, vxlan(1, innerEth)), { keepTransportChecksum: true }),
  );
  const vx = decode(vxlan6);
  assert.equal(vx.d.tunnels[0]!.l4Checksum, CHECKSUM_ABSENT);
  assert.equal(vx.d.tunnelDepth, 1);

  const off = decode(corrupt(tcpFrame, tcpFrame.length - 1), ETH, { checksums: false });
  assert.equal(off.d.l4Checksum, CHECKSUM_UNCHECKED);
  assert.equal(off.d.ipChecksum, CHECKSUM_UNCHECKED);
  assert.equal(off.decoder.weirds.total(), 0);
});

Deno.test("snap length: headers decode, checksums stay unchecked, lengths come from IP", () => {
  const frame = ethernet(0x0800, tcp4);
  const cut = frame.subarray(0, 14 + 20 + 20 + 5);
  const { d, outcome, decoder } = decode(cut, ETH, {}, frame.length);
  assert.equal(outcome, OUTCOME_IP);
  assert.equal(d.payloadLen, 33);
  assert.equal(d.payloadCaplen, 5);
  assert.equal(d.l4Checksum, CHECKSUM_UNCHECKED);
  assert.equal(decoder.weirds.total(), 0);
});

Deno.test("Ethernet padding beyond the IP length is ignored", () => {
  const small = ipv4(6, tcp({ sport: 1, dport: 2, flags: 0x10 }));
  const frame = concat(ethernet(0x0800, small), new Uint8Array(6).fill(0xee));
  const { d, outcome } = decode(frame);
  assert.equal(outcome, OUTCOME_IP);
  assert.equal(d.ipTotalLen, 40);
  assert.equal(d.l4Len, 20);
  assert.equal(d.l4Caplen, 20);
  assert.equal(d.payloadLen, 0);
  assert.equal(d.l4Checksum, CHECKSUM_GOOD);
});

Deno.test("an IP length beyond the wire length is truncated_IP_len", () => {
  const frame = ethernet(0x0800, ipv4(6, tcp({ sport: 1, dport: 2 }), { totalLength: 400 }));
  const { outcome, decoder } = decode(frame);
  assert.equal(outcome, OUTCOME_MALFORMED);
  assert.equal(decoder.weirds.get("truncated_IP_len"), 1);
});

Deno.test("a zero IP length (segmentation offload) is trusted only without checksums", () => {
  const frame = ethernet(0x0800, ipv4(17, udp(1, 2, payload(4)), { totalLength: 0 }));
  const strict = decode(frame);
  assert.equal(strict.outcome, OUTCOME_MALFORMED);
  assert.equal(strict.decoder.weirds.get("ip_hdr_len_zero"), 1);
  const lax = decode(frame, ETH, { checksums: false });
  assert.equal(lax.outcome, OUTCOME_IP);
  assert.equal(lax.d.ipTotalLen, 32);
});

Deno.test("bad TCP data offsets and IPv6 without a next header are malformed", () => {
  const short = decode(ethernet(0x0800, ipv4(6, tcp({ sport: 1, dport: 2, dataOffset: 4 }))));
  assert.equal(short.outcome, OUTCOME_MALFORMED);
  assert.equal(short.decoder.weirds.get("bad_TCP_header_len"), 1);
  const long = decode(ethernet(0x0800, ipv4(6, tcp({ sport: 1, dport: 2, dataOffset: 15 }))));
  assert.equal(long.outcome, OUTCOME_MALFORMED);
  assert.equal(long.decoder.weirds.get("truncated_header"), 1);
  const noNext = decode(ethernet(0x86dd, ipv6(59, payload(8))));
  assert.equal(noNext.outcome, OUTCOME_MALFORMED);
  assert.equal(noNext.decoder.weirds.get("ipv6_no_next"), 1);
});

Deno.test("a tunnel whose payload does not decode leaves the outer packet", () => {
  const garbage = ethernet(
    0x0800,
    ipv4(17, udp(1000, 4789, vxlan(1, ethernet(0x0800, payload(10))))),
  );
  const vx = decode(garbage);
  assert.equal(vx.outcome, OUTCOME_IP);
  assert.equal(vx.d.tunnelDepth, 0);
  assert.equal(vx.d.proto, 17);
  assert.equal(vx.d.dstPort, 4789);
  assert.equal(vx.d.srcPort, 1000);
  assert.equal(vx.d.udpLen, 8 + 8 + 24);
  assert.equal(vx.decoder.weirds.get("truncated_IP"), 1);

  const notIp = decode(ethernet(0x0800, ipv4(47, gre(0x0806, payload(28)))));
  assert.equal(notIp.outcome, OUTCOME_NOT_IP);
  assert.equal(notIp.d.tunnelDepth, 0);

  const gtpControl = decode(
    ethernet(0x0800, ipv4(17, udp(2152, 2152, bytes(0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0)))),
  );
  assert.equal(gtpControl.outcome, OUTCOME_IP);
  assert.equal(gtpControl.d.tunnelDepth, 0);

  const off = decode(ethernet(0x0800, ipv4(17, udp(50000, 4789, vxlan(5001, innerEth)))), ETH, {
    tunnels: false,
  });
  assert.equal(off.d.tunnelDepth, 0);
  assert.equal(off.d.dstPort, 4789);
});

Deno.test("tunnels deeper than the limit stop with exceeded_tunnel_max_depth", () => {
  let packet = ipv4(1, icmp(8, 0, 1, payload(4)), { src: "9.9.9.9" });
  for (let i = 0; i < 3; i++) packet = ipv4(47, gre(0x0800, packet), { src: `10.0.0.${i + 10}` });
  const frame = ethernet(0x0800, packet);
  const two = decode(frame);
  assert.equal(two.outcome, OUTCOME_MALFORMED);
  assert.equal(two.decoder.weirds.get("exceeded_tunnel_max_depth"), 1);
  const three = decode(frame, ETH, { maxTunnelDepth: 3 });
  assert.equal(three.outcome, OUTCOME_IP);
  assert.equal(three.d.tunnelDepth, 3);
  assert.equal(formatAddress(three.d.addr, 0), "9.9.9.9");
  assert.equal(formatAddress(three.d.tunnels[0]!.addr, 0), "10.0.0.12");
  assert.equal(formatAddress(three.d.tunnels[2]!.addr, 0), "10.0.0.10");
  assert.throws(() => new PacketDecoder({ maxTunnelDepth: 9 }), /maxTunnelDepth 9/);
});

Deno.test("tunnel layers keep the outer UDP flow", () => {
  const frame = ethernet(
    0x0800,
    ipv4(17, udp(2152, 2152, gtp(0xabcdef12, udp4)), { src: "10.9.9.1", dst: "10.9.9.2" }),
  );
  const { d } = decode(frame);
  const t = d.tunnels[0]!;
  assert.equal(t.type, TUNNEL_GTPV1);
  assert.equal(t.tunnelId, 0xabcdef12);
  assert.equal(t.proto, 17);
  assert.equal(t.srcPort, 2152);
  assert.equal(formatAddress(t.addr, 4), "10.9.9.2");
  assert.equal(t.ipTotalLen, frame.length - 14);
  assert.equal(t.udpLen, frame.length - 14 - 20);
  assert.equal(d.ipTotalLen, udp4.length);
});

Deno.test("fragments: held, then decoded whole when the last arrives", () => {
  const whole = ipv4(17, udp(4000, 53, payload(3000)), { frag: 0 });
  const frags = fragmentV4(whole, 1480);
  const decoder = new PacketDecoder();
  const d = new DecodedPacket();
  const outcomes = frags.map((f) => {
    const frame = ethernet(0x0800, f);
    return decoder.decodeFrame(frame, 0, frame.length, frame.length, ETH, 0, TS, d);
  });
  assert.deepEqual(outcomes, [OUTCOME_FRAGMENT, OUTCOME_FRAGMENT, OUTCOME_IP]);
  assert.equal(d.reassembled, true);
  assert.equal(d.fragment, false);
  assert.equal(d.ipTotalLen, whole.length);
  assert.equal(d.udpLen, 3008);
  assert.equal(d.payloadLen, 3000);
  assert.equal(d.l4Checksum, CHECKSUM_GOOD);
  assert.deepEqual(d.data.subarray(d.payloadOffset, d.payloadOffset + 3000), payload(3000));

  const noReassembly = new PacketDecoder({ reassembler: null });
  const frame = ethernet(0x0800, frags[0]!);
  assert.equal(
    noReassembly.decodeFrame(frame, 0, frame.length, frame.length, ETH, 0, TS, d),
    OUTCOME_FRAGMENT,
  );
  assert.equal(d.fragment, true);
  assert.equal(d.proto, 17);
  assert.equal(formatAddress(d.addr, 0), "10.0.0.1");
});

Deno.test("an incompletely captured first fragment still yields its headers", () => {
  const whole = ipv4(17, udp(4000, 53, payload(3000)), { frag: 0 });
  const first = ethernet(0x0800, fragmentV4(whole, 1480)[0]!);
  const cut = first.subarray(0, 100);
  const { d, outcome, decoder } = decode(cut, ETH, {}, first.length);
  assert.equal(outcome, OUTCOME_IP);
  assert.equal(d.fragment, true);
  assert.equal(d.srcPort, 4000);
  assert.equal(decoder.weirds.get("incompletely_captured_fragment"), 1);
});

/** Cases for the robustness tests: the valid frames plus fragments. */
function robustnessFrames(): Case[] {
  const whole = ipv4(17, udp(4000, 53, payload(100)), { frag: 0 });
  const frag = ethernet(0x0800, fragmentV4(whole, 48)[0]!);
  return [...CASES, { name: "IPv4 fragment", linkType: ETH, frame: frag, expect: {} }];
}

Deno.test("every prefix of every frame decodes without throwing and reads nothing past the capture", () => {
  const weirds = new WeirdCounters();
  let malformed = 0;
  for (const c of robustnessFrames()) {
    for (let len = 0; len < c.frame.length; len++) {
      for (const wire of [len, c.frame.length]) {
        const results: string[] = [];
        for (const fill of [0x00, 0xff]) {
          const buf = new Uint8Array(len + 64).fill(fill);
          buf.set(c.frame.subarray(0, len));
          const decoder = new PacketDecoder({ weirds, reassembler: null });
          const d = new DecodedPacket();
          const outcome = decoder.decodeFrame(buf, 0, len, wire, c.linkType, 0, TS, d);
          if (outcome === OUTCOME_MALFORMED) malformed++;
          if (outcome === OUTCOME_IP) {
            assert.ok(d.l4Offset + d.l4Caplen <= len, `${c.name}/${len}: transport within capture`);
            assert.ok(
              d.payloadOffset + d.payloadCaplen <= len,
              `${c.name}/${len}: payload within capture`,
            );
          }
          results.push(snapshot(d, outcome));
        }
        assert.equal(
          results[0],
          results[1],
          `${c.name}: prefix ${len} (wire ${wire}) depends on bytes past the capture`,
        );
      }
    }
  }
  assert.ok(malformed > 0);
  assert.ok(weirds.get("truncated_IP") > 0);
  assert.ok(weirds.get("truncated_IP_len") > 0);
  assert.ok(weirds.get("truncated_ethernet_frame") > 0);
  assert.ok(weirds.get("internally_truncated_header") > 0);
  assert.ok(weirds.get("truncated_VLAN_header") > 0);
  assert.ok(weirds.get("truncated_IPv6_extension_header") > 0);
  assert.ok(weirds.get("truncated_GRE") > 0);
});

function snapshot(d: DecodedPacket, outcome: number): string {
  return JSON.stringify([
    outcome,
    d.weird,
    d.ipVersion,
    d.proto,
    Array.from(d.addr),
    d.srcPort,
    d.dstPort,
    d.tcpSeq,
    d.tcpFlags,
    d.icmpType,
    d.vlan,
    d.innerVlan,
    d.tunnelDepth,
    d.l4Checksum,
    d.ipChecksum,
    d.payloadLen,
    d.payloadCaplen,
  ]);
}

Deno.test("seeded random bytes and mutated frames never throw", () => {
  const random = rng(20240601);
  const weirds = new WeirdCounters();
  const decoder = new PacketDecoder({ weirds });
  const d = new DecodedPacket();
  const linkTypes = [
    ETH,
    LINKTYPE_RAW,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_LOOP,
    LINKTYPE_FDDI,
    LINKTYPE_IPV4,
    147,
  ];
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const len = Math.floor(random() * 160);
    const buf = new Uint8Array(len);
    for (let k = 0; k < len; k++) buf[k] = Math.floor(random() * 256);
    // Bias the first bytes toward real headers so the walk goes deep.
    if (len > 14 && random() < 0.5) buf.set([0x08, 0x00, 0x45], 12);
    const linkType = linkTypes[Math.floor(random() * linkTypes.length)]!;
    counts[
      decoder.decodeFrame(buf, 0, len, len + Math.floor(random() * 3) * 700, linkType, 0, TS + i, d)
    ]!++;
  }
  const frames = robustnessFrames();
  for (let i = 0; i < 20000; i++) {
    const c = frames[i % frames.length]!;
    const buf = c.frame.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let k = 0; k < flips; k++) {
      buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
    }
    counts[decoder.decodeFrame(buf, 0, buf.length, buf.length, c.linkType, 0, TS + i, d)]!++;
  }
  assert.ok(counts[OUTCOME_MALFORMED]! > 1000, `malformed ${counts}`);
  assert.ok(counts[OUTCOME_IP]! > 1000, `decoded ${counts}`);
  assert.ok(weirds.total() > 1000);
  assert.ok(weirds.get("unknown_link_type") > 0);
  assert.ok(
    weirds.get("bad_IP_checksum") + weirds.get("bad_TCP_checksum") +
        weirds.get("bad_UDP_checksum") > 0,
  );
});

Deno.test("decode() reads a batch slot like decodeFrame", async () => {
  const { PacketBatch } = await import("./packet_source.ts");
  const frame = ethernet(0x0800, tcp4);
  const batch = new PacketBatch(2);
  const data = new Uint8Array(100 + frame.length);
  data.set(frame, 100);
  batch.data = data;
  batch.count = 1;
  batch.offset[0] = 100;
  batch.caplen[0] = frame.length;
  batch.wireLen[0] = frame.length;
  batch.linkType[0] = ETH;
  batch.tsSec[0] = 1700000000;
  batch.tsNsec[0] = 250_000_000;
  batch.vlan[0] = 12;
  const d = new DecodedPacket();
  assert.equal(new PacketDecoder().decode(batch, 0, d), OUTCOME_IP);
  assert.equal(d.ts, 1700000000.25);
  assert.equal(d.vlan, 12);
  assert.equal(d.macOffset, 100);
  assert.equal(d.l4Offset, 134);
  assert.equal(d.weird, 0);
  assert.equal(WEIRD.none, 0);
});

Deno.test("raw IPv4 address words match v4()", () => {
  const { d } = decode(udp4, LINKTYPE_RAW);
  const src = v4("192.168.1.5");
  assert.equal(d.addr[3], ((src[0]! << 24) | (src[1]! << 16) | (src[2]! << 8) | src[3]!) >>> 0);
  assert.equal(d.addr[2], 0xffff);
});
