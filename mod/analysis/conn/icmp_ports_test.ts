import assert from "node:assert/strict";
import { icmpCounterpart } from "./icmp_ports.ts";

Deno.test("request/reply types pair up, everything else is one-way with the code", () => {
  assert.equal(icmpCounterpart(false, 8, 0), 0);
  assert.equal(icmpCounterpart(false, 0, 0), 8);
  assert.equal(icmpCounterpart(false, 3, 3), -4);
  assert.equal(icmpCounterpart(false, 11, 1), -2);
  assert.equal(icmpCounterpart(true, 128, 0), 129);
  assert.equal(icmpCounterpart(true, 134, 0), 133);
  assert.equal(icmpCounterpart(true, 136, 0), 135);
  assert.equal(icmpCounterpart(true, 143, 0), -1);
  assert.equal(icmpCounterpart(true, 1, 4), -5);
});
