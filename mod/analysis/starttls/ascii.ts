/**
 * The C-locale character tests Zeek's text analyzers use (`isdigit`,
 * `isspace`, `isprint`, `toupper`, `util::skip_whitespace`), on bytes.
 *
 * @module
 */

/** `isdigit`. */
export function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** `isspace`: blank, tab, LF, VT, FF, CR. */
export function isSpace(c: number | undefined): boolean {
  return c === 32 || (c !== undefined && c >= 9 && c <= 13);
}

/** `isprint`: 0x20 to 0x7e. */
export function isPrint(c: number | undefined): boolean {
  return c !== undefined && c >= 32 && c <= 126;
}

/** `toupper` over bytes: only ASCII letters change; one char per byte. */
export function asciiUpper(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) s += String.fromCharCode(c >= 97 && c <= 122 ? c - 32 : c);
  return s;
}

/** `tolower` over bytes: only ASCII letters change; one char per byte. */
export function asciiLower(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) s += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  return s;
}

/** `util::skip_whitespace(s, end)`: past blanks and tabs from `from`, up to `end`. */
export function skipBlanks(bytes: Uint8Array, from: number, end: number): number {
  const stop = Math.min(end, bytes.length);
  let i = from;
  while (i < stop && (bytes[i] === 32 || bytes[i] === 9)) i++;
  return i;
}

/** `util::get_word`: the length of the word at `from`, up to NUL or white space. */
export function wordEnd(bytes: Uint8Array, from: number, end: number): number {
  const stop = Math.min(end, bytes.length);
  let i = from;
  while (i < stop && bytes[i] !== 0 && !isSpace(bytes[i])) i++;
  return i;
}
