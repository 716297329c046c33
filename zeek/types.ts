/**
 * Zeek's type system as weir sees it: the declared types that drive the
 * broker-bin-v1 codec, the WebSocket JSON codec, log schemas and validation.
 *
 * JavaScript values carried for each type:
 *
 * | Zeek type | JS value |
 * |---|---|
 * | bool | `boolean` |
 * | count, int | `number` (a `bigint` when it does not fit in 2^53) |
 * | double | `number` |
 * | time | `number`, seconds since the epoch (fractional) |
 * | interval | `number`, seconds (fractional) |
 * | string | `string` (bytes that are not UTF-8 are kept as `Uint8Array`) |
 * | addr | `string` (`"10.0.0.1"`, `"2001:db8::1"`) |
 * | subnet | `string` (`"10.0.0.0/8"`) |
 * | port | `string` (`"80/tcp"`, `"53/udp"`, `"8/icmp"`, `"0/unknown"`) |
 * | enum | `string` (`"Cluster::WORKER"`) |
 * | pattern | `string` (the exact pattern) |
 * | set, vector | `ZeekValue[]` |
 * | table | `Map<ZeekValue, ZeekValue>` |
 * | record | `{ [field]: ZeekValue }`, an unset optional field is `undefined` |
 * | any | a `TypedValue` (type travels with the value) |
 *
 * @module
 */

/** A Zeek type, as declared for an event argument, a record field or a log column. */
export type ZeekType =
  | { readonly kind: "bool" }
  | { readonly kind: "count" }
  | { readonly kind: "int" }
  | { readonly kind: "double" }
  | { readonly kind: "time" }
  | { readonly kind: "interval" }
  | { readonly kind: "string" }
  | { readonly kind: "addr" }
  | { readonly kind: "subnet" }
  | { readonly kind: "port" }
  | { readonly kind: "enum"; readonly name: string }
  | { readonly kind: "pattern" }
  | { readonly kind: "set"; readonly of: ZeekType }
  | { readonly kind: "vector"; readonly of: ZeekType }
  | { readonly kind: "table"; readonly key: ZeekType; readonly value: ZeekType }
  | { readonly kind: "record"; readonly name: string; readonly fields: readonly RecordField[] }
  | { readonly kind: "any" };

/** One field of a record type. */
export interface RecordField {
  readonly name: string;
  readonly type: ZeekType;
  readonly optional: boolean;
}

/** A value paired with its type, for `any` slots and untyped decoding. */
export interface TypedValue {
  readonly type: ZeekType;
  readonly value: ZeekValue;
}

/** Any JavaScript value that stands for a Zeek value (see the module doc). */
export type ZeekValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ZeekValue[]
  | Map<ZeekValue, ZeekValue>
  | { [field: string]: ZeekValue | undefined }
  | TypedValue
  | undefined;

const BOOL = Object.freeze({ kind: "bool" as const });
const COUNT = Object.freeze({ kind: "count" as const });
const INT = Object.freeze({ kind: "int" as const });
const DOUBLE = Object.freeze({ kind: "double" as const });
const TIME = Object.freeze({ kind: "time" as const });
const INTERVAL = Object.freeze({ kind: "interval" as const });
const STRING = Object.freeze({ kind: "string" as const });
const ADDR = Object.freeze({ kind: "addr" as const });
const SUBNET = Object.freeze({ kind: "subnet" as const });
const PORT = Object.freeze({ kind: "port" as const });
const PATTERN = Object.freeze({ kind: "pattern" as const });
const ANY = Object.freeze({ kind: "any" as const });

/**
 * Builders for declared types.
 *
 * @example
 * ```ts
 * const nodeStatus = [T.string, T.count];
 * const conns = T.table(T.addr, T.set(T.port));
 * ```
 */
export const T = Object.freeze({
  bool: BOOL,
  count: COUNT,
  int: INT,
  double: DOUBLE,
  time: TIME,
  interval: INTERVAL,
  string: STRING,
  addr: ADDR,
  subnet: SUBNET,
  port: PORT,
  pattern: PATTERN,
  any: ANY,
  enum: (name: string): ZeekType => Object.freeze({ kind: "enum", name }),
  set: (of: ZeekType): ZeekType => Object.freeze({ kind: "set", of }),
  vector: (of: ZeekType): ZeekType => Object.freeze({ kind: "vector", of }),
  table: (key: ZeekType, value: ZeekType): ZeekType => Object.freeze({ kind: "table", key, value }),
  record: (
    name: string,
    fields: readonly (readonly [string, ZeekType] | readonly [string, ZeekType, "optional"])[],
  ): ZeekType =>
    Object.freeze({
      kind: "record",
      name,
      fields: Object.freeze(
        fields.map(([fieldName, type, opt]) =>
          Object.freeze({ name: fieldName, type, optional: opt === "optional" })
        ),
      ),
    }),
});

/** Zeek's spelling of a type, as in a log's `#types` line: `set[string]`, `table[addr] of count`. */
export function typeName(type: ZeekType): string {
  switch (type.kind) {
    case "enum":
      return "enum";
    case "set":
      return `set[${typeName(type.of)}]`;
    case "vector":
      return `vector[${typeName(type.of)}]`;
    case "table":
      return `table[${typeName(type.key)}] of ${typeName(type.value)}`;
    case "record":
      return type.name;
    default:
      return type.kind;
  }
}

/** True when `value` is a `TypedValue` wrapper (used in `any` slots). */
export function isTypedValue(value: ZeekValue): value is TypedValue {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Map) && !(value instanceof Uint8Array) && "type" in value &&
    "value" in value && typeof (value as { type: unknown }).type === "object";
}
