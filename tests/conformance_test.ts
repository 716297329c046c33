/**
 * conn.log conformance: every case of `../shared/conformance/zeek-conn`
 * run as its manifest says and compared with the conn.log Zeek wrote.
 * Skipped, with a message, when the corpus is not next to the checkout.
 */

import {
  corpusAvailable,
  DEFAULT_CORPUS_DIR,
  formatCase,
  formatSummary,
  runConformance,
} from "../testing/mod.ts";

const available = await corpusAvailable();
if (!available) {
  console.log(
    `conn.log conformance skipped: no corpus at ${DEFAULT_CORPUS_DIR} (../shared/conformance/zeek-conn)`,
  );
}

Deno.test({
  name: "conn.log is identical to Zeek's on every conformance case",
  ignore: !available,
  fn: async () => {
    const results = await runConformance();
    for (const r of results) console.log(formatCase(r));
    const summary = formatSummary(results);
    console.log(summary);
    const different = results.filter((r) => !r.identical);
    if (different.length > 0) {
      throw new Error(
        `${summary}; different: ${different.map((r) => r.name).join(", ")}`,
      );
    }
  },
});
