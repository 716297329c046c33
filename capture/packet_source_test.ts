import assert from "node:assert/strict";
import { DEFAULT_BATCH_CAPACITY, lend, PacketBatch } from "./packet_source.ts";

Deno.test("a batch holds parallel arrays of its capacity", () => {
  const batch = new PacketBatch();
  assert.equal(batch.capacity, DEFAULT_BATCH_CAPACITY);
  for (
    const array of [
      batch.tsSec,
      batch.tsNsec,
      batch.caplen,
      batch.wireLen,
      batch.offset,
      batch.linkType,
      batch.iface,
      batch.vlan,
    ]
  ) {
    assert.equal(array.length, DEFAULT_BATCH_CAPACITY);
  }
  assert.equal(batch.count, 0);
  assert.equal(batch.data.length, 0);
});

Deno.test("time() and bytes() read one slot", () => {
  const batch = lend(new PacketBatch(4));
  batch.data = Uint8Array.from([9, 9, 1, 2, 3, 9]);
  batch.offset[1] = 2;
  batch.caplen[1] = 3;
  batch.tsSec[1] = 1700000000;
  batch.tsNsec[1] = 500_000_000;
  assert.deepEqual(batch.bytes(1), Uint8Array.from([1, 2, 3]));
  assert.equal(batch.time(1), 1700000000.5);
});

Deno.test("capacities outside 1 … 2^24 are refused", () => {
  assert.throws(() => new PacketBatch(0), /Cannot create a packet batch of capacity 0/);
  assert.throws(() => new PacketBatch(2.5), /capacity 2.5/);
  assert.throws(() => new PacketBatch(2 ** 25), /use an integer from 1 to 16777216/);
});

Deno.test("only a batch that asks for it carries checksumVouched", () => {
  assert.equal(new PacketBatch(4).checksumVouched, undefined);
  const vouched = new PacketBatch(4, { checksumVouched: true }).checksumVouched;
  assert.ok(vouched instanceof Uint8Array);
  assert.equal(vouched.length, 4);
});
