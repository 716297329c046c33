import assert from "node:assert/strict";
import { WEIRD, WEIRD_NAMES, WeirdCounters } from "./weird.ts";

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
