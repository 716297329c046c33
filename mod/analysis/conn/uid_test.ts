import assert from "node:assert/strict";
import { base62, UidGenerator } from "./uid.ts";

Deno.test("base62 writes the least significant digit first, as uitoa_n does", () => {
  assert.equal(base62(0, 0), "0");
  assert.equal(base62(0, 61), "Z");
  assert.equal(base62(0, 62), "01");
  assert.equal(base62(0, 62 * 62 + 5), "501");
  assert.equal(base62(0xffffffff, 0xffffffff).length, 11);
});

Deno.test("uids look like Zeek's and never repeat within a generator", () => {
  const g = new UidGenerator({ seed: 7 });
  const seen = new Set<string>();
  for (let i = 0; i < 20000; i++) {
    const uid = g.uid(i);
    assert.match(uid, /^C[0-9a-zA-Z]{2,17}$/);
    assert.ok(!seen.has(uid), `duplicate uid ${uid} at ${i}`);
    seen.add(uid);
  }
  assert.equal(new UidGenerator({ seed: 7 }).uid(3), g.uid(3));
  assert.notEqual(new UidGenerator({ seed: 8 }).uid(3), g.uid(3));
});

Deno.test("a given sequence is used for the first ordinals", () => {
  const g = new UidGenerator({ seed: 1, sequence: ["CHhAvVGS1DHFjwGM9", "ClEkJM2Vm5giqnMf4h"] });
  assert.equal(g.uid(0), "CHhAvVGS1DHFjwGM9");
  assert.equal(g.uid(1), "ClEkJM2Vm5giqnMf4h");
  assert.match(g.uid(2), /^C/);
});
