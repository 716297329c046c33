/**
 * HTTP request and status lines as Zeek's `HTTP_Analyzer` reads them
 * (Z: src/analyzer/protocol/http/HTTP.cc, `HTTP_RequestLine`,
 * `ParseRequest`, `HTTP_ReplyLine`, `unescape_URI`; research note §1.3–1.4),
 * with its tolerance and its quirks: the URI ends at the last whitespace
 * before `HTTP/`, HTTP/0.9 when no version is found, one digit each side
 * of the version's dot, `%u` escapes, a reason phrase that may be absent.
 *
 * Lines are byte strings (one char per byte).
 *
 * @module
 */

/** A version as `major * 10 + minor`; 0 is Zeek's unset `{0, 0}`. */
export type HttpVersion = number;

/** `"%.1f"` of a version: `1.1`, `0.9`, `0.0`. */
export function versionText(v: HttpVersion): string {
  return `${Math.floor(v / 10)}.${v % 10}`;
}

/** Where the line parsers report weirds. */
export type LineWeird = (name: string, addl?: string) => void;
/** `SetVersion`, called where Zeek calls it (also for lines then found invalid). */
export type SetVersion = (version: HttpVersion) => void;

/** A parsed request line. */
export interface RequestLine {
  readonly method: string;
  /** The URI as sent. */
  readonly uri: string;
  /** `unescape_URI` of it: what http.log's `uri` shows. */
  readonly unescapedUri: string;
}

function isTokenChar(c: number): boolean {
  return c > 31 && c < 127 && !SEPARATORS[c];
}
const SEPARATORS: boolean[] = [];
for (const c of ' \t()<>@,;:\\"/[]?={}') SEPARATORS[c.charCodeAt(0)] = true;

const URI_CHARS: boolean[] = [];
for (const c of ":/?#[]@!$&'()*+,;=-_.!~*'()%") URI_CHARS[c.charCodeAt(0)] = true;
for (let c = 48; c <= 57; c++) URI_CHARS[c] = true;
for (let c = 65; c <= 90; c++) URI_CHARS[c] = URI_CHARS[c + 32] = true;

/** `util::skip_whitespace`: spaces and tabs. */
function skipWhitespace(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

/** `PrefixMatch`: whether `s` at `i` starts with `HTTP/`, exactly or ignoring case. */
function httpAt(s: string, i: number, ignoreCase: boolean): boolean {
  if (i + 5 > s.length) return false;
  const p = s.slice(i, i + 5);
  return ignoreCase ? p.toUpperCase() === "HTTP/" : p === "HTTP/";
}

/** `HTTP_Version`: `[0-9].[0-9]` at `i`; 0 (unset) otherwise. */
export function parseVersion(s: string, i: number): HttpVersion {
  const a = s.charCodeAt(i), dot = s.charCodeAt(i + 1), b = s.charCodeAt(i + 2);
  if (i + 3 <= s.length && a >= 48 && a <= 57 && dot === 46 && b >= 48 && b <= 57) {
    return (a - 48) * 10 + (b - 48);
  }
  return 0;
}

/**
 * `HTTP_RequestLine`: the request of a line, or undefined when the line
 * is no request (the weirds `bad_HTTP_request` or
 * `bad_HTTP_request_with_version` are raised then).
 */
export function parseRequestLine(
  line: string,
  weird: LineWeird,
  setVersion: SetVersion,
): RequestLine | undefined {
  let endOfMethod = 0;
  while (endOfMethod < line.length && isTokenChar(line.charCodeAt(endOfMethod))) endOfMethod++;
  if (endOfMethod === 0) {
    const n = line.length;
    if (n >= 9 && line.slice(n - 9, n - 3).toUpperCase() === " HTTP/") {
      weird("bad_HTTP_request_with_version");
    } else weird("bad_HTTP_request");
    return undefined;
  }
  const rest = skipWhitespace(line, endOfMethod);
  if (rest === endOfMethod) {
    weird("bad_HTTP_request");
    return undefined;
  }
  const parsed = parseRequest(line, rest, weird, setVersion);
  if (parsed.http09 && (endOfMethod < 3 || parsed.uri.length === 0)) {
    weird("bad_HTTP_request");
    return undefined;
  }
  return { method: line.slice(0, endOfMethod), uri: parsed.uri, unescapedUri: parsed.unescapedUri };
}

/** `ParseRequest`: URI and version from `start` on. */
function parseRequest(
  line: string,
  start: number,
  weird: LineWeird,
  setVersion: SetVersion,
): { uri: string; unescapedUri: string; http09: boolean } {
  const end = line.length;
  let endOfUri = start;
  while (endOfUri < end && URI_CHARS[line.charCodeAt(endOfUri)]) endOfUri++;
  let match = httpAt(line, start, false);
  if (!match) {
    match = httpAt(line, start, true);
    if (match) weird("lowercase_HTTP_keyword");
  }
  if (endOfUri >= end && match) {
    weird("missing_HTTP_uri");
    endOfUri = start;
  }
  let versionStart = endOfUri;
  for (; versionStart < end; ++versionStart) {
    endOfUri = versionStart;
    versionStart = skipWhitespace(line, versionStart);
    if (httpAt(line, versionStart, false)) break;
    if (httpAt(line, versionStart, true)) {
      weird("lowercase_HTTP_keyword");
      break;
    }
  }
  const http09 = versionStart >= end;
  if (http09) setVersion(9);
  else if (versionStart + 8 <= end) setVersion(parseVersion(line, versionStart + 5));
  const uri = line.slice(start, endOfUri);
  return { uri, unescapedUri: unescapeUri(uri, weird), http09 };
}

/** A parsed status line. */
export interface ReplyLine {
  readonly code: number;
  /** Undefined when the line has no reason phrase (the script then sees `<empty>`). */
  readonly reason: string | undefined;
}

/** `HTTP_ReplyLine`: undefined when the line is no status line. */
export function parseReplyLine(
  line: string,
  weird: LineWeird,
  setVersion: SetVersion,
): ReplyLine | undefined {
  let rest: number;
  if (httpAt(line, 0, false)) rest = 5;
  else if (httpAt(line, 0, true)) {
    weird("lowercase_HTTP_keyword");
    rest = 5;
  } else return undefined;
  setVersion(parseVersion(line, rest));
  const end = line.length;
  while (rest < end && !isLws(line.charCodeAt(rest))) rest++;
  if (rest >= end) return undefined;
  rest = skipWhitespace(line, rest);
  if (rest + 3 > end) return undefined;
  const d0 = line.charCodeAt(rest), d1 = line.charCodeAt(rest + 1), d2 = line.charCodeAt(rest + 2);
  const code = isDigit(d0) && isDigit(d1) && isDigit(d2)
    ? (d0 - 48) * 100 + (d1 - 48) * 10 + (d2 - 48)
    : 0;
  for (rest += 3; rest < end; ++rest) if (isLws(line.charCodeAt(rest))) break;
  if (rest >= end) return { code, reason: undefined };
  rest = skipWhitespace(line, rest);
  return { code, reason: line.slice(rest) };
}

function isLws(c: number): boolean {
  return c === 9 || c === 32;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function hex(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** `unescape_URI`: `%XX`, `%uXXXX` and Zeek's handling of broken escapes (with their weirds). */
export function unescapeUri(uri: string, weird: LineWeird): string {
  if (!uri.includes("%")) return uri;
  let out = "";
  const end = uri.length;
  let i = 0;
  while (i < end) {
    const c = uri.charCodeAt(i);
    if (c !== 37) {
      out += uri[i];
      i++;
      continue;
    }
    i++;
    if (i === end) {
      out += "%";
      weird("illegal_%_at_end_of_URI");
      break;
    }
    if (i + 1 === end) {
      out += "%" + uri[i];
      weird("partial_escape_at_end_of_URI");
      break;
    }
    const a = uri.charCodeAt(i);
    if (a === 37) {
      weird("double_%_in_URI");
      // The first % is dropped; this one starts the next escape.
      continue;
    }
    if (isHex(a) && isHex(uri.charCodeAt(i + 1))) {
      out += String.fromCharCode((hex(a) << 4) + hex(uri.charCodeAt(i + 1)));
      i += 2;
      continue;
    }
    if (
      end - i >= 5 && a === 117 && isHex(uri.charCodeAt(i + 1)) && isHex(uri.charCodeAt(i + 2)) &&
      isHex(uri.charCodeAt(i + 3)) && isHex(uri.charCodeAt(i + 4))
    ) {
      if (!(uri[i + 1] === "0" && uri[i + 2] === "0")) {
        out += String.fromCharCode((hex(uri.charCodeAt(i + 1)) << 4) + hex(uri.charCodeAt(i + 2)));
      }
      out += String.fromCharCode((hex(uri.charCodeAt(i + 3)) << 4) + hex(uri.charCodeAt(i + 4)));
      i += 5;
      continue;
    }
    weird("unescaped_%_in_URI");
    out += "%" + uri[i];
    i++;
  }
  return out;
}
