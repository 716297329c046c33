import assert from "node:assert/strict";
import { ConnWeirdState, DEFAULT_WEIRD_SAMPLING, WeirdSampler } from "./weird_sampling.ts";

const T0 = 1_700_000_000;

function passes(n: number, permit: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) if (permit(i)) out.push(i);
  return out;
}

Deno.test("Zeek's defaults: threshold 25, rate 1000, 10 minutes", () => {
  assert.equal(DEFAULT_WEIRD_SAMPLING.threshold, 25);
  assert.equal(DEFAULT_WEIRD_SAMPLING.rate, 1000);
  assert.equal(DEFAULT_WEIRD_SAMPLING.durationSec, 600);
});

Deno.test("a connection passes 1..25, then every 1000th above the threshold", () => {
  const state = new ConnWeirdState();
  const got = passes(3100, () => state.permit("x", T0, DEFAULT_WEIRD_SAMPLING));
  assert.deepEqual(got.slice(24), [25, 1025, 2025, 3025]);
  assert.equal(got.length, 28);
});

Deno.test("a connection's counter restarts once duration passed after the threshold", () => {
  const state = new ConnWeirdState();
  for (let i = 0; i < 25; i++) state.permit("x", T0, DEFAULT_WEIRD_SAMPLING);
  assert.equal(state.permit("x", T0 + 10, DEFAULT_WEIRD_SAMPLING), false); // 26th starts sampling
  assert.equal(state.permit("x", T0 + 610, DEFAULT_WEIRD_SAMPLING), false); // not yet > start + 600
  assert.equal(state.permit("x", T0 + 611, DEFAULT_WEIRD_SAMPLING), true); // restarts at 1
  assert.equal(state.permit("x", T0 + 611, DEFAULT_WEIRD_SAMPLING), true);
  // Names count separately.
  assert.equal(state.permit("y", T0, DEFAULT_WEIRD_SAMPLING), true);
});

Deno.test("rate 0 lets nothing past the threshold", () => {
  const state = new ConnWeirdState();
  const s = { ...DEFAULT_WEIRD_SAMPLING, threshold: 2, rate: 0 };
  assert.deepEqual(passes(10, () => state.permit("x", T0, s)), [1, 2]);
});

Deno.test("net weirds count per name and reset 10 minutes after the first", () => {
  const sampler = new WeirdSampler({ threshold: 2, rate: 3 });
  assert.deepEqual(passes(8, () => sampler.permitNet("n", T0)), [1, 2, 5, 8]);
  assert.equal(sampler.permitNet("n", T0 + 599), false);
  assert.equal(sampler.permitNet("n", T0 + 600), true); // the timer fired: count 1
  assert.equal(sampler.permitNet("other", T0 + 600), true);
});

Deno.test("flow weirds count per ordered pair", () => {
  const sampler = new WeirdSampler({ threshold: 1, rate: 0 });
  assert.equal(sampler.permitFlow("a", "b", "f", T0), true);
  assert.equal(sampler.permitFlow("a", "b", "f", T0), false);
  assert.equal(sampler.permitFlow("b", "a", "f", T0), true);
  assert.equal(sampler.permitFlow("a", "b", "g", T0), true);
  assert.equal(sampler.permitFlow("a", "b", "f", T0 + 600), true);
});

Deno.test("the whitelist is never sampled; the global list counts per node", () => {
  const sampler = new WeirdSampler({
    threshold: 1,
    rate: 0,
    whitelist: new Set(["w"]),
    globalList: new Set(["g"]),
  });
  const a = new ConnWeirdState();
  const b = new ConnWeirdState();
  assert.deepEqual(passes(5, () => sampler.permitConn(a, "w", T0)), [1, 2, 3, 4, 5]);
  assert.equal(sampler.permitConn(a, "g", T0), true);
  assert.equal(sampler.permitConn(b, "g", T0), false); // shared with connection a
  assert.equal(sampler.permitExpiredConn("t", "g", T0), false);
  assert.equal(sampler.permitNet("g", T0), false);
});

Deno.test("the timed counters are capped and expire", () => {
  const sampler = new WeirdSampler({}, 10);
  for (let i = 0; i < 100; i++) sampler.permitFlow(`s${i}`, "d", "f", T0 + i);
  assert.equal(sampler.size, 10);
  sampler.expire(T0 + 700);
  assert.equal(sampler.size, 0);
});
