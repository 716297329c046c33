import assert from "node:assert/strict";
import { CONTROL_VERBS, VERBS } from "./verb_names.ts";

Deno.test("the CLI runs the API's verbs but shutdown, plus nodes and enroll", () => {
  assert.deepEqual(
    [...VERBS].sort(),
    [
      "cron",
      "deploy",
      "enroll",
      "netstats",
      "nodes",
      "print",
      "restart",
      "revoke",
      "start",
      "status",
      "stop",
    ],
  );
  assert.ok(CONTROL_VERBS.includes("shutdown"));
  assert.ok(!(CONTROL_VERBS as readonly string[]).includes("nodes"));
});
