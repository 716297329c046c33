import assert from "node:assert/strict";
import { MAX_APPLICATION_LABELS, OTHER_APPLICATION, WebSocketCounters } from "./counters.ts";

Deno.test("application counters are capped so clients cannot grow the label set", () => {
  const counters = new WebSocketCounters();
  for (let i = 0; i < MAX_APPLICATION_LABELS + 10; i++) {
    counters.application(`app-${i}`).connectionsTotal++;
  }
  const snapshot = counters.snapshot();
  assert.equal(Object.keys(snapshot.applications).length, MAX_APPLICATION_LABELS + 1);
  assert.equal(snapshot.applications[OTHER_APPLICATION]?.connectionsTotal, 10);
  assert.equal(counters.application("app-0").connectionsTotal, 1);
});

Deno.test("snapshot is a frozen copy", () => {
  const counters = new WebSocketCounters();
  counters.error("deserialization_failed", counters.application("x"));
  const snapshot = counters.snapshot();
  counters.messagesIn++;
  assert.equal(snapshot.messagesIn, 0);
  assert.deepEqual(snapshot.errors, { deserialization_failed: 1 });
  assert.equal(snapshot.applications["x"]?.errors, 1);
  assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.applications["x"]));
});
