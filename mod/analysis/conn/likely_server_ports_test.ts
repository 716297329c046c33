import assert from "node:assert/strict";
import {
  BARE_LIKELY_SERVER_PORTS,
  DEFAULT_LIKELY_SERVER_PORTS,
  LikelyServerPortError,
  LikelyServerPorts,
} from "./likely_server_ports.ts";

Deno.test("bare mode holds only the UDP tunnel ports", () => {
  const set = LikelyServerPorts.parse(BARE_LIKELY_SERVER_PORTS);
  assert.ok(set.has(2152, 17));
  assert.ok(set.has(4789, 17));
  assert.ok(!set.has(4789, 6));
  assert.ok(!set.has(80, 6));
});

Deno.test("the default list separates TCP from UDP", () => {
  const set = LikelyServerPorts.parse(DEFAULT_LIKELY_SERVER_PORTS);
  assert.ok(set.has(80, 6));
  assert.ok(set.has(22, 6));
  assert.ok(set.has(53, 17));
  assert.ok(set.has(67, 17));
  assert.ok(!set.has(68, 17), "68/udp is a DHCP client port");
  assert.ok(!set.has(547, 17), "DHCPv6 is not registered");
  assert.ok(!set.has(123, 6));
  assert.ok(!set.has(80, 1));
});

Deno.test("unreadable ports are reported together", () => {
  assert.throws(
    () => LikelyServerPorts.parse(["80/tcp", "http", "70000/udp", "8/icmp"]),
    (e: unknown) =>
      e instanceof LikelyServerPortError && /"http", "70000\/udp", "8\/icmp"/.test(e.message),
  );
});
