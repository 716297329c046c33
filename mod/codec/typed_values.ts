/**
 * What both encoders (broker-bin-v1 and broker-json-v1) ask of a JavaScript
 * value before writing it as a Zeek type: the shape checks of composite
 * values and the errors they raise. Each encoder keeps its own per-kind
 * switch, because one writes bytes top-down and the other builds JSON
 * bottom-up, and a shared walk with a sink per format would turn the
 * binary encoder's direct writer calls into polymorphic ones.
 *
 * @module
 */

import {
  isTypedValue,
  type RecordField,
  type TypedValue,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";
import { BrokerEncodeError, describeValue } from "./codec_errors.ts";

/** A record value as JavaScript holds it. */
export type RecordValue = { [field: string]: ZeekValue | undefined };

const ANYWHERE_PREFIX = "^?(.|\\n)*(";

/**
 * The pattern text Zeek pairs with an exact pattern for matching anywhere
 * in the input: `^?(X)$?` goes with `^?(.|\n)*(X)`.
 */
export function patternAnywhereText(exact: string): string {
  const inner = exact.startsWith("^?(") && exact.endsWith(")$?") && exact.length >= 6
    ? exact.slice(3, -3)
    : exact;
  return `${ANYWHERE_PREFIX}${inner})`;
}

/** True when `value` is a plain object, i.e. can be a record value. */
export function isRecordValue(value: ZeekValue): value is RecordValue {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Map) && !(value instanceof Uint8Array);
}

/** `value` does not fit `type`. */
export function encodeMismatch(type: ZeekType, value: unknown): BrokerEncodeError {
  return new BrokerEncodeError(typeName(type), describeValue(value));
}

/**
 * The value of `field` in `record`: `undefined` for an unset optional
 * field (written as none), a `BrokerEncodeError` for an unset required one.
 */
export function recordFieldValue(record: RecordValue, field: RecordField): ZeekValue {
  const item = record[field.name];
  if (item === undefined && !field.optional) {
    throw new BrokerEncodeError(
      typeName(field.type),
      "undefined (the field is not optional)",
      field.name,
    );
  }
  return item;
}

/**
 * What an `any` slot carries: `undefined` for none, else the `TypedValue`
 * that says its type; anything else is a `BrokerEncodeError`.
 */
export function anyContent(value: ZeekValue): TypedValue | undefined {
  if (value === undefined || isTypedValue(value)) return value;
  throw new BrokerEncodeError(
    "a TypedValue ({ type, value }) in an any slot",
    describeValue(value),
  );
}
