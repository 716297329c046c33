/**
 * Log streams as Zeek's logging framework has them: a stream is declared once
 * with a record schema whose nested records are flattened into dotted column
 * names (`id.orig_h`), filters pick a path and a subset of columns, and every
 * write is counted per stream and per writer.
 *
 * Rows travel as flat arrays in column order; `LogStream.row()` turns a
 * nested record object into one such array for callers that have objects.
 *
 * @module
 */

import {
  DEFAULT_LOG_FIELD_LIMITS,
  limitRow,
  type LogFieldLimits,
  rowFits,
  type TruncationWeird,
} from "./field_limits.ts";
import {
  isTypedValue,
  parseAddrInto,
  parsePortPacked,
  parseSubnetInto,
  type RecordField,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";

/** One column of a log stream after flattening. */
export interface LogColumn {
  /** Dotted name as it appears in `#fields` (`id.orig_h`). */
  readonly name: string;
  readonly type: ZeekType;
  readonly optional: boolean;
}

/** How a stream is declared. */
export interface StreamSpec {
  /** Zeek's stream id, `Module::NAME` (`Conn::LOG`). */
  readonly id: string;
  /** Default path of the default filter (`conn` writes `conn.log`). */
  readonly path: string;
  /** A record type, or its fields; nested records are flattened with `.`. */
  readonly columns: ZeekType | readonly RecordField[];
  /** Zeek's `$ev`: the event every written record is raised as (`Conn::log_conn`). */
  readonly event?: string;
}

/** How a filter is declared; everything but the stream is optional. */
export interface FilterSpec {
  /** Defaults to `"default"`; adding a filter with a taken name replaces that filter. */
  readonly name?: string;
  /** Defaults to the stream's path. */
  readonly path?: string;
  /** Only these (dotted) columns; all columns when absent. */
  readonly include?: Iterable<string>;
  /** Never these (dotted) columns. */
  readonly exclude?: Iterable<string>;
  /** Writer enum name; defaults to `Log::WRITER_ASCII`. */
  readonly writer?: string;
  /** Zeek's filter `policy` hook: a record it returns false for is not written by this filter. */
  readonly policy?: (record: LogRecord) => boolean;
}

/** A written row as a nested record (`rec.id.orig_h`), what log events and policy hooks see. */
export type LogRecord = { readonly [field: string]: ZeekValue | undefined };

/** Where a registry raises its streams' log events (the node's event registry). */
export interface LogEvents {
  hasHandlers(name: string): boolean;
  dispatch(name: string, args: readonly ZeekValue[]): number;
}

/** A filter of one stream: where its rows go and which columns they keep. */
export interface LogFilter {
  readonly name: string;
  readonly path: string;
  readonly writer: string;
  /** The selected columns, in stream order. */
  readonly fields: readonly LogColumn[];
  /** For each selected column, its index in the stream's rows. */
  readonly indices: Int32Array;
  readonly policy: ((record: LogRecord) => boolean) | undefined;
}

/** Where the registry hands every filtered write. */
export interface LogSink {
  /** `values` is the full stream row; `filter.indices` says which columns to keep. */
  write(stream: LogStream, filter: LogFilter, values: readonly ZeekValue[]): void;
}

/** One counter sample, named and labelled as Zeek's telemetry does. */
export interface LogCounterSample {
  readonly name: "zeek_log_stream_writes_total" | "zeek_log_writer_writes_total";
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Writer enum name of Zeek's ASCII writer, the default for every filter. */
export const DEFAULT_WRITER = "Log::WRITER_ASCII";
/** Name of the filter every stream starts with. */
export const DEFAULT_FILTER_NAME = "default";

/** Thrown when a stream or filter declaration cannot be used. */
export class LogSchemaError extends Error {
  override readonly name = "LogSchemaError";
}

/** Thrown when a written value does not fit its column. */
export class LogValueError extends Error {
  override readonly name = "LogValueError";
  constructor(
    readonly streamId: string,
    readonly column: string,
    readonly type: ZeekType,
    readonly value: unknown,
    reason: string,
  ) {
    super(
      `Cannot write to log stream ${streamId}: column "${column}" (${typeName(type)}) got ${
        describeValue(value)
      }, ${reason}`,
    );
  }
}

/** A declared stream: its id, default path and flattened columns. Frozen. */
export class LogStream {
  readonly id: string;
  /** The part of the id before `::` (`Conn`), or `GLOBAL` as Zeek says. */
  readonly module: string;
  readonly path: string;
  readonly columns: readonly LogColumn[];
  /** The log event (`$ev`), if the stream has one. */
  readonly event: string | undefined;
  readonly #paths: readonly (readonly string[])[];
  readonly #index: ReadonlyMap<string, number>;

  constructor(id: string, path: string, columns: readonly LogColumn[], event?: string) {
    this.id = id;
    this.module = moduleOf(id);
    this.path = path;
    this.event = event;
    this.columns = Object.freeze(columns.map((c) => Object.freeze({ ...c })));
    this.#paths = Object.freeze(this.columns.map((c) => Object.freeze(c.name.split("."))));
    this.#index = new Map(this.columns.map((c, i) => [c.name, i]));
    Object.freeze(this);
  }

  /** Index of a dotted column name, or -1. */
  indexOf(column: string): number {
    return this.#index.get(column) ?? -1;
  }

  /**
   * Flattens a nested record object (`{ id: { orig_h } }`) into a row in
   * column order; a missing parent record leaves its columns unset.
   */
  row(record: { readonly [field: string]: ZeekValue | undefined }): ZeekValue[] {
    const paths = this.#paths;
    const out = new Array<ZeekValue>(paths.length);
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      let v: ZeekValue | undefined = record[path[0]!];
      for (let j = 1; j < path.length && v !== undefined; j++) {
        v = (v as { [field: string]: ZeekValue | undefined })[path[j]!];
      }
      out[i] = v;
    }
    return out;
  }

  /** The nested record of a row (the inverse of `row`); unset columns are absent. */
  record(values: readonly ZeekValue[]): LogRecord {
    const paths = this.#paths;
    const out: { [field: string]: ZeekValue | undefined } = {};
    for (let i = 0; i < paths.length; i++) {
      const v = values[i];
      if (v === undefined) continue;
      const path = paths[i]!;
      let at = out;
      for (let j = 0; j < path.length - 1; j++) {
        const key = path[j]!;
        at = (at[key] ??= {}) as { [field: string]: ZeekValue | undefined };
      }
      at[path[path.length - 1]!] = v;
    }
    return out;
  }
}

/**
 * Declares a stream without registering it anywhere.
 *
 * @example
 * ```ts
 * const connId = T.record("conn_id", [["orig_h", T.addr], ["orig_p", T.port]]);
 * const conn = defineStream({
 *   id: "Conn::LOG",
 *   path: "conn",
 *   columns: T.record("Conn::Info", [["ts", T.time], ["id", connId], ["service", T.string, "optional"]]),
 * });
 * conn.columns.map((c) => c.name); // ["ts", "id.orig_h", "id.orig_p", "service"]
 * ```
 */
export function defineStream(spec: StreamSpec): LogStream {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/.test(spec.id)) {
    throw new LogSchemaError(
      `Cannot define log stream "${spec.id}": the id must be an enum name such as Conn::LOG`,
    );
  }
  checkPath(spec.id, spec.path);
  const fields = Array.isArray(spec.columns)
    ? spec.columns as readonly RecordField[]
    : recordFields(spec.id, spec.columns as ZeekType);
  const columns: LogColumn[] = [];
  const problems: string[] = [];
  flatten(fields, "", false, columns, problems);
  if (columns.length === 0 && problems.length === 0) problems.push("it has no columns");
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) problems.push(`column "${c.name}" appears twice`);
    seen.add(c.name);
  }
  if (problems.length > 0) {
    throw new LogSchemaError(`Cannot define log stream ${spec.id}: ${problems.join("; ")}`);
  }
  return new LogStream(spec.id, spec.path, columns, spec.event);
}

/**
 * Builds a filter for a stream: `include` keeps only the named columns,
 * `exclude` drops the named ones. Unknown names are an error, because a typo
 * would otherwise silently empty or keep a column.
 */
export function createFilter(stream: LogStream, spec: FilterSpec = {}): LogFilter {
  const name = spec.name ?? DEFAULT_FILTER_NAME;
  const path = spec.path ?? stream.path;
  checkPath(stream.id, path);
  const include = spec.include === undefined ? undefined : new Set(spec.include);
  const exclude = new Set(spec.exclude ?? []);
  const unknown = [...(include ?? []), ...exclude].filter((n) => stream.indexOf(n) < 0);
  if (unknown.length > 0) {
    throw new LogSchemaError(
      `Cannot add filter "${name}" to log stream ${stream.id}: no column named ${
        unknown.map((n) => `"${n}"`).join(", ")
      }; columns are ${stream.columns.map((c) => c.name).join(", ")}`,
    );
  }
  const picked: number[] = [];
  stream.columns.forEach((c, i) => {
    if ((include === undefined || include.has(c.name)) && !exclude.has(c.name)) picked.push(i);
  });
  if (picked.length === 0) {
    throw new LogSchemaError(
      `Cannot add filter "${name}" to log stream ${stream.id}: include/exclude leave no column to write`,
    );
  }
  return Object.freeze({
    name,
    path,
    writer: spec.writer ?? DEFAULT_WRITER,
    fields: Object.freeze(picked.map((i) => stream.columns[i]!)),
    indices: Int32Array.from(picked),
    policy: spec.policy,
  });
}

/** Options of a registry. */
export interface LogRegistryOptions {
  /**
   * Check every row against its stream's schema before it is handed on.
   * Off by default, from source and in the compiled binary alike: measured
   * with 1M conn rows (Deno 2.9.6), the check costs 0.4–0.9 µs a row, which
   * roughly doubles the write path (+90% with the shipper's batch encoding,
   * +80–120% into an ASCII `LogFile`). Tests and tools that want the check
   * (a misbehaving producer named by column) pass `validate: true`.
   */
  readonly validate?: boolean;
  /** Where filtered writes go; writes are only counted until one is set. */
  readonly sink?: LogSink;
  /** Zeek's `Log::default_max_*` field limits (default Zeek's; `false` turns them off). */
  readonly fieldLimits?: LogFieldLimits | false;
}

interface WriterCounter {
  filter: LogFilter;
  writes: number;
}

interface StreamState {
  readonly stream: LogStream;
  writes: number;
  filters: WriterCounter[];
  /** Counters of filters that were replaced or removed, kept so totals never go down. */
  readonly retired: WriterCounter[];
}

/**
 * The streams of one process, their filters, the sink their rows go to, and
 * the write counters a metrics module reads.
 */
export class LogRegistry {
  readonly #streams = new Map<string, StreamState>();
  readonly #byStream = new Map<LogStream, StreamState>();
  readonly #validate: boolean;
  #sink: LogSink | undefined;
  #events: LogEvents | undefined;
  readonly #limits: LogFieldLimits | undefined;
  #onTruncated: ((weird: TruncationWeird, streamId: string) => void) | undefined;

  constructor(options: LogRegistryOptions = {}) {
    this.#validate = options.validate ?? false;
    this.#sink = options.sink;
    this.#limits = options.fieldLimits === false
      ? undefined
      : options.fieldLimits ?? DEFAULT_LOG_FIELD_LIMITS;
  }

  /**
   * Who hears of a field cut to Zeek's limits (`log_string_field_truncated`,
   * `log_container_field_truncated`, with the stream id): the pipeline
   * makes it a weird.log row, as Zeek's reporter does.
   */
  setTruncationReporter(
    report: ((weird: TruncationWeird, streamId: string) => void) | undefined,
  ): void {
    this.#onTruncated = report;
  }

  /** Whether rows are checked against their schema. */
  get validating(): boolean {
    return this.#validate;
  }

  /** Where streams with a log event (`$ev`) raise it for every record written. */
  setEvents(events: LogEvents | undefined): void {
    this.#events = events;
  }

  /** Replaces the sink every filtered write goes to. */
  setSink(sink: LogSink | undefined): void {
    this.#sink = sink;
  }

  /** Declares and registers a stream with its default filter. */
  defineStream(spec: StreamSpec): LogStream {
    return this.add(defineStream(spec));
  }

  /** Registers a declared stream with its default filter. */
  add(stream: LogStream): LogStream {
    if (this.#streams.has(stream.id)) {
      throw new LogSchemaError(
        `Cannot register log stream ${stream.id}: a stream with that id is already registered`,
      );
    }
    const state: StreamState = {
      stream,
      writes: 0,
      filters: [{ filter: createFilter(stream), writes: 0 }],
      retired: [],
    };
    this.#streams.set(stream.id, state);
    this.#byStream.set(stream, state);
    return stream;
  }

  /** The registered stream with this id. */
  stream(id: string): LogStream | undefined {
    return this.#streams.get(id)?.stream;
  }

  /** Registered streams, in registration order. */
  streams(): LogStream[] {
    return [...this.#streams.values()].map((s) => s.stream);
  }

  /** The current filters of a stream. */
  filters(stream: LogStream | string): LogFilter[] {
    return this.#state(stream).filters.map((w) => w.filter);
  }

  /** Adds a filter; one with the same name is replaced, as `Log::add_filter` does. */
  addFilter(stream: LogStream | string, spec: FilterSpec = {}): LogFilter {
    const state = this.#state(stream);
    const filter = createFilter(state.stream, spec);
    const at = state.filters.findIndex((w) => w.filter.name === filter.name);
    const entry = { filter, writes: 0 };
    if (at >= 0) {
      state.retired.push(state.filters[at]!);
      state.filters = state.filters.with(at, entry);
    } else {
      state.filters = [...state.filters, entry];
    }
    return filter;
  }

  /** Removes a filter by name; false when there was none. */
  removeFilter(stream: LogStream | string, name: string): boolean {
    const state = this.#state(stream);
    const at = state.filters.findIndex((w) => w.filter.name === name);
    if (at < 0) return false;
    state.retired.push(state.filters[at]!);
    state.filters = state.filters.toSpliced(at, 1);
    return true;
  }

  /**
   * Writes one row (all columns, stream order) to every filter of the
   * stream. With validation on, a row that does not fit throws
   * `LogValueError` before anything is counted or written.
   */
  write(stream: LogStream, values: readonly ZeekValue[]): void {
    const state = this.#byStream.get(stream) ?? this.#state(stream);
    if (this.#validate) validateRow(stream, values);
    state.writes++;
    const filters = state.filters;
    const sink = this.#sink;
    // The nested record exists only for someone who asked to see it.
    let record: LogRecord | undefined;
    const event = stream.event;
    if (event !== undefined && this.#events?.hasHandlers(event)) {
      record = stream.record(values);
      this.#events.dispatch(event, [record]);
    }
    // What writers get is cut to Zeek's field limits (the event got it whole).
    let row: readonly ZeekValue[] | undefined;
    for (let i = 0; i < filters.length; i++) {
      const w = filters[i]!;
      const policy = w.filter.policy;
      if (policy !== undefined && !policy(record ??= stream.record(values))) continue;
      w.writes++;
      if (sink === undefined) continue;
      const limits = this.#limits;
      row ??= limits === undefined || rowFits(stream.columns, values, limits) ? values : limitRow(
        stream.columns,
        values,
        limits,
        (weird) => this.#onTruncated?.(weird, stream.id),
      );
      sink.write(stream, w.filter, row);
    }
  }

  /** Flattens a nested record with `stream.row()` and writes it. */
  writeRecord(
    stream: LogStream,
    record: { readonly [field: string]: ZeekValue | undefined },
  ): void {
    this.write(stream, stream.row(record));
  }

  /**
   * A snapshot of the write counters: `zeek_log_stream_writes_total{module,stream}`
   * and `zeek_log_writer_writes_total{writer,module,stream,filter_name,path}`.
   */
  counters(): LogCounterSample[] {
    const out: LogCounterSample[] = [];
    for (const state of this.#streams.values()) {
      const { stream } = state;
      out.push(Object.freeze({
        name: "zeek_log_stream_writes_total",
        labels: Object.freeze({ module: stream.module, stream: stream.id }),
        value: state.writes,
      }));
      const byLabels = new Map<string, { labels: Record<string, string>; value: number }>();
      for (const w of [...state.retired, ...state.filters]) {
        const labels = {
          writer: w.filter.writer,
          module: stream.module,
          stream: stream.id,
          filter_name: w.filter.name,
          path: w.filter.path,
        };
        const key = JSON.stringify(labels);
        const prev = byLabels.get(key);
        if (prev) prev.value += w.writes;
        else byLabels.set(key, { labels, value: w.writes });
      }
      for (const { labels, value } of byLabels.values()) {
        out.push(Object.freeze({
          name: "zeek_log_writer_writes_total",
          labels: Object.freeze(labels),
          value,
        }));
      }
    }
    return out;
  }

  #state(stream: LogStream | string): StreamState {
    const id = typeof stream === "string" ? stream : stream.id;
    const state = this.#streams.get(id);
    if (state === undefined || (typeof stream !== "string" && state.stream !== stream)) {
      throw new LogSchemaError(
        `Cannot use log stream ${id}: it is not registered here; call defineStream() or add() first`,
      );
    }
    return state;
  }
}

const SCRATCH_ADDR = new Uint8Array(16);
const MAX_COUNT = 0xffff_ffff_ffff_ffffn;
const MIN_INT = -0x8000_0000_0000_0000n;
const MAX_INT = 0x7fff_ffff_ffff_ffffn;

/**
 * Checks a row against a stream's schema; throws `LogValueError` naming the
 * first column that does not fit. Allocates nothing for a valid row.
 */
export function validateRow(stream: LogStream, values: readonly ZeekValue[]): void {
  const columns = stream.columns;
  if (!Array.isArray(values) || values.length !== columns.length) {
    throw new LogSchemaError(
      `Cannot write to log stream ${stream.id}: a row needs ${columns.length} values in column order, got ${
        Array.isArray(values) ? values.length : typeof values
      }; use stream.row(record) to flatten a record object`,
    );
  }
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const v = values[i];
    if (v === undefined) {
      if (!c.optional) {
        throw new LogValueError(
          stream.id,
          c.name,
          c.type,
          v,
          "but the column is not optional; set it or declare it optional",
        );
      }
      continue;
    }
    const reason = checkValue(c.type, v, true);
    if (reason !== undefined) throw new LogValueError(stream.id, c.name, c.type, v, reason);
  }
}

/** Why `value` does not fit `type`, or undefined when it fits. */
export function checkValue(type: ZeekType, value: ZeekValue, top: boolean): string | undefined {
  switch (type.kind) {
    case "bool":
      return typeof value === "boolean" ? undefined : "expected a boolean";
    case "count":
      if (typeof value === "number") {
        return Number.isSafeInteger(value) && value >= 0
          ? undefined
          : "expected a non-negative integer (a bigint above 2^53)";
      }
      if (typeof value === "bigint") {
        return value >= 0n && value <= MAX_COUNT ? undefined : "expected a value in 0..2^64-1";
      }
      return "expected a non-negative integer";
    case "int":
      if (typeof value === "number") {
        return Number.isSafeInteger(value)
          ? undefined
          : "expected an integer (a bigint beyond 2^53)";
      }
      if (typeof value === "bigint") {
        return value >= MIN_INT && value <= MAX_INT
          ? undefined
          : "expected a 64-bit signed integer";
      }
      return "expected an integer";
    case "double":
      return typeof value === "number" ? undefined : "expected a number";
    case "time":
    case "interval":
      return typeof value === "number" ? undefined : "expected a number of seconds";
    case "string":
      return typeof value === "string" || value instanceof Uint8Array
        ? undefined
        : "expected a string (or a Uint8Array of raw bytes)";
    case "enum":
      return typeof value === "string" ? undefined : "expected the enum value's name as a string";
    case "port":
      if (typeof value === "number") {
        return Number.isInteger(value) && value >= 0 && value <= 0xffff
          ? undefined
          : "expected 0..65535";
      }
      return typeof value === "string" && parsePortPacked(value) >= 0
        ? undefined
        : `expected a port such as "80/tcp"`;
    case "addr":
      return typeof value === "string" && parseAddrInto(value, SCRATCH_ADDR, 0)
        ? undefined
        : `expected an address such as "10.0.0.1" or "2001:db8::1"`;
    case "subnet":
      return typeof value === "string" && parseSubnetInto(value, SCRATCH_ADDR, 0) >= 0
        ? undefined
        : `expected a subnet such as "10.0.0.0/8"`;
    case "set":
    case "vector": {
      if (!top) return "containers of containers cannot be logged";
      if (!Array.isArray(value)) return `expected an array for the ${type.kind}`;
      for (let i = 0; i < value.length; i++) {
        const e = value[i];
        if (e === undefined) {
          if (type.kind === "set") return `element ${i} is unset, which a set cannot hold`;
          continue;
        }
        const reason = checkValue(type.of, e, false);
        if (reason !== undefined) return `element ${i}: ${reason}`;
      }
      return undefined;
    }
    default:
      return `type ${typeName(type)} cannot be logged`;
  }
}

/** Kinds a log column (or a set/vector element) may have. */
const ATOMIC_KINDS: ReadonlySet<ZeekType["kind"]> = new Set([
  "bool",
  "count",
  "int",
  "double",
  "time",
  "interval",
  "string",
  "enum",
  "port",
  "addr",
  "subnet",
]);

function flatten(
  fields: readonly RecordField[],
  prefix: string,
  parentOptional: boolean,
  out: LogColumn[],
  problems: string[],
): void {
  for (const f of fields) {
    const name = prefix + f.name;
    if (!/^[\x21-\x7e]+$/.test(f.name)) {
      // Names end up in the #fields line, which has no way to escape them.
      problems.push(`column "${name}" must be printable ASCII without spaces`);
      continue;
    }
    const optional = parentOptional || f.optional;
    const t = f.type;
    if (t.kind === "record") {
      flatten(t.fields, `${name}.`, optional, out, problems);
      continue;
    }
    if (ATOMIC_KINDS.has(t.kind)) {
      out.push({ name, type: t, optional });
    } else if ((t.kind === "set" || t.kind === "vector") && ATOMIC_KINDS.has(t.of.kind)) {
      out.push({ name, type: t, optional });
    } else {
      problems.push(
        `column "${name}" has type ${
          typeName(t)
        }, which Zeek's logging cannot write; use an atomic type or a set/vector of one`,
      );
    }
  }
}

function recordFields(id: string, type: ZeekType): readonly RecordField[] {
  if (type.kind !== "record") {
    throw new LogSchemaError(
      `Cannot define log stream ${id}: columns must be a record type or a list of fields, got ${
        typeName(type)
      }`,
    );
  }
  return type.fields;
}

function checkPath(id: string, path: string): void {
  if (path.length === 0 || path.includes("/") || path.includes("\0") || path.startsWith(".")) {
    throw new LogSchemaError(
      `Cannot use log path "${path}" for stream ${id}: a path is a plain file name without "/" such as "conn"`,
    );
  }
}

function moduleOf(id: string): string {
  const at = id.lastIndexOf("::");
  return at < 0 ? "GLOBAL" : id.slice(0, at);
}

function describeValue(value: unknown): string {
  if (value === undefined) return "no value";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} raw bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object" && value !== null && isTypedValue(value as ZeekValue)) {
    return "a TypedValue";
  }
  return typeof value === "object" ? "an object" : String(value);
}
