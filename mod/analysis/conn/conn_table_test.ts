import assert from "node:assert/strict";
import { ConnTable, wordBytes } from "./conn_table.ts";

function words(a: number, b: number): Int32Array {
  return new Int32Array([0, 0, 0xffff, a, 0, 0, 0xffff, b]);
}
function reversed(w: Int32Array): Int32Array {
  return new Int32Array([...w.subarray(4, 8), ...w.subarray(0, 4)]);
}

Deno.test("both directions find the same slot; one-way keys only their own", () => {
  const t = new ConnTable();
  const w = words(0x0a000001, 0x0a000002);
  const h = ConnTable.hashKey(w, 6, 1234, 80, 0, 0);
  const slot = t.insert(w, 6, 1234, 80, false, 0, 0, h);
  assert.equal(t.find(w, 6, 1234, 80, false, 0, 0, h), slot);
  assert.equal(t.lastSrcIsOrig, true);
  const r = reversed(w);
  assert.equal(ConnTable.hashKey(r, 6, 80, 1234, 0, 0), h);
  assert.equal(t.find(r, 6, 80, 1234, false, 0, 0, h), slot);
  assert.equal(t.lastSrcIsOrig, false);
  assert.equal(t.find(w, 17, 1234, 80, false, 0, 0, h), -1);
  const icmp = t.insert(w, 1, 3, 3, true, 0, 0, ConnTable.hashKey(w, 1, 3, 3, 0, 0));
  assert.equal(t.find(r, 1, 3, 3, true, 0, 0, ConnTable.hashKey(r, 1, 3, 3, 0, 0)), -1);
  assert.equal(t.find(w, 1, 3, 3, true, 0, 0, ConnTable.hashKey(w, 1, 3, 3, 0, 0)), icmp);
});

Deno.test("the table grows, removes without breaking probe chains, and reuses slots", () => {
  const t = new ConnTable({ initialSlots: 16 });
  const n = 5000;
  const slots: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = words(0x0a000000 + i, 0x0b000000);
    slots.push(
      t.insert(
        w,
        17,
        1000 + (i % 7),
        53,
        false,
        0,
        0,
        ConnTable.hashKey(w, 17, 1000 + (i % 7), 53, 0, 0),
      ),
    );
  }
  assert.equal(t.count, n);
  for (let i = 0; i < n; i += 2) t.remove(slots[i]!);
  for (let i = 0; i < n; i++) {
    const w = words(0x0a000000 + i, 0x0b000000);
    const found = t.find(
      w,
      17,
      1000 + (i % 7),
      53,
      false,
      0,
      0,
      ConnTable.hashKey(w, 17, 1000 + (i % 7), 53, 0, 0),
    );
    assert.equal(found, i % 2 === 0 ? -1 : slots[i], `flow ${i}`);
  }
  const w = words(1, 2);
  const again = t.insert(w, 6, 1, 2, false, 0, 0, 99);
  assert.ok(again < n, "a freed slot is reused");
  assert.equal(t.origPort[again], 1);
});

Deno.test("flip swaps addresses, ports and endpoint state", () => {
  const t = new ConnTable();
  const w = words(0x0a000001, 0x0a000002);
  const s = t.insert(w, 6, 1234, 80, false, 0, 0, 7);
  t.pkts[s * 2] = 3;
  t.state[s * 2 + 1] = 4;
  t.historySeen[s] = 0x0001;
  t.flip(s);
  assert.equal(t.origPort[s], 80);
  assert.equal(t.addr[s * 8 + 3], 0x0a000002);
  assert.equal(t.pkts[s * 2 + 1], 3);
  assert.equal(t.state[s * 2], 4);
  assert.equal(t.historySeen[s], 0x0100);
});

Deno.test("the VLAN-aware key separates tags", () => {
  const t = new ConnTable({ vlanKey: true });
  const w = words(1, 2);
  const a = t.insert(w, 6, 1, 2, false, 10, 20, ConnTable.hashKey(w, 6, 1, 2, 10, 20));
  assert.equal(t.find(w, 6, 1, 2, false, 10, 20, ConnTable.hashKey(w, 6, 1, 2, 10, 20)), a);
  assert.equal(t.find(w, 6, 1, 2, false, 42, 0, ConnTable.hashKey(w, 6, 1, 2, 42, 0)), -1);
});

Deno.test("wordBytes writes an address's words most significant byte first", () => {
  const out = new Uint8Array(16);
  const w = words(0x0a000001, 0xc0a80102 | 0);
  assert.equal(wordBytes(w, 4, out), out);
  assert.deepEqual([...out.subarray(10)], [0xff, 0xff, 192, 168, 1, 2]);
  assert.deepEqual([...wordBytes(w, 0, out).subarray(12)], [10, 0, 0, 1]);
});
