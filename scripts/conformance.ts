/**
 * `deno run -A scripts/conformance.ts [zeek-conn-dir [zeek-apps-dir]]`:
 * runs weir on every case of Zeek's conn.log corpus (one line per case,
 * `N/M cases identical`) and on every baseline of the application-log
 * corpus (one line per baseline: identical, different with the first
 * differences, or which analyzer it needs; then totals per log kind).
 * Exits 1 when a conn.log case differs or a case of
 * `APPS_CASES_EXPECTED_TO_PASS` does (what `tests/conformance_test.ts`
 * asserts), 2 when both corpora are missing.
 */

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
  readSeededUids,
  runAppsConformance,
  runConformance,
} from "../testing/mod.ts";

const connDir = Deno.args[0] ?? DEFAULT_CORPUS_DIR;
const appsDir = Deno.args[1] ?? DEFAULT_APPS_CORPUS_DIR;
const haveConn = await corpusAvailable(connDir);
const haveApps = await appsCorpusAvailable(appsDir);
if (!haveConn && !haveApps) {
  console.error(
    `conformance: no corpus at ${connDir} or ${appsDir}; put Zeek's corpora at ../shared/conformance/zeek-conn and ../shared/conformance/zeek-apps or pass their paths`,
  );
  Deno.exit(2);
}

let failed = false;
if (haveConn) {
  console.log("== zeek-conn (conn.log)");
  const results = await runConformance(connDir);
  for (const r of results) console.log(formatCase(r));
  console.log(formatSummary(results));
  failed ||= !results.every((r) => r.identical);
} else console.log(`== zeek-conn skipped: no corpus at ${connDir}`);

if (haveApps) {
  console.log("\n== zeek-apps (dns.log, http.log, ssl.log, weird.log, conn.log)");
  const uids = haveConn ? await readSeededUids(connDir) : undefined;
  const results = await runAppsConformance(appsDir, uids === undefined ? {} : { uids });
  for (const r of results) console.log(formatAppsResult(r));
  console.log(formatAppsTotals(results));
  const gate = appsGateFailures(results);
  console.log(
    `gate (APPS_CASES_EXPECTED_TO_PASS, ${APPS_CASES_EXPECTED_TO_PASS.length} cases): ${
      gate.length === 0 ? "passes" : `${gate.length} baselines differ`
    }`,
  );
  const ready = appsCasesReadyToGate(results);
  if (ready.length > 0) {
    console.log(`now identical, add to APPS_CASES_EXPECTED_TO_PASS: ${ready.join(", ")}`);
  }
  failed ||= gate.length > 0;
} else console.log(`\n== zeek-apps skipped: no corpus at ${appsDir}`);

Deno.exit(failed ? 1 : 0);
