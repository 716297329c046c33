/**
 * The application-log conformance check (the acceptance test of issues 12
 * and 15): runs
 * weir on every case of `../shared/conformance/zeek-apps` as its manifest
 * says (`apps_corpus.ts`), reads the logs the trace job left in its log
 * directory, and compares each baseline by the corpus's rules
 * (`apps_compare.ts`). One result per baseline; a baseline whose logs need
 * an analyzer weir does not have yet is reported as such and not run.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
import { analyzeTrace } from "../mod/trace/mod.ts";
import {
  APPS_LOG_KINDS,
  type AppsBaseline,
  type AppsCase,
  type AppsLogKind,
  type AppsRun,
  DEFAULT_APPS_CORPUS_DIR,
  loadedAnalyzers,
  logFileOf,
  parseZeekLogs,
  planRuns,
  readAppsManifest,
  readBaseline,
  type ZeekLog,
} from "./apps_corpus.ts";
import { compareBaseline } from "./apps_compare.ts";

/**
 * The protocol analyzers weir has (DNS since issue 12, HTTP since issue
 * 15, SSL and DTLS since issue 16, and the STARTTLS protocols up to their
 * hand-over to SSL). A baseline that needs another one is reported as
 * "needs X" instead of being run.
 */
export const WEIR_ANALYZERS: ReadonlySet<string> = new Set([
  "DNS",
  "HTTP",
  "SSL",
  "SMTP",
  "IMAP",
  "POP3",
  "IRC",
  "XMPP",
  "FTP",
  "MySQL",
  "RDP",
]);

/**
 * The gate of `tests/conformance_test.ts`: cases whose gated baselines
 * (see `isGatedBaseline`) must be identical: every DNS case (issue 12),
 * every HTTP case (issue 15) and every SSL case, DTLS and STARTTLS
 * included (issue 16).
 */
export const APPS_CASES_EXPECTED_TO_PASS: readonly string[] = [
  "wikipedia-default",
  "dns-flip",
  "dns-two-responses",
  "dns-txt-multiple",
  "dns-zero-rrs",
  "dns-spf",
  "dns-dnskey2",
  "dns-dnskey",
  "dns-ds",
  "dns-rrsig",
  "dns-notify",
  "dns-mdns-no-assoc",
  "dns-loc-trunc",
  "dns-sshfp-trunc",
  "dns-ipv6-frag",
  "dns-dynamic-update",
  "dns-nsec3-auth",
  "dns-wks-auth",
  "dns-binds-auth",
  "dns-naptr",
  "dns-false-gtp",
  "dns-max-queries",
  "dns-max-compression-depth",
  "dns-edns-bad-length",
  "dns-tkey-tcp",
  "http-100-continue",
  "http-pipelining",
  "http-desynched",
  "http-fake-content-length",
  "http-x-gzip",
  "http-filename",
  "http-no-version",
  "http-no-uri",
  "http-version-mismatch",
  "http-09",
  "http-11-then-cruft",
  "http-methods",
  "http-bad-content-range",
  "http-interleaved-entity",
  "http-multipart-form-data",
  "http-connect-smtp",
  "http-connect-tls",
  "http-lower-case",
  "http-port-22",
  "http-query-nonstd-port",
  "http-tcp-padding",
  "http-no-crlf",
  "http-261-smuggling",
  "http-m57-gaps",
  "http-odd-url",
  "http-get",
  "ssl-basic",
  "tls12",
  "tls11",
  "tls-ecdhe",
  "tls-ecdsa",
  "tls-dhe",
  "tls12-handshake-failure",
  "tls12-late-protocol-error",
  "tls13-draft23",
  "tls13-experiment",
  "tls13-ech",
  "tls13-multi",
  "tls13-port-9090",
  "dtls",
  "dtls13",
  "smtp-starttls",
  "imap-starttls",
  "pop3-starttls",
  "irc-starttls",
  "xmpp-starttls",
  "xmpp-dialback",
  "ftp-auth-tls",
  "mysql-tls",
  "rdp-to-ssl",
  "tls-fragmented",
  "ml-dsa-44-cert",
  "tls-alpn-sct",
];

/** The protocols whose cases are gated: their logs, weird.log and conn.log must be Zeek's. */
export const GATED_PROTOCOLS: ReadonlySet<string> = new Set(["dns", "http", "ssl"]);

/** The outcome for one baseline file. */
export interface AppsResult {
  readonly case: string;
  readonly file: string;
  readonly kind: AppsLogKind;
  /** Rows in Zeek's baseline. */
  readonly rows: number;
  /** Analyzers the baseline needs that weir lacks; not run when any. */
  readonly needs: readonly string[];
  readonly differences: readonly string[];
  /** Whether the case exercises a gated protocol (`GATED_PROTOCOLS`). */
  readonly gatedCase: boolean;
}

/** Whether weir's logs matched the baseline. */
export function isIdentical(r: AppsResult): boolean {
  return r.needs.length === 0 && r.differences.length === 0;
}

/**
 * The acceptance set of issues 12, 15 and 16: every dns.log, http.log and
 * ssl.log baseline, and the weird.log and conn.log baselines of the DNS,
 * HTTP and SSL cases, unless they need an analyzer weir lacks.
 */
export function isGatedBaseline(r: AppsResult): boolean {
  if (r.needs.length > 0) return false;
  return r.kind === "dns-log" || r.kind === "http-log" || r.kind === "ssl-log" ||
    (r.gatedCase && (r.kind === "weird-log" || r.kind === "conn-log"));
}

/** What `runAppsConformance` may be told. */
export interface AppsConformanceOptions {
  /** The analyzers weir has (default `WEIR_ANALYZERS`). */
  readonly analyzers?: ReadonlySet<string>;
  /** A uid sequence to hand out (Zeek's seeded one, when the zeek-conn corpus is there). */
  readonly uids?: readonly string[];
  /** Only these cases. */
  readonly cases?: readonly string[];
}

/** Runs every case of the corpus in manifest order; one result per baseline. */
export async function runAppsConformance(
  dir: string = DEFAULT_APPS_CORPUS_DIR,
  options: AppsConformanceOptions = {},
): Promise<AppsResult[]> {
  const manifest = await readAppsManifest(dir);
  const have = options.analyzers ?? WEIR_ANALYZERS;
  const results: AppsResult[] = [];
  for (const c of manifest.cases) {
    if (options.cases !== undefined && !options.cases.includes(c.case)) continue;
    for (const run of planRuns(c, manifest.likely_server_ports_notation)) {
      results.push(...await runAndCompare(dir, run, have, options.uids));
    }
  }
  return results;
}

async function runAndCompare(
  dir: string,
  run: AppsRun,
  have: ReadonlySet<string>,
  uids: readonly string[] | undefined,
): Promise<AppsResult[]> {
  const c = run.case;
  const planned = await Promise.all(run.baselines.map(async (b) => {
    const want = await readBaseline(dir, c, b);
    return { b, want, needs: analyzersNeeded(c, b, want).filter((a) => !have.has(a)) };
  }));
  const result = (b: AppsBaseline, needs: string[], differences: string[]): AppsResult => ({
    case: c.case,
    file: b.file,
    kind: b.kind,
    rows: b.rows,
    needs,
    differences,
    gatedCase: c.protocol.some((p) => GATED_PROTOCOLS.has(p)),
  });
  if (planned.every((p) => p.needs.length > 0)) {
    return planned.map((p) => result(p.b, p.needs, []));
  }
  let logs: Map<string, ZeekLog | undefined>[];
  try {
    logs = [];
    for (const pcap of run.pcaps) logs.push(await runWeir(dir, c, pcap, run, uids, have));
  } catch (error) {
    const message = `weir failed: ${error instanceof Error ? error.message : String(error)}`;
    return planned.map((p) => result(p.b, p.needs, p.needs.length > 0 ? [] : [message]));
  }
  return planned.map(({ b, want, needs }) => {
    if (needs.length > 0) return result(b, needs, []);
    const name = logFileOf(b.kind);
    return result(b, [], compareBaseline(b, want, logs.map((l) => l.get(name)), name));
  });
}

/** One weir run over one pcap; every log it wrote, parsed, by file name. */
async function runWeir(
  dir: string,
  c: AppsCase,
  pcap: string,
  run: AppsRun,
  uids: readonly string[] | undefined,
  have: ReadonlySet<string>,
): Promise<Map<string, ZeekLog | undefined>> {
  const logDir = await Deno.makeTempDir({ prefix: "weir-apps-" });
  try {
    let path = `${dir}/${c.case}/${pcap}`;
    if (pcap.endsWith(".gz")) {
      // Zeek's test reads this one through gunzip on stdin; weir reads files.
      path = `${logDir}/${pcap.slice(0, -3)}`;
      await Deno.writeFile(path, gunzipSync(await Deno.readFile(`${dir}/${c.case}/${pcap}`)));
    }
    // A bare run loads what weir has of the analyzers Zeek's command loaded
    // (a baseline needing one weir lacks was not run).
    const selection = run.options.analyzers;
    await analyzeTrace({
      ...run.options,
      ...(Array.isArray(selection) ? { analyzers: selection.filter((a) => have.has(a)) } : {}),
      path,
      logDir,
      ...(uids === undefined ? {} : { uids: { sequence: uids } }),
    });
    const logs = new Map<string, ZeekLog | undefined>();
    for (const kind of APPS_LOG_KINDS) {
      const name = logFileOf(kind);
      try {
        logs.set(name, parseZeekLogs(await Deno.readTextFile(`${logDir}/${name}`))[0]);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        logs.set(name, undefined);
      }
    }
    return logs;
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
}

/** Zeek's analyzer names for conn.log `service` values and the manifest's protocols. */
function analyzerName(service: string): string {
  const lower = service.replace(/^-/, "").toLowerCase();
  if (lower === "mysql") return "MySQL";
  if (lower === "dtls") return "SSL";
  return lower.toUpperCase();
}

/**
 * The analyzers a baseline needs: its log's own analyzer; for weird.log
 * and conn.log also the case's protocols, and for conn.log every analyzer
 * its `service` column names.
 */
export function analyzersNeeded(c: AppsCase, b: AppsBaseline, want: readonly ZeekLog[]): string[] {
  const out = new Set<string>();
  if (b.kind === "dns-log") out.add("DNS");
  else if (b.kind === "http-log") out.add("HTTP");
  else if (b.kind === "ssl-log") {
    // A STARTTLS case's ssl.log also needs the protocol that hands over to SSL.
    out.add("SSL");
    if (b.mode !== "default") { for (const a of loadedAnalyzers(b.command)) out.add(a); }
  } else {
    for (const p of c.protocol) out.add(analyzerName(p));
    if (b.kind === "conn-log") {
      for (const log of want) {
        const at = log.columns.indexOf("service");
        if (at < 0) continue;
        for (const row of log.rows) {
          const value = row[at] ?? "-";
          if (value === "-") continue;
          for (const s of value.split(",")) out.add(analyzerName(s));
        }
      }
    }
  }
  return [...out];
}

/** One line for a baseline, and its first differences indented below it. */
export function formatAppsResult(r: AppsResult, maxDifferences = 5): string {
  const status = r.needs.length > 0
    ? `needs ${r.needs.join(", ")}`
    : r.differences.length === 0
    ? "identical"
    : "DIFFERENT";
  const head = `${status.padEnd(16)} ${r.kind.padEnd(9)} ${
    r.case.padEnd(26)
  } ${r.file} (${r.rows} rows)`;
  if (r.differences.length === 0) return head;
  const lines = [head, ...r.differences.slice(0, maxDifferences).map((d) => `    ${d}`)];
  if (r.differences.length > maxDifferences) {
    lines.push(`    … ${r.differences.length - maxDifferences} more`);
  }
  return lines.join("\n");
}

/** Totals per log kind: identical, different, and waiting for an analyzer. */
export function formatAppsTotals(results: readonly AppsResult[]): string {
  const lines: string[] = [];
  for (const kind of APPS_LOG_KINDS) {
    const of = results.filter((r) => r.kind === kind);
    const identical = of.filter(isIdentical).length;
    const waiting = of.filter((r) => r.needs.length > 0).length;
    lines.push(
      `${kind.padEnd(9)} ${identical}/${of.length} identical, ${
        of.length - identical - waiting
      } different, ${waiting} need an analyzer weir lacks`,
    );
  }
  const accepted = results.filter(isGatedBaseline);
  lines.push(
    `gated (dns.log, http.log, ssl.log; weird.log and conn.log of their cases): ${
      accepted.filter(isIdentical).length
    }/${accepted.length} identical`,
  );
  return lines.join("\n");
}

/** The gated baselines of the gated cases that are not identical. */
export function appsGateFailures(
  results: readonly AppsResult[],
  expected: readonly string[] = APPS_CASES_EXPECTED_TO_PASS,
): AppsResult[] {
  return results.filter((r) => expected.includes(r.case) && isGatedBaseline(r) && !isIdentical(r));
}

/** Cases outside the gate whose gated baselines are all identical: ready to be added to it. */
export function appsCasesReadyToGate(
  results: readonly AppsResult[],
  expected: readonly string[] = APPS_CASES_EXPECTED_TO_PASS,
): string[] {
  const cases = new Map<string, boolean>();
  for (const r of results) {
    if (!isGatedBaseline(r) || expected.includes(r.case)) continue;
    cases.set(r.case, (cases.get(r.case) ?? true) && isIdentical(r));
  }
  return [...cases].filter(([, identical]) => identical).map(([name]) => name);
}
