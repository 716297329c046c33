/**
 * `deno run -A scripts/conformance.ts [corpus-dir]`: runs weir's connection
 * tracking on every case of Zeek's conn.log corpus and prints one line
 * per case and `N/M cases identical`. Exits 1 when a case differs, 2 when
 * the corpus is missing.
 */

import {
  corpusAvailable,
  DEFAULT_CORPUS_DIR,
  formatCase,
  formatSummary,
  runConformance,
} from "../testing/mod.ts";

const dir = Deno.args[0] ?? DEFAULT_CORPUS_DIR;
if (!(await corpusAvailable(dir))) {
  console.error(
    `conformance: no corpus at ${dir}; put Zeek's conn.log corpus at ../shared/conformance/zeek-conn or pass its path`,
  );
  Deno.exit(2);
}
const results = await runConformance(dir);
for (const r of results) console.log(formatCase(r));
console.log(formatSummary(results));
Deno.exit(results.every((r) => r.identical) ? 0 : 1);
