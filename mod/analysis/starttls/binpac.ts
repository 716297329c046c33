/**
 * What the binpac-generated parsers of IMAP, XMPP, MySQL and RDP do when
 * their input does not fit: they throw, and the analyzer reports
 * `Binpac exception: <what>` as a protocol violation. Here a parse
 * failure is a `BinpacError` thrown inside one analyzer and caught by it;
 * it never leaves the analyzer.
 *
 * Where weir departs: binpac names the failing type by its location in
 * Zeek's build tree (`/…/imap-protocol.pac:12`); weir names the `.pac`
 * file alone, and quotes at most 64 bytes of the data that did not match.
 *
 * @module
 */

import { latin1String } from "../../../zeek/mod.ts";

/** A binpac parse failure; `message` is binpac's `e.what()`. */
export class BinpacError extends Error {
  override readonly name = "BinpacError";

  /** The violation text Zeek's analyzers report. */
  get reason(): string {
    return `Binpac exception: ${this.message}`;
  }
}

const QUOTED = 64;

/** `ExceptionStringMismatch`: a regular expression field did not match at `at`. */
export function stringMismatch(
  where: string,
  pattern: string,
  data: Uint8Array,
  at: number,
): BinpacError {
  const actual = latin1String(data, at, Math.min(data.length, at + QUOTED));
  return new BinpacError(
    `binpac exception: string mismatch at ${where}: \nexpected pattern: "${pattern}"\nactual data: "${actual}"`,
  );
}

/** `ExceptionOutOfBound`: a field needs more bytes than the unit has. */
export function outOfBound(where: string, needed: number, given: number): BinpacError {
  return new BinpacError(`binpac exception: out_of_bound: ${where}: ${needed} > ${given}`);
}

/** `ExceptionInvalidCaseIndex`: no case of a `case … of` fits. */
export function invalidCaseIndex(where: string, index: number): BinpacError {
  return new BinpacError(`binpac exception: invalid index for case: ${where}: ${index}`);
}

/** `ExceptionEnforceViolation`: an `&enforce` condition failed. */
export function enforceViolation(where: string): BinpacError {
  return new BinpacError(`binpac exception: &enforce violation : ${where}`);
}

/**
 * A bounded reader over one binpac unit (a datagram, or a frame of a
 * flow): every read past `end` throws `outOfBound`.
 */
export class UnitReader {
  readonly data: Uint8Array;
  readonly where: string;
  pos: number;
  end: number;

  constructor(data: Uint8Array, where: string, start = 0, end = data.length) {
    this.data = data;
    this.where = where;
    this.pos = start;
    this.end = end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n > this.end - this.pos) throw outOfBound(this.where, n, this.end - this.pos);
  }

  u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }

  u16le(): number {
    this.need(2);
    const v = this.data[this.pos]! | (this.data[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u16be(): number {
    this.need(2);
    const v = (this.data[this.pos]! << 8) | this.data[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32le(): number {
    this.need(4);
    const d = this.data;
    const p = this.pos;
    this.pos += 4;
    return (d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24)) >>> 0;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
