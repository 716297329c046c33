import assert from "node:assert/strict";
import { DecodedPacket, formatAddress, MAX_TUNNEL_DEPTH, TUNNEL_VXLAN } from "./decoded_packet.ts";

function words(...w: number[]): Uint32Array {
  return Uint32Array.from(w);
}

Deno.test("formatAddress: IPv4-mapped and RFC 5952 IPv6", () => {
  assert.equal(
    formatAddress(words(0, 0, 0xffff, 0x0a000001, 0, 0, 0xffff, 0xc0a80101), 0),
    "10.0.0.1",
  );
  assert.equal(
    formatAddress(words(0, 0, 0xffff, 0x0a000001, 0, 0, 0xffff, 0xc0a80101), 4),
    "192.168.1.1",
  );
  assert.equal(formatAddress(words(0x20010db8, 0, 0, 1), 0), "2001:db8::1");
  assert.equal(formatAddress(words(0, 0, 0, 0), 0), "::");
  assert.equal(formatAddress(words(0, 0, 0, 1), 0), "::1");
  assert.equal(formatAddress(words(0xfe800000, 0, 0x02000000, 0x00000001), 0), "fe80::200:0:0:1");
  assert.equal(
    formatAddress(words(0x20010db8, 0x00010000, 0x00010000, 0x00010001), 0),
    "2001:db8:1:0:1:0:1:1",
  );
  assert.equal(
    formatAddress(words(0x00010002, 0x00030004, 0x00050006, 0x00070008), 0),
    "1:2:3:4:5:6:7:8",
  );
});

Deno.test("addr and addrWords share memory", () => {
  const d = new DecodedPacket();
  d.addrWords[3] = -1;
  assert.equal(d.addr[3], 0xffffffff);
  assert.equal(d.tunnels.length, MAX_TUNNEL_DEPTH);
  d.tunnels[0]!.addrWords[0] = 5;
  assert.equal(d.tunnels[0]!.addr[0], 5);
});

Deno.test("saveLayer and restoreLayer round-trip the IP level; clear resets it", () => {
  const d = new DecodedPacket();
  d.ipVersion = 4;
  d.proto = 17;
  d.srcPort = 5;
  d.dstPort = 4789;
  d.udpLen = 100;
  d.addr[3] = 42;
  d.saveLayer(d.tunnels[0]!, TUNNEL_VXLAN, 7);
  d.clearIp();
  assert.equal(d.proto, 0);
  d.tcpFlags = 0x12;
  d.restoreLayer(d.tunnels[0]!);
  assert.equal(d.proto, 17);
  assert.equal(d.dstPort, 4789);
  assert.equal(d.udpLen, 100);
  assert.equal(d.addr[3], 42);
  assert.equal(d.tcpFlags, 0);
  assert.equal(d.tunnels[0]!.tunnelId, 7);
  d.vlan = 3;
  d.clear();
  assert.equal(d.vlan, 0);
  assert.equal(d.macOffset, -1);
});
