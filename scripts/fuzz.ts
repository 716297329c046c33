/**
 * `deno task fuzz [TARGET…] [--inputs N] [--seed S]`: the standing fuzz
 * guard of issue 17 (testing/fuzz.ts) run long: by default 1,000,000
 * mutated inputs per target (trace, bus, json, ws, config), a random seed
 * printed so a failure can be rerun. Exits 1 on an escaping exception, a
 * hang or a heap that keeps growing.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatFuzzReport, fuzz, FUZZ_TARGETS, type FuzzTarget } from "../testing/mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { inputs: { type: "string" }, seed: { type: "string" } },
});
const targets = (positionals.length > 0 ? positionals : [...FUZZ_TARGETS]) as FuzzTarget[];
const unknown = targets.filter((t) => !(FUZZ_TARGETS as readonly string[]).includes(t));
if (unknown.length > 0) {
  console.error(`fuzz: no target ${unknown.join(", ")}; choose from ${FUZZ_TARGETS.join(", ")}`);
  Deno.exit(2);
}
const inputs = Number(values.inputs ?? 1_000_000);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz: seed ${seed} (rerun with --seed ${seed}), ${inputs} inputs per target`);
let failed = false;
for (const target of targets) {
  const report = await fuzz(target, {
    inputs,
    seed,
    progress: (line) => console.log(`  ${line}`),
  });
  console.log(formatFuzzReport(report));
  if (report.failure !== undefined) failed = true;
}
Deno.exit(failed ? 1 : 0);
