import assert from "node:assert/strict";
import { RAISED_CAPACITY, WEIRD, WEIRD_NAMES, WeirdCounters } from "./weird.ts";

Deno.test("names are unique and slots follow the list", () => {
  assert.equal(new Set(WEIRD_NAMES).size, WEIRD_NAMES.length);
  WEIRD_NAMES.forEach((name, i) => assert.equal(WEIRD[name], i));
  assert.equal(WEIRD.none, 0);
  assert.ok(Object.isFrozen(WEIRD) && Object.isFrozen(WEIRD_NAMES));
});

Deno.test("counters add, total, list and reset", () => {
  const w = new WeirdCounters();
  w.add(WEIRD.truncated_IP);
  w.add(WEIRD.truncated_IP);
  w.add(WEIRD.bad_TCP_checksum);
  assert.equal(w.get("truncated_IP"), 2);
  assert.equal(w.total(), 3);
  assert.deepEqual(w.entries(), [["truncated_IP", 2], ["bad_TCP_checksum", 1]]);
  w.reset();
  assert.equal(w.total(), 0);
  assert.deepEqual(w.entries(), []);
});

Deno.test("add notes its slots for the pipeline, up to RAISED_CAPACITY, until cleared", () => {
  const w = new WeirdCounters();
  w.add(WEIRD.fragment_overlap);
  w.add(WEIRD.fragment_with_DF);
  assert.deepEqual([...w.raised.subarray(0, w.raisedCount)], [
    WEIRD.fragment_overlap,
    WEIRD.fragment_with_DF,
  ]);
  for (let i = 0; i < 2 * RAISED_CAPACITY; i++) w.add(WEIRD.fragment_overlap);
  assert.equal(w.raisedCount, RAISED_CAPACITY);
  assert.equal(w.get("fragment_overlap"), 1 + 2 * RAISED_CAPACITY);
  w.clearRaised();
  assert.equal(w.raisedCount, 0);
});
