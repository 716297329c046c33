/**
 * The MIME header grammar Zeek's HTTP analyzer inherits (Z: src/analyzer/
 * protocol/mime/MIME.cc): field names, tokens (with Zeek's habit of
 * skipping characters that cannot start one), quoted strings, parameters,
 * and `util::atoi_n` (C++ `std::from_chars`) for the numbers in headers.
 * Strings here are byte strings: one char (0–255) per byte.
 *
 * @module
 */

/** `is_lws`: space or tab. */
export function isLws(c: number): boolean {
  return c === 9 || c === 32;
}

/** C's `isspace` in the C locale. */
export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

const TSPECIALS = new Set([...'()<>@,;:\\"/[]?='].map((c) => c.charCodeAt(0)));

function isTokenChar(c: number, boundary: boolean): boolean {
  if (c < 33 || c > 126) return false;
  return boundary ? c !== 34 : !TSPECIALS.has(c);
}

/** `MIME_skip_comments`: the length of a `( … )` comment at `from` (0 when none). */
function skipComments(s: string, from: number, end: number): number {
  if (from >= end || s.charCodeAt(from) !== 40) return 0;
  let depth = 0;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 40) depth++;
    else if (c === 41) {
      if (--depth === 0) return i + 1 - from;
    } else if (c === 92) i++;
  }
  return end - from;
}

/** `MIME_skip_lws_comments`: linear whitespace and comments from `from`; returns the new index. */
export function skipLwsComments(s: string, from: number, end = s.length): number {
  let i = from;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (isLws(c)) i++;
    else if (c === 40) i += skipComments(s, i, end);
    else return i;
  }
  return end;
}

/** A piece of a string: `[start, end)`. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * `MIME_get_token`: the first token at or after `from`, skipping what
 * cannot start one; undefined when there is none.
 */
export function getToken(
  s: string,
  from: number,
  end = s.length,
  boundary = false,
): Span | undefined {
  let i = boundary ? from : skipLwsComments(s, from, end);
  while (i < end) {
    if (isTokenChar(s.charCodeAt(i), boundary)) {
      let j = i;
      while (j < end && isTokenChar(s.charCodeAt(j), boundary)) j++;
      return { start: i, end: j };
    }
    const j = skipLwsComments(s, i, end) - i;
    i += j > 0 ? j : 1;
  }
  return undefined;
}

/** `MIME_get_field_name`: the header name at the start of a header line. */
export function getFieldName(s: string): Span | undefined {
  const end = s.length;
  let i = skipLwsComments(s, 0, end);
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c >= 33 && c <= 126 && c !== 58) {
      let j = i;
      while (j < end) {
        const d = s.charCodeAt(j);
        if (d < 33 || d > 126 || d === 58) break;
        j++;
      }
      return { start: i, end: j };
    }
    const j = skipLwsComments(s, i, end) - i;
    i += j > 0 ? j : 1;
  }
  return undefined;
}

/** One header as `MIME_Header` parses it. */
export interface MimeHeader {
  /** The name as sent. */
  readonly name: string;
  /** The value: after the colon, leading `isspace` removed, trailing kept. */
  readonly value: string;
  /** Lines it was folded over. */
  readonly lines: number;
}

/** Parses one (unfolded) header line; undefined when it has no name or no colon. */
export function parseHeader(text: string, lines: number): MimeHeader | undefined {
  const name = getFieldName(text);
  if (name === undefined) return undefined;
  const at = skipLwsComments(text, name.end);
  if (at >= text.length || text.charCodeAt(at) !== 58) return undefined;
  let v = at + 1;
  while (v < text.length && isSpace(text.charCodeAt(v))) v++;
  return { name: text.slice(name.start, name.end), value: text.slice(v), lines };
}

/** `get_value_token` and `get_value_after_token` of a header value. */
export function valueToken(value: string): { token: string; rest: string } | undefined {
  const t = getToken(value, 0);
  if (t === undefined) return undefined;
  return { token: value.slice(t.start, t.end), rest: value.slice(t.end) };
}

/** `istrequal`: ASCII case-insensitive equality. */
export function iequal(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** `MIME_get_quoted_string` at `from`: the span inside the quotes and the index after them. */
function quotedString(
  s: string,
  from: number,
  end: number,
): { span: Span; next: number } | undefined {
  const i = skipLwsComments(s, from, end);
  if (i >= end || s.charCodeAt(i) !== 34) return undefined;
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 34) return { span: { start: i + 1, end: j }, next: j + 1 };
    if (c === 92) j++;
  }
  return undefined;
}

function decodeQuotedPairs(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 92) {
      if (++i < s.length) out += s[i];
    } else out += s[i];
  }
  return out;
}

/** `MIME_get_value`: a token or quoted string at `from`; its text and the index after it. */
function getValue(
  s: string,
  from: number,
  end: number,
  boundary: boolean,
): { value: string; next: number } | undefined {
  const i = boundary ? from : skipLwsComments(s, from, end);
  if (i < end && s.charCodeAt(i) === 34) {
    const q = quotedString(s, i, end);
    if (q === undefined) return undefined;
    return { value: decodeQuotedPairs(s.slice(q.span.start, q.span.end)), next: q.next };
  }
  const t = getToken(s, i, end, boundary);
  if (t === undefined) return undefined;
  return { value: s.slice(t.start, t.end), next: t.end };
}

/** A `Content-Type` value as `ParseContentTypeField` reads it. */
export interface ContentType {
  readonly type: string;
  readonly subtype: string;
  /** The multipart `boundary` parameter, when the type is multipart. */
  readonly boundary: string | undefined;
}

/** Parses `type/subtype; params` (parameters only for multipart and message types). */
export function parseContentType(value: string): ContentType | undefined {
  const end = value.length;
  const first = getToken(value, 0, end);
  if (first === undefined) return undefined;
  let i = skipLwsComments(value, first.end, end);
  if (i >= end || value.charCodeAt(i) !== 47) return undefined;
  const second = getToken(value, i + 1, end);
  if (second === undefined) return undefined;
  const type = value.slice(first.start, first.end).toUpperCase();
  const subtype = value.slice(second.start, second.end).toUpperCase();
  let boundary: string | undefined;
  const multipart = type === "MULTIPART";
  if (multipart || type === "MESSAGE") {
    i = second.end;
    while (true) {
      i = skipLwsComments(value, i, end);
      if (i >= end || value.charCodeAt(i) !== 59) break;
      const attr = getToken(value, i + 1, end);
      if (attr === undefined) break;
      i = skipLwsComments(value, attr.end, end);
      if (i >= end || value.charCodeAt(i) !== 61) continue;
      i++;
      const isBoundary = multipart && iequal(value.slice(attr.start, attr.end), "boundary");
      const v = getValue(value, i, end, isBoundary);
      if (v === undefined) continue;
      if (isBoundary) boundary = v.value;
      i = v.next;
    }
  }
  return { type, subtype, boundary };
}

/**
 * `util::atoi_n` (`std::from_chars` into an int64): an optional `-`, then
 * digits of `base` up to the first other character. Undefined when there is
 * no digit or the number does not fit in an int64.
 */
export function atoiN(s: string, base: number): number | undefined {
  const n = atoiExact(s, base);
  return n === undefined || typeof n === "number" ? n : Number(n);
}

/** `atoiN` exactly: a bigint where the number passes 2^53. */
export function atoiExact(s: string, base: number): number | bigint | undefined {
  let i = 0;
  const negative = s.charCodeAt(0) === 45;
  if (negative) i++;
  const start = i;
  while (i < s.length && digitValue(s.charCodeAt(i)) < base) i++;
  if (i === start) return undefined;
  const digits = s.slice(start, i);
  if (digits.length <= (base === 10 ? 15 : 12)) {
    const n = parseInt(digits, base);
    return negative ? -n : n;
  }
  let big = 0n;
  for (const d of digits) big = big * BigInt(base) + BigInt(digitValue(d.charCodeAt(0)));
  if (negative ? big > 1n << 63n : big > (1n << 63n) - 1n) return undefined;
  const value = negative ? -big : big;
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}

/**
 * Zeek's `Base64Converter` for `Content-Transfer-Encoding: base64`: four
 * characters make three bytes; whitespace is skipped, other characters are
 * reported (`base64_illegal_encoding`) and skipped; `=` ends the data.
 */
export class Base64Decoder {
  readonly #weird: (name: string, addl?: string) => void;
  #bits = 0;
  #count = 0;
  #done = false;
  #reported = false;

  constructor(weird: (name: string, addl?: string) => void) {
    this.#weird = weird;
  }

  decode(data: Uint8Array, out: (bytes: Uint8Array) => void): void {
    if (this.#done) return;
    const bytes: number[] = [];
    for (const c of data) {
      if (c === 61) {
        this.#done = true;
        break;
      }
      const v = B64[c]!;
      if (v < 0) {
        if (c !== 13 && c !== 10 && c !== 32 && c !== 9 && !this.#reported) {
          this.#reported = true;
          this.#weird("base64_illegal_encoding", `character ${c} ignored by Base64 decoding`);
        }
        continue;
      }
      this.#bits = (this.#bits << 6) | v;
      if (++this.#count === 4) {
        bytes.push((this.#bits >> 16) & 0xff, (this.#bits >> 8) & 0xff, this.#bits & 0xff);
        this.#bits = 0;
        this.#count = 0;
      }
    }
    if (bytes.length > 0) out(Uint8Array.from(bytes));
  }

  /** The end of the data: a partial group gives its whole bytes. */
  finish(out: (bytes: Uint8Array) => void): void {
    const n = this.#count;
    if (n >= 2) {
      const bits = this.#bits << (6 * (4 - n));
      const bytes = [(bits >> 16) & 0xff, (bits >> 8) & 0xff].slice(0, n - 1);
      out(Uint8Array.from(bytes));
    }
    this.#count = 0;
  }
}

const B64: number[] = new Array(256).fill(-1);
[..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].forEach((c, i) =>
  B64[c.charCodeAt(0)] = i
);
