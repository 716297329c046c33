/**
 * The value kinds the log writers switch on per column, computed once per
 * stream from the column types so that the row loops compare small
 * integers instead of type objects. Each writer groups the kinds its
 * format renders alike (ASCII prints time and interval the same way, JSON
 * prints count and int the same way).
 *
 * @module
 */

import { typeName, type ZeekType } from "../../zeek/mod.ts";

/** string, enum */
export const K_STRING = 1;
export const K_COUNT = 2;
export const K_INT = 3;
export const K_TIME = 4;
export const K_INTERVAL = 5;
export const K_DOUBLE = 6;
export const K_BOOL = 7;
export const K_PORT = 8;
/** addr, subnet: canonical text as given */
export const K_ADDR = 9;
/** set, vector */
export const K_SET = 10;

/** The kind of a column type; `TypeError` for a type no log column can have. */
export function kindCode(type: ZeekType): number {
  switch (type.kind) {
    case "string":
    case "enum":
      return K_STRING;
    case "count":
      return K_COUNT;
    case "int":
      return K_INT;
    case "time":
      return K_TIME;
    case "interval":
      return K_INTERVAL;
    case "double":
      return K_DOUBLE;
    case "bool":
      return K_BOOL;
    case "port":
      return K_PORT;
    case "addr":
    case "subnet":
      return K_ADDR;
    case "set":
    case "vector":
      return K_SET;
    default:
      throw new TypeError(
        `Cannot write a log column of type ${
          typeName(type)
        }; declare the stream with defineStream()`,
      );
  }
}
