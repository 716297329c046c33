import assert from "node:assert/strict";
import { ConnTable } from "./conn_table.ts";
import { COUNT_RXMIT, HIST_ACK, HIST_DATA, HistoryStore } from "./history.ts";

const words = new Int32Array([0, 0, 0xffff, 0x0a000001, 0, 0, 0xffff, 0x0a000002]);

function fresh(): { t: ConnTable; h: HistoryStore; slot: number } {
  const t = new ConnTable();
  const slot = t.insert(words, 6, 1000, 80, false, 0, 0, 1);
  return { t, h: new HistoryStore(t), slot };
}

Deno.test("flag letters appear once per direction, responder in lower case", () => {
  const { h, slot } = fresh();
  assert.equal(h.check(slot, 0, HIST_DATA, 68), false);
  assert.equal(h.check(slot, 0, HIST_DATA, 68), true);
  h.check(slot, 1, HIST_DATA, 68);
  h.check(slot, 1, HIST_ACK, 65);
  h.check(slot, 0, HIST_ACK, 65);
  assert.equal(h.text(slot), "DdaA");
});

Deno.test("counted letters follow the 1, 10, 100 rule", () => {
  const { h, slot } = fresh();
  for (let i = 0; i < 150; i++) h.scaled(slot, 1, COUNT_RXMIT, 84);
  assert.equal(h.text(slot), "ttt");
});

Deno.test("long histories continue beyond the inline bytes", () => {
  const { h, slot } = fresh();
  const text = "ShADadRRRRRRRRRRRRRRRR";
  for (const c of text) h.append(slot, c.charCodeAt(0));
  assert.equal(h.text(slot), text);
  h.replace(slot, "^h");
  assert.equal(h.text(slot), "^h");
  assert.ok(h.isExactly(slot, 94) === false);
});
