/**
 * Comparing a log weir wrote with a zeek-apps baseline, by the corpus's
 * rules: weir's lines go through the canonifier the baseline went through
 * (the first epoch-looking token per line masked, or every one), `uid` is
 * not compared (weir's uids need not be Zeek's seeded ones), http.log file
 * ids are compared exactly (they are a keyed hash of the file handle, not
 * seeded: weir computes Zeek's, `zeek/file_id.ts`), set-valued columns and
 * conn.log `service` compare as sets, and rows compare as a multiset,
 * because Zeek's write order at connection removal depends on hash order.
 * A Zeek ASCII baseline's header (`#path`, `#fields`, `#types`, …) must
 * match too; `#open`/`#close` are masked and not compared.
 *
 * @module
 */

import type { AppsBaseline, ZeekLog } from "./apps_corpus.ts";

/** Columns holding a set, per log kind, for baselines without `#types` (cut files). */
const SET_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  "dns-log": ["auth", "addl"],
  "http-log": ["tags", "proxied"],
  "conn-log": ["tunnel_parents"],
  "ssl-log": [],
  "weird-log": [],
};

/** Columns that pair a row of weir's with a row of Zeek's when they differ. */
const PAIRING_COLUMNS = [
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "trans_id",
  "trans_depth",
  "name",
];

/** `diff-remove-first-timestamp`'s pattern: an epoch time not preceded by a digit. */
const EPOCH = /(^|[^0-9])([0-9]{9,10}\.[0-9]{1,8})/;
const EPOCH_ALL = new RegExp(EPOCH.source, "g");
const MASKED_TIME = "XXXXXXXXXX.XXXXXX";

/** Applies the baseline's canonifier to one line weir wrote. */
export function canonify(line: string, canonifier: string): string {
  const pattern = /diff-remove-timestamps/.test(canonifier) ? EPOCH_ALL : EPOCH;
  return line.replace(pattern, `$1${MASKED_TIME}`);
}

/**
 * Compares every run of a baseline (one for most, several for a
 * concatenated log) with the log weir wrote for the same pcap; `undefined`
 * is a log weir did not write. Returns one line per difference.
 */
export function compareBaseline(
  b: AppsBaseline,
  want: readonly ZeekLog[],
  got: readonly (ZeekLog | undefined)[],
  logName: string,
): string[] {
  const out: string[] = [];
  const several = want.length > 1;
  if (want.length !== got.length) out.push(`${got.length} runs, Zeek's file has ${want.length}`);
  for (let i = 0; i < Math.min(want.length, got.length); i++) {
    const prefix = several ? `run ${i + 1}: ` : "";
    const g = got[i];
    if (g === undefined) {
      out.push(`${prefix}weir wrote no ${logName} (Zeek has ${want[i]!.rows.length} rows)`);
      continue;
    }
    for (const d of compareLog(b, want[i]!, g)) out.push(prefix + d);
  }
  return out;
}

/** Compares one log with one baseline log. */
export function compareLog(b: AppsBaseline, want: ZeekLog, got: ZeekLog): string[] {
  const out: string[] = [];
  const firstN = /the first (\d+) columns/.exec(b.compare);
  const limit = firstN === null ? want.columns.length : Number(firstN[1]);
  const cut = b.format.startsWith("zeek-cut");
  if (!cut) out.push(...compareHeaders(want, got, limit));

  const columns = want.columns.slice(0, limit).filter((c) => c !== "uid");
  const sets = new Set(setColumns(b, want));
  const normalize = (column: string, value: string): string => {
    if (value === "-" || value === "(empty)") return value;
    if (sets.has(column)) return value.split(",").sort().join(",");
    return value;
  };
  const wantRows = want.rows.map((row) =>
    columns.map((c) => normalize(c, row[want.columns.indexOf(c)] ?? ""))
  );
  // The line as the baseline's file would hold it: zeek-cut's selection, or weir's whole row.
  const lineColumns = cut ? want.columns : got.columns;
  const gotRows = got.rows.map((row) => {
    const line = lineColumns.map((c) => {
      const i = got.columns.indexOf(c);
      return i < 0 ? "" : row[i] ?? "";
    }).join("\t");
    const cells = canonify(line, b.canonifier).split("\t");
    return columns.map((c) => {
      const i = lineColumns.indexOf(c);
      return normalize(c, i < 0 ? "" : cells[i] ?? "");
    });
  });
  out.push(...compareRowMultisets(columns, wantRows, gotRows));
  return out;
}

function compareHeaders(want: ZeekLog, got: ZeekLog, limit: number): string[] {
  const out: string[] = [];
  for (const [name, value] of want.header) {
    if (name === "open" || name === "close") continue;
    let w = value;
    let g = got.header.get(name);
    if ((name === "fields" || name === "types") && g !== undefined) {
      w = w.split("\t").slice(0, limit).join("\t");
      g = g.split("\t").slice(0, limit).join("\t");
    }
    if (g === undefined) out.push(`#${name} is missing, Zeek has ${JSON.stringify(w)}`);
    else if (g !== w) out.push(`#${name} is ${JSON.stringify(g)}, Zeek has ${JSON.stringify(w)}`);
  }
  return out;
}

function setColumns(b: AppsBaseline, want: ZeekLog): string[] {
  const out = want.types === undefined
    ? [...SET_COLUMNS[b.kind] ?? []]
    : want.columns.filter((_, i) => want.types![i]?.startsWith("set[") === true);
  // service is join_string_set(c$service, ","): a set written in hash order.
  if (b.kind === "conn-log") out.push("service");
  return out;
}

/**
 * Rows as a multiset: equal rows cancel; the rest pair up by the
 * identifying columns (in order within a key) and report their differing
 * columns, or stand alone as missing or extra.
 */
export function compareRowMultisets(
  columns: readonly string[],
  want: readonly (readonly string[])[],
  got: readonly (readonly string[])[],
): string[] {
  const out: string[] = [];
  if (want.length !== got.length) out.push(`${got.length} rows, Zeek has ${want.length}`);
  const counts = new Map<string, number>();
  for (const row of want) counts.set(row.join("\t"), (counts.get(row.join("\t")) ?? 0) + 1);
  const extra: (readonly string[])[] = [];
  for (const row of got) {
    const k = row.join("\t");
    const n = counts.get(k) ?? 0;
    if (n > 0) counts.set(k, n - 1);
    else extra.push(row);
  }
  const missing: (readonly string[])[] = [];
  for (const row of want) {
    const k = row.join("\t");
    const n = counts.get(k) ?? 0;
    if (n > 0) {
      missing.push(row);
      counts.set(k, n - 1);
    }
  }
  const pairing = PAIRING_COLUMNS.map((c) => columns.indexOf(c)).filter((i) => i >= 0);
  const keyOf = (row: readonly string[]) => pairing.map((i) => row[i]).join(" ");
  const unpairedExtra = [...extra];
  // Without identifying columns, rows pair in order only when nothing is missing or extra overall.
  const pair = pairing.length > 0 || missing.length === extra.length;
  for (const w of missing) {
    const at = pair ? unpairedExtra.findIndex((g) => keyOf(g) === keyOf(w)) : -1;
    if (at < 0) {
      out.push(`missing row: ${describeRow(columns, w)}`);
      continue;
    }
    const g = unpairedExtra.splice(at, 1)[0]!;
    const label = pairing.length > 0 ? `${keyOf(w)}: ` : "";
    for (let i = 0; i < columns.length; i++) {
      if (g[i] !== w[i]) {
        out.push(
          `${label}${columns[i]} is ${JSON.stringify(g[i])}, Zeek has ${JSON.stringify(w[i])}`,
        );
      }
    }
  }
  for (const g of unpairedExtra) out.push(`extra row: ${describeRow(columns, g)}`);
  return out;
}

function describeRow(columns: readonly string[], row: readonly string[]): string {
  const text = columns.map((c, i) => `${c}=${row[i]}`).filter((s) => !s.endsWith("=-")).join(" ");
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
