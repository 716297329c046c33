/**
 * The two text formats zeekctl uses: INI sections (`node.cfg`) and flat
 * `Key = value` files (`zeekctl.cfg`, here `weir.cfg`). Lines keep their
 * numbers so every problem can point at one.
 *
 * @module
 */

import type { ProblemList } from "./errors.ts";

/** A `key=value` line. */
export interface Entry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** A `[name]` section with its entries. */
export interface Section {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly Entry[];
}

function isComment(text: string): boolean {
  return text === "" || text.startsWith("#") || text.startsWith(";");
}

/** zeekctl's key normalisation: lower case, `.` becomes `_`. */
export function normaliseKey(key: string): string {
  return key.trim().toLowerCase().replaceAll(".", "_");
}

/** Parses INI text into sections; malformed lines are reported to `problems`. */
export function parseIni(text: string, file: string, problems: ProblemList): Section[] {
  const sections: { name: string; line: number; entries: Entry[] }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (isComment(t)) return;
    const header = /^\[(.*)\]$/.exec(t);
    if (header) {
      const name = header[1]!.trim();
      if (name === "") problems.add(file, line, "section name must not be empty");
      sections.push({ name, line, entries: [] });
      return;
    }
    const eq = t.indexOf("=");
    if (eq <= 0) {
      problems.add(file, line, `expected "key=value" or "[section]": current value is "${t}"`);
      return;
    }
    const current = sections.at(-1);
    if (current === undefined) {
      problems.add(file, line, `"${t}" must be inside a [section]`);
      return;
    }
    current.entries.push({
      key: normaliseKey(t.slice(0, eq)),
      value: t.slice(eq + 1).trim(),
      line,
    });
  });
  return sections;
}

/** Parses `Key = value` lines (no sections). */
export function parseKeyValues(text: string, file: string, problems: ProblemList): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (isComment(t)) return;
    const eq = t.indexOf("=");
    if (eq <= 0) {
      problems.add(file, i + 1, `expected "Key = value": current value is "${t}"`);
      return;
    }
    entries.push({ key: normaliseKey(t.slice(0, eq)), value: t.slice(eq + 1).trim(), line: i + 1 });
  });
  return entries;
}
