/**
 * The size limits Zeek's logging framework puts on every row it hands a
 * writer (Z: src/logging/Manager.cc `ValToLogVal`, `calculate_allowed`;
 * scripts/base/init-bare.zeek `Log::default_max_*`): a string field keeps
 * at most 4,096 bytes and a row 256,000 string bytes in all; a set or
 * vector keeps at most 100 elements and a row 500 in all. Fields are
 * visited in column order, container elements in order, and what is over
 * is cut (a string at a byte, possibly inside a UTF-8 sequence) with the
 * weird `log_string_field_truncated` or `log_container_field_truncated`
 * (addl: the stream id). The event a stream raises still gets the whole
 * record, as in Zeek.
 *
 * Rows that fit, nearly all of them, are checked with a bound on their
 * sizes (`rowFits`, which looks only at a stream's string and container
 * columns) and returned as they are.
 *
 * @module
 */

import type { ZeekType, ZeekValue } from "../../zeek/mod.ts";

/** Zeek's `Log::default_max_*` (0 turns a limit off). */
export interface LogFieldLimits {
  readonly maxFieldStringBytes: number;
  readonly maxTotalStringBytes: number;
  readonly maxFieldContainerElements: number;
  readonly maxTotalContainerElements: number;
}

export const DEFAULT_LOG_FIELD_LIMITS: LogFieldLimits = Object.freeze({
  maxFieldStringBytes: 4096,
  maxTotalStringBytes: 256_000,
  maxFieldContainerElements: 100,
  maxTotalContainerElements: 500,
});

/** Which limit a row hit: Zeek's weird names. */
export type TruncationWeird = "log_string_field_truncated" | "log_container_field_truncated";

const encoder = new TextEncoder();

/** Upper bound of a value's UTF-8 bytes (a JS string unit is at most 3 bytes). */
function boundOf(v: ZeekValue | undefined): number {
  if (typeof v === "string") return v.length * 3;
  if (v instanceof Uint8Array) return v.length;
  return 0;
}

function isString(t: ZeekType): boolean {
  return t.kind === "string";
}

function isContainer(t: ZeekType): t is Extract<ZeekType, { kind: "set" | "vector" }> {
  return t.kind === "set" || t.kind === "vector";
}

/** Where a stream's rows can hold strings: the columns to look at, by kind. */
interface LimitPlan {
  /** String columns. */
  readonly strings: Int32Array;
  /** Set and vector columns, and whether their elements are strings (1) or not (0). */
  readonly containers: Int32Array;
  readonly containerOfStrings: Uint8Array;
}

const plans = new WeakMap<readonly { readonly type: ZeekType }[], LimitPlan>();
let lastColumns: readonly { readonly type: ZeekType }[] | undefined;
let lastPlan: LimitPlan | undefined;

function planOf(columns: readonly { readonly type: ZeekType }[]): LimitPlan {
  if (columns === lastColumns) return lastPlan!;
  let plan = plans.get(columns);
  if (plan === undefined) {
    const strings: number[] = [];
    const containers: number[] = [];
    const ofStrings: number[] = [];
    columns.forEach((c, i) => {
      if (isString(c.type)) strings.push(i);
      else if (isContainer(c.type)) {
        containers.push(i);
        ofStrings.push(isString(c.type.of) ? 1 : 0);
      }
    });
    plan = {
      strings: Int32Array.from(strings),
      containers: Int32Array.from(containers),
      containerOfStrings: Uint8Array.from(ofStrings),
    };
    plans.set(columns, plan);
  }
  lastColumns = columns;
  lastPlan = plan;
  return plan;
}

/**
 * Whether a row is within the limits by a bound on its sizes (a JS string
 * unit is at most 3 UTF-8 bytes): true for nearly every row, and then
 * `limitRow` would return it as it is. Looks only at string and container
 * columns, found once per stream.
 */
export function rowFits(
  columns: readonly { readonly type: ZeekType }[],
  values: readonly ZeekValue[],
  limits: LogFieldLimits,
): boolean {
  const plan = planOf(columns);
  const fieldBytes = limits.maxFieldStringBytes || Infinity;
  let bytes = 0;
  const strings = plan.strings;
  for (let k = 0; k < strings.length; k++) {
    const b = boundOf(values[strings[k]!]);
    if (b > fieldBytes) return false;
    bytes += b;
  }
  const containers = plan.containers;
  if (containers.length > 0) {
    const fieldElements = limits.maxFieldContainerElements || Infinity;
    let elements = 0;
    for (let k = 0; k < containers.length; k++) {
      const v = values[containers[k]!];
      if (!Array.isArray(v)) continue;
      if (v.length > fieldElements) return false;
      elements += v.length;
      if (plan.containerOfStrings[k] === 0) continue;
      for (let e = 0; e < v.length; e++) {
        const b = boundOf(v[e]);
        if (b > fieldBytes) return false;
        bytes += b;
      }
    }
    if (elements > (limits.maxTotalContainerElements || Infinity)) return false;
  }
  return bytes <= (limits.maxTotalStringBytes || Infinity);
}

/**
 * The row as a writer gets it: `values` itself when nothing is over a
 * limit, else a copy with the cut fields; `report` is told of each cut.
 */
export function limitRow(
  columns: readonly { readonly type: ZeekType }[],
  values: readonly ZeekValue[],
  limits: LogFieldLimits,
  report: (weird: TruncationWeird) => void,
): readonly ZeekValue[] {
  if (rowFits(columns, values, limits)) return values;
  const fieldBytes = limits.maxFieldStringBytes || Infinity;
  const totalBytes = limits.maxTotalStringBytes || Infinity;
  const fieldElements = limits.maxFieldContainerElements || Infinity;
  const totalElements = limits.maxTotalContainerElements || Infinity;

  const out = [...values];
  let usedBytes = 0;
  let usedElements = 0;
  let cutString = false;
  const cut = (v: ZeekValue): ZeekValue => {
    const raw = typeof v === "string" ? encoder.encode(v) : v as Uint8Array;
    const allowed = Math.min(raw.length, fieldBytes, totalBytes - usedBytes);
    usedBytes += allowed;
    if (allowed >= raw.length) return v;
    cutString = true;
    return raw.slice(0, allowed);
  };
  for (let i = 0; i < columns.length; i++) {
    const t = columns[i]!.type;
    const v = out[i];
    if (v === undefined || v === null) continue;
    if (isString(t) && (typeof v === "string" || v instanceof Uint8Array)) {
      cutString = false;
      out[i] = cut(v);
      if (cutString) report("log_string_field_truncated");
    } else if (isContainer(t) && Array.isArray(v)) {
      const allowed = Math.min(v.length, fieldElements, totalElements - usedElements);
      if (allowed < v.length) report("log_container_field_truncated");
      const kept = v.slice(0, allowed);
      usedElements += kept.length;
      if (isString(t.of)) {
        for (let k = 0; k < kept.length; k++) {
          const e = kept[k];
          if (typeof e !== "string" && !(e instanceof Uint8Array)) continue;
          cutString = false;
          kept[k] = cut(e);
          if (cutString) report("log_string_field_truncated");
        }
      }
      out[i] = kept;
    }
  }
  return out;
}
