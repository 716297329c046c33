import assert from "node:assert/strict";
import {
  foldSum,
  internetChecksum,
  pseudoSumV4,
  pseudoSumV6,
  pseudoSumWords,
  sumBytes,
  sumWords,
  verifiesTo,
} from "./checksum.ts";

Deno.test("RFC 1071's worked example", () => {
  const data = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(foldSum(sumWords(data, 0, 8)), 0xddf2);
  assert.equal(internetChecksum(data, 0, 8), 0x220d);
});

Deno.test("the word path equals the byte path at every alignment, length and buffer offset", () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const backing = new Uint8Array(4096 + 16);
  for (let i = 0; i < backing.length; i++) backing[i] = next();
  for (const viewOffset of [0, 1, 2, 3]) {
    const data = backing.subarray(viewOffset);
    for (let start = 0; start < 9; start++) {
      for (const len of [0, 1, 2, 3, 47, 48, 49, 63, 64, 65, 100, 255, 1500, 4000]) {
        assert.equal(
          foldSum(sumWords(data, start, len)),
          foldSum(sumBytes(data, start, len)),
          `view ${viewOffset} start ${start} len ${len}`,
        );
      }
    }
  }
  for (const fill of [0x00, 0xff]) {
    const data = new Uint8Array(3000).fill(fill);
    assert.equal(foldSum(sumWords(data, 1, 2999)), foldSum(sumBytes(data, 1, 2999)));
  }
  const huge = new Uint8Array(1 << 24).fill(0xff);
  assert.equal(
    foldSum(sumWords(huge, 1, huge.length - 1)),
    foldSum(sumBytes(huge, 1, huge.length - 1)),
  );
  assert.equal(foldSum(2 ** 40 + 5), foldSum(foldSum(2 ** 40) + 5));
});

Deno.test("a stored checksum verifies; a flipped bit does not", () => {
  const data = Uint8Array.from({ length: 301 }, (_, i) => (i * 31) & 0xff);
  data[10] = 0;
  data[11] = 0;
  const sum = internetChecksum(data, 0, data.length);
  data[10] = sum >>> 8;
  data[11] = sum & 0xff;
  assert.equal(verifiesTo(0, data, 0, data.length), true);
  data[200]! ^= 0x10;
  assert.equal(verifiesTo(0, data, 0, data.length), false);
});

Deno.test("the three pseudo-header sums agree", () => {
  const ip4 = new Uint8Array(20);
  ip4.set([10, 1, 2, 3, 192, 168, 200, 1], 12);
  const words = new Uint32Array([0, 0, 0xffff, 0x0a010203, 0, 0, 0xffff, 0xc0a8c801]);
  assert.equal(
    foldSum(pseudoSumV4(ip4, 0, 6, 1234)),
    foldSum(pseudoSumWords(words, false, 6, 1234)),
  );
  const a = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) {
    w[i] = ((a[4 * i]! << 24) | (a[4 * i + 1]! << 16) | (a[4 * i + 2]! << 8) | a[4 * i + 3]!) >>> 0;
  }
  assert.equal(
    foldSum(pseudoSumV6(a, 0, a, 16, 17, 70000)),
    foldSum(pseudoSumWords(w, true, 17, 70000)),
  );
});
