import assert from "node:assert/strict";
import { parseAddr } from "../zeek/mod.ts";
import { ConfigError, Problems } from "./errors.ts";
import {
  createLocalNets,
  isLocalAddress,
  isLocalIpv4,
  parseCidr,
  parseNetworksCfg,
  PRIVATE_ADDRESS_SPACE,
  PRIVATE_LOCAL_NETS,
} from "./networks_cfg.ts";

Deno.test("parseCidr clears host bits and explains what is wrong", () => {
  const net = parseCidr("10.1.2.3/8", "lab");
  assert.ok(typeof net !== "string");
  assert.deepEqual(
    { cidr: net.cidr, family: net.family, prefix: net.prefix, tag: net.tag, words: net.words },
    { cidr: "10.1.2.3/8", family: 4, prefix: 8, tag: "lab", words: [0, 0, 0xffff, 0x0a000000] },
  );
  assert.ok(isLocalAddress([net], "10.9.9.9"));
  const v6 = parseCidr("[2001:db8::]/32");
  assert.ok(typeof v6 !== "string" && v6.family === 6 && v6.prefix === 32);
  assert.equal(parseCidr("10.0.0.1"), "a network needs a prefix length (e.g. /32 for one host)");
  assert.equal(parseCidr("10.0.0.0/33"), "the prefix length of an IPv4 network must be 0 to 32");
  assert.equal(parseCidr("::/129"), "the prefix length of an IPv6 network must be 0 to 128");
  assert.equal(parseCidr("10.0.0.0/x"), "the prefix length of an IPv4 network must be 0 to 32");
  assert.equal(parseCidr("10.0.0.300/8"), '"10.0.0.300" is not an IPv4 or IPv6 address');
});

Deno.test("parseNetworksCfg reads CIDR and tag per line, IPv4 and IPv6, with comments", () => {
  const problems = new Problems();
  const nets = parseNetworksCfg(
    "# zeekctl networks.cfg\n10.0.0.0/8          Private IP space\n\n192.168.0.0/16\n2001:db8::/32 Docs v6\n",
    "networks.cfg",
    problems,
  );
  problems.throwIfAny();
  assert.deepEqual(nets.map((n) => [n.cidr, n.family, n.prefix, n.tag]), [
    ["10.0.0.0/8", 4, 8, "Private IP space"],
    ["192.168.0.0/16", 4, 16, ""],
    ["2001:db8::/32", 6, 32, "Docs v6"],
  ]);
  assert.ok(nets.every((n) => Object.isFrozen(n) && Object.isFrozen(n.words)));
});

Deno.test("parseNetworksCfg reports every bad CIDR with its line", () => {
  const problems = new Problems();
  parseNetworksCfg(
    "10.0.0.0/8 ok\n10.0.0.0/33 lab\n# fine\n10.0.0.300/8\n10.0.0.1 one host\nfe80::/129\n",
    "networks.cfg",
    problems,
  );
  assert.throws(() => problems.throwIfAny(), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.message.split("\n"), [
      'networks.cfg:2: the prefix length of an IPv4 network must be 0 to 32: current value is "10.0.0.0/33"',
      'networks.cfg:4: "10.0.0.300" is not an IPv4 or IPv6 address: current value is "10.0.0.300/8"',
      'networks.cfg:5: a network needs a prefix length (e.g. /32 for one host): current value is "10.0.0.1"',
      'networks.cfg:6: the prefix length of an IPv6 network must be 0 to 128: current value is "fe80::/129"',
    ]);
    return true;
  });
});

Deno.test("by default, Zeek's private address space is local", () => {
  const nets = createLocalNets([], true);
  for (
    const local of [
      "10.1.2.3",
      "224.0.0.251",
      "192.168.1.1",
      "172.31.255.255",
      "100.64.0.1",
      "127.0.0.1",
      "239.255.255.250",
      "255.255.255.255",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "2001:db8::1",
      "2002:a01:203::1",
      "::ffff:10.0.0.1",
    ]
  ) {
    assert.equal(isLocalAddress(nets, local), true, local);
  }
  for (
    const remote of [
      "8.8.8.8",
      "224.2.127.254",
      "224.0.1.1",
      "172.32.0.1",
      "ff02::1",
      "2a00:1450::1",
      "2002:808:808::1",
      "not an address",
    ]
  ) {
    assert.equal(isLocalAddress(nets, remote), false, remote);
  }
});

Deno.test("isLocalAddress takes 4- or 16-byte addresses and isLocalIpv4 a number", () => {
  const nets = PRIVATE_LOCAL_NETS;
  assert.equal(isLocalAddress(nets, new Uint8Array([10, 1, 2, 3])), true);
  assert.equal(isLocalAddress(nets, new Uint8Array([8, 8, 8, 8])), false);
  assert.equal(isLocalAddress(nets, parseAddr("fe80::1")), true);
  assert.equal(isLocalAddress(nets, parseAddr("192.168.0.1")), true);
  assert.equal(isLocalAddress(nets, new Uint8Array(5)), false);
  assert.equal(isLocalIpv4(nets, 0x0a010203), true);
  assert.equal(isLocalIpv4(nets, 0xe00000fb), true);
  assert.equal(isLocalIpv4(nets, 0xe0027ffe), false);
  assert.equal(isLocalIpv4(nets, 0x08080808), false);
});

Deno.test("the 6to4 entries are exactly the images of the IPv4 entries", () => {
  const v4 = PRIVATE_ADDRESS_SPACE.filter((c) => !c.includes(":")).map((c) => parseCidr(c));
  const images = PRIVATE_ADDRESS_SPACE.filter((c) => c.startsWith("2002:")).map((c) =>
    parseCidr(c)
  );
  assert.equal(images.length, v4.length);
  v4.forEach((net, i) => {
    assert.ok(typeof net !== "string");
    const image = images[i];
    assert.ok(image !== undefined && typeof image !== "string");
    assert.equal(image.prefix, 16 + net.prefix, image.cidr);
    assert.equal(image.words[0], (0x20020000 | (net.words[3] >>> 16)) >>> 0, image.cidr);
    assert.equal(image.words[1], (net.words[3] & 0xffff) * 0x10000, image.cidr);
  });
});

Deno.test("listed networks add to the private space; PrivateAddressSpaceIsLocal=0 leaves only them", () => {
  const listed = [parseCidr("131.243.0.0/16", "campus")].filter((n) => typeof n !== "string");
  const both = createLocalNets(listed, true);
  assert.equal(isLocalAddress(both, "131.243.1.1"), true);
  assert.equal(isLocalAddress(both, "10.0.0.1"), true);
  const only = createLocalNets(listed, false);
  assert.equal(isLocalAddress(only, "131.243.1.1"), true);
  assert.equal(isLocalAddress(only, "10.0.0.1"), false);
  assert.ok(Object.isFrozen(only));
  assert.deepEqual(createLocalNets([], false), []);
});
