import assert from "node:assert/strict";
import {
  AddrSyntaxError,
  formatAddr,
  formatPort,
  formatSubnet,
  isIpv4Mapped,
  parseAddr,
  parseAddrInto,
  parsePort,
  parsePortPacked,
  parseSubnet,
} from "./addr.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("parseAddr() maps IPv4 to ::ffff:a.b.c.d", () => {
  assert.equal(hex(parseAddr("10.0.0.1")), "00000000000000000000ffff0a000001");
  assert.equal(hex(parseAddr("255.255.255.255")), "00000000000000000000ffffffffffff");
  assert.equal(hex(parseAddr("0.0.0.0")), "00000000000000000000ffff00000000");
});

Deno.test("parseAddr() reads every IPv6 text form", () => {
  const cases: [string, string][] = [
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["1::", "00010000000000000000000000000000"],
    ["2001:db8::1", "20010db8000000000000000000000001"],
    ["2001:DB8:0:0:0:0:0:1", "20010db8000000000000000000000001"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "20010db8000000000000ff0000428329"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"],
    ["::2:3:4:5:6:7:8", "00000002000300040005000600070008"],
    ["::ffff:1.2.3.4", "00000000000000000000ffff01020304"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
    ["fe80::1:2", "fe800000000000000000000000010002"],
    ["fe80::", "fe800000000000000000000000000000"],
    ["2001:DB8::8:800:200C:417A", "20010db80000000000080800200c417a"],
  ];
  for (const [text, expected] of cases) assert.equal(hex(parseAddr(text)), expected, text);
});

Deno.test("parseAddr() refuses malformed text with AddrSyntaxError", () => {
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1..2.3",
    "a.b.c.d",
    ":",
    ":::",
    "1:::2",
    ":1::2",
    "1::2:",
    "1.2.3.-4",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "g::1",
    "1:2:3:4:5:6:7",
    "::1.2.3",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1.2.3.4:5",
    "fe80::1%eth0",
    "[::1]",
    "1".repeat(46),
  ];
  for (const text of bad) {
    assert.throws(() => parseAddr(text), (error: unknown) => {
      assert.ok(error instanceof AddrSyntaxError, text);
      assert.equal(error.kind, "addr");
      assert.equal(error.text, text);
      assert.match(error.message, /^Cannot parse ".*" as a Zeek addr: expected /);
      return true;
    });
  }
});

Deno.test("formatAddr() prints RFC 5952 IPv6 and bare IPv4 for mapped addresses", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "10.0.0.1"],
    ["::ffff:192.168.1.1", "192.168.1.1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:0:0:2", "::2"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["::1.2.3.4", "::102:304"],
    ["fe80::abcd:ef01", "fe80::abcd:ef01"],
  ];
  for (const [text, expected] of cases) assert.equal(formatAddr(parseAddr(text)), expected, text);
});

Deno.test("formatAddr() reads at an offset and parseAddrInto() writes at one", () => {
  const buffer = new Uint8Array(40).fill(0xaa);
  assert.ok(parseAddrInto("2001:db8::7", buffer, 12));
  assert.equal(buffer[11], 0xaa);
  assert.equal(buffer[28], 0xaa);
  assert.equal(formatAddr(buffer, 12), "2001:db8::7");
  assert.equal(formatAddr(buffer, 12, 16), "2001:db8::7");
  assert.equal(formatAddr(new Uint8Array([0, 0, 192, 168, 0, 255]), 2, 4), "192.168.0.255");
  assert.equal(parseAddrInto("nope", buffer, 0), false);
  assert.ok(isIpv4Mapped(parseAddr("1.2.3.4")));
  assert.ok(!isIpv4Mapped(parseAddr("::1")));
});

Deno.test("parseAddr() and formatAddr() round-trip random addresses", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let n = 0; n < 2000; n++) {
    const bytes = new Uint8Array(16);
    // Zero groups are common in real addresses and exercise the "::" choice.
    for (let g = 0; g < 8; g++) {
      const value = random() % 3 === 0 ? 0 : random();
      bytes[2 * g] = value >>> 8;
      bytes[2 * g + 1] = value & 0xff;
    }
    const text = formatAddr(bytes);
    assert.deepEqual(parseAddr(text), bytes, text);
  }
});

Deno.test("parseSubnet() counts IPv4 prefixes in IPv6 bits and clears host bits", () => {
  const v4 = parseSubnet("10.1.2.3/8");
  assert.equal(v4.prefix, 104);
  assert.equal(formatAddr(v4.addr), "10.0.0.0");
  assert.equal(formatSubnet(v4.addr, v4.prefix), "10.0.0.0/8");
  const v6 = parseSubnet("2001:db8:ffff::/33");
  assert.equal(v6.prefix, 33);
  assert.equal(formatSubnet(v6.addr, v6.prefix), "2001:db8:8000::/33");
  assert.equal(formatSubnet(parseSubnet("0.0.0.0/0").addr, 96), "0.0.0.0/0");
  assert.equal(formatSubnet(parseSubnet("::/0").addr, 0), "::/0");
  assert.equal(formatSubnet(parseSubnet("192.168.1.77/32").addr, 128), "192.168.1.77/32");
  const wide = parseSubnet("::ffff:0:0/80");
  assert.equal(formatSubnet(wide.addr, wide.prefix), "::/80");
  const mapped = parseSubnet("::ffff:10.0.0.0/104");
  assert.equal(formatSubnet(mapped.addr, mapped.prefix), "10.0.0.0/8");
});

Deno.test("parseSubnet() refuses malformed text", () => {
  for (
    const text of [
      "10.0.0.0",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "/8",
      "10.0.0.0/08",
      "x/8",
      "::/-1",
    ]
  ) {
    assert.throws(() => parseSubnet(text), AddrSyntaxError, text);
  }
});

Deno.test("parsePort() and formatPort() handle every protocol", () => {
  assert.deepEqual(parsePort("80/tcp"), { port: 80, proto: "tcp" });
  assert.deepEqual(parsePort("53/udp"), { port: 53, proto: "udp" });
  assert.deepEqual(parsePort("8/icmp"), { port: 8, proto: "icmp" });
  assert.deepEqual(parsePort("0/unknown"), { port: 0, proto: "unknown" });
  assert.deepEqual(parsePort("7/?"), { port: 7, proto: "unknown" });
  assert.deepEqual(parsePort("65535/tcp"), { port: 65535, proto: "tcp" });
  assert.equal(parsePortPacked("443/udp"), 443 | (2 << 16));
  assert.equal(formatPort(80, "tcp"), "80/tcp");
  assert.equal(formatPort(3, 3), "3/icmp");
  assert.equal(formatPort(0, 0), "0/unknown");
  for (
    const text of [
      "80",
      "80/",
      "/tcp",
      "65536/tcp",
      "080/tcp",
      "80/TCP",
      "80/sctp",
      "-1/tcp",
      "1.5/tcp",
      "80/tcpx",
    ]
  ) {
    assert.throws(() => parsePort(text), AddrSyntaxError, text);
  }
});
