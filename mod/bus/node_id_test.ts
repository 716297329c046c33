import assert from "node:assert/strict";
import { createNodeId, uniqueId } from "./node_id.ts";

Deno.test("createNodeId has Zeek's zeromq_<node>_<host>_<pid>_N<base62> form", () => {
  const id = createNodeId("worker-1", "sensor", 4242);
  assert.match(id, /^zeromq_worker-1_sensor_4242_N[0-9a-zA-Z]{3,18}$/);
});

Deno.test("uniqueId gives a different id each call", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => uniqueId("N")));
  assert.equal(ids.size, 1000);
});
