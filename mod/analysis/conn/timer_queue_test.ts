import assert from "node:assert/strict";
import { TimerQueue } from "./timer_queue.ts";

Deno.test("timers come out by time", () => {
  const q = new TimerQueue(2);
  const input = [[5, 1], [1, 2], [5, 3], [3, 4], [1, 5], [9, 6], [0.5, 7]];
  for (const [t, s] of input) q.push(t!, s!, s! * 10);
  const out: number[] = [];
  while (q.pop()) {
    assert.equal(q.tag, q.slot * 10);
    out.push(q.slot);
  }
  assert.deepEqual(out.map((slot) => input.find(([, s]) => s === slot)![0]), [
    0.5,
    1,
    1,
    3,
    5,
    5,
    9,
  ]);
  assert.equal(q.peekTime(), Infinity);
});

Deno.test("a random workload stays ordered", () => {
  const q = new TimerQueue();
  let x = 12345;
  const times: number[] = [];
  for (let i = 0; i < 5000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const t = x % 1000;
    times.push(t);
    q.push(t, i, 0);
  }
  times.sort((a, b) => a - b);
  for (const t of times) {
    assert.ok(q.pop());
    assert.equal(q.time, t);
  }
  assert.equal(q.size, 0);
});
