/**
 * The conn.log conformance check against Zeek's own corpus
 * (`../shared/conformance/zeek-conn`): runs every case the way its
 * manifest says (bare or default `likely_server_ports`, checksum
 * handling, gap reporting, the SKIP analyzer, the VLAN-aware key,
 * mac-logging columns), then compares weir's rows with Zeek's as a
 * multiset keyed on the 5-tuple, repeated tuples in creation order, on
 * every column the case does not mask.
 *
 * The corpus stays where it is: it is read at run time and never copied.
 * Zeek's seeded uid sequence is taken from the corpus's own FDDI baseline
 * (which lists the first 1333 uids in creation order), so uids and
 * `tunnel_parents` are compared as Zeek wrote them, although the manifest
 * masks uids: the k-th connection weir creates must be Zeek's k-th.
 *
 * @module
 */

import { analyzeTrace, type TraceJobOptions } from "../mod/trace/mod.ts";
import { DEFAULT_LIKELY_SERVER_PORTS } from "../mod/analysis/conn/mod.ts";

/** Where the corpus is in a checkout: `../shared/conformance/zeek-conn` next to the repository. */
export const DEFAULT_CORPUS_DIR: string =
  new URL("../../shared/conformance/zeek-conn", import.meta.url).pathname;

/** The outcome for one baseline file of a case. */
export interface BaselineResult {
  readonly file: string;
  readonly rows: number;
  readonly differences: readonly string[];
}

/** The outcome for one case (all of its baselines). */
export interface CaseResult {
  readonly name: string;
  readonly identical: boolean;
  readonly baselines: readonly BaselineResult[];
}

interface ManifestBaseline {
  readonly file: string;
  readonly command: string;
  readonly mode: string;
  readonly checksums: string;
  readonly likely_server_ports: string | readonly string[];
  readonly kind: string;
  readonly compare: string;
  readonly rows: number;
}

interface ManifestCase {
  readonly case: string;
  readonly pcaps: readonly { readonly file: string }[];
  readonly baselines: readonly ManifestBaseline[];
}

/** A parsed log: column names and rows of text values. */
export interface LogTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const KEY_COLUMNS = [
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "id.ctx.vlan",
  "id.ctx.inner_vlan",
];

/** Whether the corpus is present. */
export async function corpusAvailable(dir: string = DEFAULT_CORPUS_DIR): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/manifest.json`)).isFile;
  } catch {
    return false;
  }
}

/**
 * Reads a conn.log or a btest baseline: `#fields` gives the columns, a
 * zeek-cut file has a plain header line instead, `#…` lines and btest's
 * `###` line are skipped.
 */
export function parseLogText(text: string): LogTable {
  let columns: string[] | undefined;
  const rows: string[][] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("###")) continue;
    if (line.startsWith("#")) {
      if (line.startsWith("#fields\t")) columns = line.split("\t").slice(1);
      continue;
    }
    if (columns === undefined) {
      columns = line.split("\t");
      continue;
    }
    rows.push(line.split("\t"));
  }
  return { columns: columns ?? [], rows };
}

/** The seeded uid sequence Zeek's btest uses, from the corpus's FDDI baseline. */
export async function readSeededUids(dir: string = DEFAULT_CORPUS_DIR): Promise<string[]> {
  const text = await Deno.readTextFile(
    `${dir}/fddi-rst-every-minute/scripts.policy.protocols.conn.mac-logging/conn3.log`,
  );
  const table = parseLogText(text);
  const at = table.columns.indexOf("uid");
  return table.rows.map((r) => r[at]!);
}

/**
 * The analyzers of a baseline's Zeek run: plain `zeek -r` loads every one
 * (default scripts); `zeek -b` only the `base/protocols/X` it names, of
 * which weir implements DNS.
 */
export function analyzersOf(command: string): "default" | readonly string[] {
  if (!/(^|\s)-[A-Za-z]*b/.test(command)) return "default";
  return /base\/protocols\/dns\b/.test(command) ? ["DNS"] : [];
}

/** How weir must run to reproduce a baseline. */
export function traceOptionsFor(b: ManifestBaseline): Omit<TraceJobOptions, "path" | "logDir"> {
  const ignore = /^exempt (.+)$/.exec(b.checksums);
  const skip = /SKIP (\d+) bytes/.exec(b.mode);
  return {
    analyzers: analyzersOf(b.command),
    checksums: b.checksums !== "-C",
    ...(ignore ? { ignoreChecksumsNets: ignore[1]!.split(/[ ,]+/) } : {}),
    likelyServerPorts: b.likely_server_ports === "default"
      ? DEFAULT_LIKELY_SERVER_PORTS
      : b.likely_server_ports as readonly string[],
    reportGapsForPartial: /report_gaps_for_partial=T/.test(b.mode),
    vlanKey: /vlan_fivetuple/.test(b.mode),
    macAddresses: /mac-logging/.test(b.command),
    ...(skip ? { skipBytes: Number(skip[1]) } : {}),
  };
}

/**
 * Compares weir's rows with a baseline's; returns one line per
 * difference. `masked` columns are not compared; `optional` baseline
 * columns weir does not write are skipped; for zeek-cut files a column
 * weir lacks reads as empty, as zeek-cut writes it.
 */
export function compareTables(
  want: LogTable,
  got: LogTable,
  masked: ReadonlySet<string>,
  zeekCut: boolean,
  seeded: readonly string[],
): string[] {
  const out: string[] = [];
  const columns = want.columns.filter((c) => !masked.has(c));
  const gotIndex = new Map(got.columns.map((c, i) => [c, i]));
  const missing = columns.filter((c) => !gotIndex.has(c) && !zeekCut);
  for (const c of missing) out.push(`column ${c} is not written`);
  const compared = columns.filter((c) => gotIndex.has(c) || zeekCut);
  const keyOf = (table: LogTable, row: readonly string[], zeekTable: boolean) =>
    KEY_COLUMNS.filter((c) => want.columns.includes(c)).map((c) => {
      const i = zeekTable ? table.columns.indexOf(c) : gotIndex.get(c);
      return i === undefined || i < 0 ? "" : row[i] ?? "";
    }).join(" ");
  const order = (table: LogTable, row: readonly string[]) => {
    const i = table.columns.indexOf("uid");
    const k = i < 0 ? -1 : seeded.indexOf(row[i]!);
    return k < 0 ? Number.MAX_SAFE_INTEGER : k;
  };
  const group = (table: LogTable, zeekTable: boolean) => {
    const m = new Map<string, (readonly string[])[]>();
    for (const row of table.rows) {
      const k = keyOf(table, row, zeekTable);
      const list = m.get(k) ?? [];
      list.push(row);
      m.set(k, list);
    }
    for (const list of m.values()) list.sort((a, b) => order(table, a) - order(table, b));
    return m;
  };
  const wantGroups = group(want, true);
  const gotGroups = group(got, false);
  if (want.rows.length !== got.rows.length) {
    out.push(`${got.rows.length} rows, Zeek has ${want.rows.length}`);
  }
  for (const [key, wantRows] of wantGroups) {
    const gotRows = gotGroups.get(key) ?? [];
    if (gotRows.length !== wantRows.length) {
      out.push(`${key}: ${gotRows.length} rows, Zeek has ${wantRows.length}`);
    }
    const n = Math.min(gotRows.length, wantRows.length);
    for (let r = 0; r < n; r++) {
      for (const c of compared) {
        const w = wantRows[r]![want.columns.indexOf(c)] ?? "";
        const gi = gotIndex.get(c);
        const g = gi === undefined ? "" : gotRows[r]![gi] ?? "";
        const same = c === "tunnel_parents"
          ? w.split(",").sort().join(",") === g.split(",").sort().join(",")
          : w === g;
        if (!same) {
          out.push(`${key} #${r + 1}: ${c} is ${JSON.stringify(g)}, Zeek has ${JSON.stringify(w)}`);
        }
      }
    }
  }
  for (const [key, gotRows] of gotGroups) {
    if (!wantGroups.has(key)) out.push(`${key}: ${gotRows.length} extra rows`);
  }
  return out;
}

/** The columns a baseline does not compare. */
export function maskedColumns(b: ManifestBaseline): Set<string> {
  // uids are compared too: weir reproduces Zeek's seeded sequence from the corpus itself.
  const masked = new Set(["ts"]);
  const cut = b.kind === "zeek-cut";
  if (cut || /\bservice\b/.test(b.compare)) masked.add("service");
  if (/orig_l2_addr/.test(b.compare) && /optional/.test(b.compare)) {
    masked.add("orig_l2_addr");
    masked.add("resp_l2_addr");
  }
  return masked;
}

async function runOnce(
  pcap: string,
  options: Omit<TraceJobOptions, "path" | "logDir">,
  seeded: readonly string[],
): Promise<LogTable> {
  const dir = await Deno.makeTempDir({ prefix: "weir-conformance-" });
  try {
    const r = await analyzeTrace({
      ...options,
      path: pcap,
      logDir: dir,
      uids: { sequence: seeded },
    });
    return parseLogText(await Deno.readTextFile(r.logPath));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs one case of the corpus. */
export async function runCase(
  dir: string,
  c: ManifestCase,
  seeded: readonly string[],
): Promise<CaseResult> {
  const baselines: BaselineResult[] = [];
  for (let bi = 0; bi < c.baselines.length; bi++) {
    const b = c.baselines[bi]!;
    const options = traceOptionsFor(b);
    const wantText = await Deno.readTextFile(`${dir}/${c.case}/${b.file}`);
    if (b.kind === "print") {
      const want = wantText.split("\n").filter((l) => l !== "" && !l.startsWith("###"));
      const got: string[] = [];
      for (const p of c.pcaps) {
        const table = await runOnce(`${dir}/${c.case}/${p.file}`, options, seeded);
        const h = table.columns.indexOf("history");
        const s = table.columns.indexOf("conn_state");
        for (const row of table.rows) got.push(`${row[h] === "-" ? "" : row[h]}, ${row[s]}`);
      }
      const differences = want.length !== got.length
        ? [`${got.length} lines, Zeek has ${want.length}`]
        : want.flatMap((w, i) =>
          w === got[i]
            ? []
            : [`line ${i + 1}: ${JSON.stringify(got[i])}, Zeek has ${JSON.stringify(w)}`]
        );
      baselines.push({ file: b.file, rows: want.length, differences });
      continue;
    }
    const named = c.pcaps.find((p) => b.command.includes(p.file)) ??
      c.pcaps[Math.min(bi, c.pcaps.length - 1)]!;
    const got = await runOnce(`${dir}/${c.case}/${named.file}`, options, seeded);
    const want = parseLogText(wantText);
    const differences = compareTables(want, got, maskedColumns(b), b.kind === "zeek-cut", seeded);
    baselines.push({ file: b.file, rows: want.rows.length, differences });
  }
  return {
    name: c.case,
    identical: baselines.every((b) => b.differences.length === 0),
    baselines,
  };
}

/** Runs every case of the corpus in manifest order. */
export async function runConformance(dir: string = DEFAULT_CORPUS_DIR): Promise<CaseResult[]> {
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as {
    cases: ManifestCase[];
  };
  const seeded = await readSeededUids(dir);
  const results: CaseResult[] = [];
  for (const c of manifest.cases) results.push(await runCase(dir, c, seeded));
  return results;
}

/** One line for a case, plus its first differences indented below it. */
export function formatCase(r: CaseResult, maxDifferences = 5): string {
  const rows = r.baselines.reduce((n, b) => n + b.rows, 0);
  const head = `${r.identical ? "identical" : "DIFFERENT"}  ${
    r.name.padEnd(24)
  } ${r.baselines.length} baseline(s), ${rows} rows`;
  if (r.identical) return head;
  const lines = [head];
  for (const b of r.baselines) {
    for (const d of b.differences.slice(0, maxDifferences)) lines.push(`    ${b.file}: ${d}`);
    if (b.differences.length > maxDifferences) {
      lines.push(`    ${b.file}: … ${b.differences.length - maxDifferences} more`);
    }
  }
  return lines.join("\n");
}

/** `N/M cases identical`. */
export function formatSummary(results: readonly CaseResult[]): string {
  return `${results.filter((r) => r.identical).length}/${results.length} cases identical`;
}
