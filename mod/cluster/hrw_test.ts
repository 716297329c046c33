import assert from "node:assert/strict";
import { fnv1a32, hrwPick, hrwWeight } from "./hrw.ts";

Deno.test("fnv1a32 matches the published FNV-1a test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

Deno.test("hrwWeight stays within 31 bits and depends on both inputs", () => {
  const w = hrwWeight(fnv1a32("proxy-1.0"), fnv1a32("key") & 0x7fffffff);
  assert.ok(w >= 0 && w < 2 ** 31);
  assert.notEqual(w, hrwWeight(fnv1a32("proxy-2.0"), fnv1a32("key") & 0x7fffffff));
});

Deno.test("hrwPick is stable and only moves keys of a removed site", () => {
  const sites = ["proxy-1.0", "proxy-2.0", "proxy-3.0"].map((s) => fnv1a32(s));
  const keys = Array.from({ length: 3000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const before = keys.map((k) => sites[hrwPick(sites, k)]);
  const counts = new Map<number, number>();
  for (const s of before) counts.set(s!, (counts.get(s!) ?? 0) + 1);
  for (const n of counts.values()) assert.ok(n > 700, `uneven spread: ${[...counts.values()]}`);
  const survivors = [sites[0]!, sites[2]!];
  keys.forEach((k, i) => {
    const after = survivors[hrwPick(survivors, k)];
    if (before[i] !== sites[1]) assert.equal(after, before[i]);
  });
  assert.equal(hrwPick([], "x"), -1);
});
