/**
 * The standing fuzz guard (issue 17) in the suite: a short seeded run of
 * every target of testing/fuzz.ts (traces through the whole pipeline, bus
 * payloads, WebSocket JSON, WebSocket frames, configuration files). The
 * long run is `deno task fuzz`. `WEIR_FUZZ_SEED` reruns a printed seed.
 */

import { formatFuzzReport, fuzz, FUZZ_TARGETS } from "../testing/mod.ts";

const INPUTS = 2000;

for (const target of FUZZ_TARGETS) {
  Deno.test(`fuzz guard: ${INPUTS} mutated ${target} inputs, no escaping exception, hang or leak`, async () => {
    const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
    const report = await fuzz(target, { inputs: INPUTS, seed });
    console.log(formatFuzzReport(report));
    if (report.failure !== undefined) {
      throw new Error(`${target}, seed ${seed} (WEIR_FUZZ_SEED=${seed}): ${report.failure}`);
    }
  });
}
