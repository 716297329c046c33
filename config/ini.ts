/**
 * The text formats zeekctl uses: INI sections for `node.cfg` (read by
 * Python's configparser: `key=value` or `key: value`, `#`/`;` comments,
 * keys case-insensitive), flat `Key = value` lines for `zeekctl.cfg` (here
 * `weir.cfg`), and the value syntaxes both share. Every line keeps its
 * number so a problem can point at it. An empty value means "not set", as
 * it does for zeekctl.
 *
 * @module
 */

import type { Problems } from "./errors.ts";

/** A `key=value` line: `name` as written, `key` normalised for lookup. */
export interface Entry {
  readonly key: string;
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

/** A `[name]` section and its entries. */
export interface Section {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly Entry[];
}

/** A line that is neither blank nor a comment, trimmed. */
export interface TextLine {
  readonly line: number;
  readonly text: string;
}

/** zeekctl's key normalisation: case-insensitive, and `.` (plugin keys like `af_packet.fanout_id`) is `_`. */
export function normaliseKey(name: string): string {
  return name.trim().toLowerCase().replaceAll(".", "_");
}

/** Control characters a configuration line may not hold (a tab is fine). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/**
 * The lines of `text` that carry content, with their 1-based numbers. A
 * line with a control character (a NUL byte, an escape) is reported as
 * such, named by its code, and skipped: it would otherwise show up in a
 * message about its value looking like something it is not.
 */
export function contentLines(
  text: string,
  commentPrefixes: readonly string[],
  file?: string,
  problems?: Problems,
): TextLine[] {
  const lines: TextLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === "" || commentPrefixes.some((p) => trimmed.startsWith(p))) return;
    const control = CONTROL.exec(trimmed);
    if (control !== null && file !== undefined && problems !== undefined) {
      const code = control[0].charCodeAt(0);
      problems.add(
        file,
        index + 1,
        `the line holds a control character (byte 0x${code.toString(16).padStart(2, "0")}${
          code === 0 ? ", a NUL" : ""
        }) at column ${raw.indexOf(control[0]) + 1}: the file must be plain text; remove it`,
      );
      return;
    }
    lines.push({ line: index + 1, text: trimmed });
  });
  return lines;
}

function splitEntry(line: TextLine, delimiters: RegExp): Entry | undefined {
  const at = line.text.search(delimiters);
  if (at <= 0) return undefined;
  const name = line.text.slice(0, at).trim();
  return { key: normaliseKey(name), name, value: line.text.slice(at + 1).trim(), line: line.line };
}

/** Parses `node.cfg`-style INI text; malformed lines are reported and skipped. */
export function parseIni(text: string, file: string, problems: Problems): Section[] {
  const sections: { name: string; line: number; entries: Entry[] }[] = [];
  for (const line of contentLines(text, ["#", ";"], file, problems)) {
    if (line.text.startsWith("[")) {
      const header = /^\[([^\]]*)\]$/.exec(line.text);
      if (header === null) {
        problems.add(
          file,
          line.line,
          `a section header must be "[name]" alone on its line: current value is "${line.text}"`,
        );
      } else {
        sections.push({ name: header[1]!.trim(), line: line.line, entries: [] });
      }
      continue;
    }
    // configparser splits at the first "=" or ":", so "interface=af_packet::eth0" keeps its "::".
    const entry = splitEntry(line, /[=:]/);
    if (entry === undefined) {
      problems.add(
        file,
        line.line,
        `expected "key=value", "[section]" or a # comment: current value is "${line.text}"`,
      );
      continue;
    }
    const section = sections.at(-1);
    if (section === undefined) {
      problems.add(
        file,
        line.line,
        `"${line.text}" comes before any [section]: put it under the [name] of the node it belongs to`,
      );
      continue;
    }
    section.entries.push(entry);
  }
  return sections;
}

/** Parses `zeekctl.cfg`-style `Key = value` lines. */
export function parseKeyValues(text: string, file: string, problems: Problems): Entry[] {
  const entries: Entry[] = [];
  for (const line of contentLines(text, ["#"], file, problems)) {
    const entry = splitEntry(line, /=/);
    if (entry === undefined) {
      problems.add(
        file,
        line.line,
        `expected "Key = value" or a # comment: current value is "${line.text}"`,
      );
    } else entries.push(entry);
  }
  return entries;
}

/** How to read one kind of value; `expects` completes "<key> must be …". */
export interface ValueKind<T> {
  readonly expects: string;
  parse(raw: string): T | undefined;
}

/**
 * Reads the entries of one section (or flat file) by normalised key,
 * reporting bad values and keys set twice.
 */
export class EntryReader {
  readonly #file: string;
  readonly #problems: Problems;
  readonly #entries = new Map<string, Entry>();

  /** `where` names the section in messages, e.g. " in [worker-1]", or "" for a flat file. */
  constructor(entries: readonly Entry[], file: string, problems: Problems, where: string) {
    this.#file = file;
    this.#problems = problems;
    for (const entry of entries) {
      const first = this.#entries.get(entry.key);
      if (first === undefined) this.#entries.set(entry.key, entry);
      else {
        problems.add(
          file,
          entry.line,
          `${entry.name} is set twice${where} (first at line ${first.line}): keep one`,
        );
      }
    }
  }

  /** The entry for `key` when it has a non-empty value. */
  entry(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    return entry === undefined || entry.value === "" ? undefined : entry;
  }

  /** The parsed value of `key`, or undefined when it is unset or bad (bad values are reported). */
  read<T>(key: string, kind: ValueKind<T>): T | undefined {
    const entry = this.entry(key);
    if (entry === undefined) return undefined;
    const value = kind.parse(entry.value);
    if (value === undefined) this.report(entry, `must be ${kind.expects}`);
    return value;
  }

  /** Reports `<name> <complaint>: current value is "<value>"[; <hint>]` at the entry's line. */
  report(entry: Entry, complaint: string, hint?: string): void {
    const tail = hint === undefined ? "" : `; ${hint}`;
    this.#problems.add(
      this.#file,
      entry.line,
      `${entry.name} ${complaint}: current value is "${entry.value}"${tail}`,
    );
  }

  /** Entries whose keys are not in `known`, in file order. */
  unknown(known: readonly string[]): Entry[] {
    return [...this.#entries.values()].filter((e) => !known.includes(e.key));
  }
}

/** Matches `text` case-insensitively against `values`; the result is the value as listed. */
export function oneOf<T extends string>(values: readonly T[], prefix = ""): ValueKind<T> {
  return {
    expects: `one of ${values.join("|")}`,
    parse(raw) {
      const lower = raw.toLowerCase();
      const bare = prefix !== "" && lower.startsWith(prefix) ? lower.slice(prefix.length) : lower;
      return values.find((v) => v.toLowerCase() === bare);
    },
  };
}

const TRUE_WORDS = new Set(["1", "t", "true", "yes"]);
const FALSE_WORDS = new Set(["0", "f", "false", "no"]);

/** zeekctl's 1/0 and true/false, Zeek's T/F, and yes/no. */
export const BOOLEAN: ValueKind<boolean> = {
  expects: "1 or 0 (also true/false, yes/no, T/F)",
  parse(raw) {
    const lower = raw.toLowerCase();
    return TRUE_WORDS.has(lower) ? true : FALSE_WORDS.has(lower) ? false : undefined;
  },
};

/** A whole number in [min, max]. With `products`, Zeek's `128*1024*1024` form is accepted too. */
export function integer(
  min: number,
  max: number,
  expects: string,
  products = false,
): ValueKind<number> {
  const pattern = products ? /^\d+(\s*\*\s*\d+)*$/ : /^\d+$/;
  return {
    expects,
    parse(raw) {
      if (!pattern.test(raw)) return undefined;
      const value = raw.split("*").reduce((product, factor) => product * Number(factor), 1);
      return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
    },
  };
}

/** A port to listen on: weir.cfg's WebSocketPort and node.cfg's websocket_port. */
export const TCP_PORT: ValueKind<number> = integer(1, 65535, "a TCP port from 1 to 65535");

/** Duration units as zeekctl and Zeek write them (singular or plural). */
export type TimeUnit = "usec" | "msec" | "sec" | "min" | "hr" | "day";

const SECONDS_PER_UNIT: Readonly<Record<TimeUnit, number>> = {
  usec: 1e-6,
  msec: 1e-3,
  sec: 1,
  min: 60,
  hr: 3600,
  day: 86400,
};

const UNIT_NAMES: Readonly<Record<TimeUnit, string>> = {
  usec: "microseconds",
  msec: "milliseconds",
  sec: "seconds",
  min: "minutes",
  hr: "hours",
  day: "days",
};

/**
 * A duration in seconds: `30`, `30 sec`, `12hr`, `7days`, `10msec`. A bare
 * number counts in `bareUnit`, because zeekctl reads a bare
 * LogExpireInterval as days and Zeek's block timeout is in milliseconds.
 */
export function duration(bareUnit: TimeUnit, units: readonly TimeUnit[]): ValueKind<number> {
  return {
    expects: `a number of ${UNIT_NAMES[bareUnit]}, or a number and a unit (${units.join(", ")})`,
    parse(raw) {
      const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
      if (match === null) return undefined;
      const written = match[2]!.toLowerCase();
      const singular = written.endsWith("s") ? written.slice(0, -1) : written;
      const unit = (written === "" ? bareUnit : singular) as TimeUnit;
      if (written !== "" && !units.includes(unit)) return undefined;
      return Number(match[1]) * SECONDS_PER_UNIT[unit];
    },
  };
}

/** zeekctl's `env_vars` syntax, `A=1, B=2`; names must be valid environment variable names. */
export const ENV_VARS: ValueKind<Readonly<Record<string, string>>> = {
  expects: "comma-separated NAME=value pairs (e.g. A=1,B=2)",
  parse(raw) {
    const vars: Record<string, string> = {};
    for (const pair of raw.split(",")) {
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return undefined;
      vars[name] = pair.slice(eq + 1).trim();
    }
    return Object.freeze(vars);
  },
};

/** A list separated by spaces or commas (zeekctl uses spaces for script lists, commas elsewhere). */
export function splitList(raw: string): string[] {
  return raw.split(/[\s,]+/).filter((item) => item !== "");
}
