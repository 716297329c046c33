import assert from "node:assert/strict";
import { DEFAULT_WEIRD_ACTIONS, type WeirdAction } from "./weird_actions.ts";

function named(action: WeirdAction): string[] {
  return [...DEFAULT_WEIRD_ACTIONS].filter(([, a]) => a === action).map(([n]) => n).sort();
}

Deno.test("Weird::actions: the ignored and notice names", () => {
  assert.deepEqual(named("ACTION_IGNORE"), [
    "FIN_after_reset",
    "spontaneous_FIN",
    "spontaneous_RST",
    "unsolicited_SYN_response",
  ]);
  assert.deepEqual(named("ACTION_NOTICE_PER_ORIG"), [
    "FIN_storm",
    "SYN_after_partial",
    "successful_RPC_reply_to_invalid_request",
  ]);
  for (const a of ["ACTION_LOG_ONCE", "ACTION_NOTICE", "ACTION_NOTICE_ONCE"] as const) {
    assert.deepEqual(named(a), []);
  }
  assert.deepEqual(named("ACTION_NOTICE_PER_CONN"), []);
});

Deno.test("Weird::actions: per-originator and per-connection names", () => {
  assert.equal(named("ACTION_LOG_PER_ORIG").length, 22);
  assert.ok(named("ACTION_LOG_PER_ORIG").includes("DNS_label_too_long"));
  assert.ok(named("ACTION_LOG_PER_ORIG").includes("bad_UDP_checksum"));
  assert.equal(named("ACTION_LOG_PER_CONN").length, 10);
  assert.ok(named("ACTION_LOG_PER_CONN").includes("simultaneous_open"));
  assert.equal(DEFAULT_WEIRD_ACTIONS.get("DNS_RR_unknown_type"), "ACTION_LOG");
  assert.equal(DEFAULT_WEIRD_ACTIONS.size, 169);
});
