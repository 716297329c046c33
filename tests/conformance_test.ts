/**
 * Conformance with Zeek's own corpora next to the checkout:
 * `../shared/conformance/zeek-conn` (conn.log, every case identical) and
 * `../shared/conformance/zeek-apps` (the acceptance test of issues 12, 15
 * and 16: dns.log, http.log, ssl.log, and weird.log and conn.log of the
 * DNS, HTTP and SSL cases). Each is skipped, with a message, when its
 * corpus is absent.
 *
 * The apps assertions are gated by `APPS_CASES_EXPECTED_TO_PASS`
 * (testing/apps_conformance.ts): only the cases listed there must be
 * identical, so the suite stays green while an analyzer lands; add a case
 * once it passes.
 */

import assert from "node:assert/strict";
import {
  APPS_CASES_EXPECTED_TO_PASS,
  appsCasesReadyToGate,
  appsCorpusAvailable,
  appsGateFailures,
  corpusAvailable,
  DEFAULT_APPS_CORPUS_DIR,
  DEFAULT_CORPUS_DIR,
  formatAppsResult,
  formatAppsTotals,
  formatCase,
  formatSummary,
  readAppsManifest,
  readSeededUids,
  runAppsConformance,
  runConformance,
} from "../testing/mod.ts";

const connAvailable = await corpusAvailable();
if (!connAvailable) {
  console.log(
    `conn.log conformance skipped: no corpus at ${DEFAULT_CORPUS_DIR} (../shared/conformance/zeek-conn)`,
  );
}
const appsAvailable = await appsCorpusAvailable();
if (!appsAvailable) {
  console.log(
    `application-log conformance skipped: no corpus at ${DEFAULT_APPS_CORPUS_DIR} (../shared/conformance/zeek-apps)`,
  );
}

Deno.test({
  name: "conn.log is identical to Zeek's on every conformance case",
  ignore: !connAvailable,
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

Deno.test({
  name:
    "zeek-apps: dns.log, http.log, ssl.log, and weird.log and conn.log of their cases, identical for every gated case",
  ignore: !appsAvailable,
  fn: async () => {
    const manifest = await readAppsManifest();
    const names = new Set(manifest.cases.map((c) => c.case));
    const unknown = APPS_CASES_EXPECTED_TO_PASS.filter((c) => !names.has(c));
    assert.deepEqual(unknown, [], "APPS_CASES_EXPECTED_TO_PASS names cases the corpus lacks");

    const uids = connAvailable ? await readSeededUids() : undefined;
    const results = await runAppsConformance(undefined, uids === undefined ? {} : { uids });
    for (const r of results) console.log(formatAppsResult(r));
    console.log(formatAppsTotals(results));
    assert.equal(results.length, 133, "one result per baseline of the manifest");

    const ready = appsCasesReadyToGate(results);
    if (ready.length > 0) {
      console.log(`now identical, add to APPS_CASES_EXPECTED_TO_PASS: ${ready.join(", ")}`);
    }
    const failures = appsGateFailures(results);
    if (failures.length > 0) {
      throw new Error(
        `${failures.length} gated baselines differ:\n${
          failures.map((r) => formatAppsResult(r)).join("\n")
        }`,
      );
    }
  },
});
