/**
 * The HTTP/1.1 opening handshake of RFC 6455 on the server side: reading
 * the request head off a fresh connection, checking that it asks for a
 * WebSocket, and the responses (101, or an HTTP error before any upgrade).
 *
 * @module
 */

/** The request head is refused beyond this size (HTTP 431). */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_END = [13, 10, 13, 10];
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** An upgrade request as the server reads it. */
export interface UpgradeRequest {
  readonly method: string;
  /** The request target as sent, query included. */
  readonly target: string;
  /** The target without its query string. */
  readonly path: string;
  /** Header values by lower-case name; repeated headers are joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
}

/** Why a request gets an HTTP error instead of an upgrade. */
export interface HttpRefusal {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What was read off the connection: the head, and any bytes that followed it. */
export interface RequestHead {
  readonly request: UpgradeRequest | HttpRefusal;
  readonly rest: Uint8Array;
}

/** The part of `Deno.Conn` the handshake reads from. */
export interface ByteSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

function indexOfHeadEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < end; i++) {
    if (
      buf[i] === HEAD_END[0] && buf[i + 1] === HEAD_END[1] && buf[i + 2] === HEAD_END[2] &&
      buf[i + 3] === HEAD_END[3]
    ) return i + 4;
  }
  return -1;
}

/**
 * Reads until the end of the request head. Resolves undefined when the
 * peer closed first; a head beyond `MAX_REQUEST_HEAD_BYTES` is a refusal.
 */
export async function readRequestHead(conn: ByteSource): Promise<RequestHead | undefined> {
  const buf = new Uint8Array(MAX_REQUEST_HEAD_BYTES);
  let length = 0;
  for (;;) {
    if (length === buf.length) {
      return {
        request: { status: 431, message: "Request header fields too large" },
        rest: new Uint8Array(0),
      };
    }
    const n = await conn.read(buf.subarray(length));
    if (n === null) return undefined;
    const end = indexOfHeadEnd(buf, length, length + n);
    length += n;
    if (end >= 0) {
      return { request: parseRequestHead(buf.subarray(0, end)), rest: buf.slice(end, length) };
    }
  }
}

/** Parses a request head (through the blank line). */
export function parseRequestHead(head: Uint8Array): UpgradeRequest | HttpRefusal {
  const lines = latin1.decode(head).split("\r\n");
  const requestLine = lines[0] ?? "";
  const parts = requestLine.split(" ");
  if (parts.length !== 3 || !parts[2]!.startsWith("HTTP/")) {
    return { status: 400, message: "Malformed request line" };
  }
  const [method, target] = parts as [string, string, string];
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { status: 400, message: "Malformed header line" };
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  const query = target.indexOf("?");
  return { method, target, path: query < 0 ? target : target.slice(0, query), headers };
}

/** True when `value` is a refusal rather than a request. */
export function isRefusal(value: UpgradeRequest | HttpRefusal): value is HttpRefusal {
  return "status" in value;
}

function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined &&
    value.split(",").some((part) => part.trim().toLowerCase() === token);
}

/** Checks that the request is a WebSocket version 13 upgrade; undefined when it is. */
export function checkUpgrade(request: UpgradeRequest): HttpRefusal | undefined {
  if (request.method !== "GET") {
    return { status: 405, message: "Only GET upgrades to a WebSocket", headers: { Allow: "GET" } };
  }
  const headers = request.headers;
  if (
    !hasToken(headers.get("upgrade"), "websocket") ||
    !hasToken(headers.get("connection"), "upgrade")
  ) {
    return {
      status: 426,
      message: "This endpoint speaks only WebSocket (Upgrade: websocket)",
      headers: { Upgrade: "websocket", "Sec-WebSocket-Version": "13" },
    };
  }
  if (headers.get("sec-websocket-version") !== "13") {
    return {
      status: 426,
      message: "Unsupported WebSocket version; use 13",
      headers: { "Sec-WebSocket-Version": "13" },
    };
  }
  const key = headers.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { status: 400, message: "Missing or malformed Sec-WebSocket-Key" };
  }
  return undefined;
}

/** The `Sec-WebSocket-Accept` value for a client's key. */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + WEBSOCKET_GUID));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The 101 response that completes the upgrade. */
export function switchingProtocolsResponse(accept: string): Uint8Array {
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
}

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
});

/** A complete HTTP error response with a plain-text body; the connection closes after it. */
export function httpErrorResponse(refusal: HttpRefusal): Uint8Array {
  const body = encoder.encode(`${refusal.message}\n`);
  let head = `HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status] ?? "Error"}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
    "Connection: close\r\n";
  for (const [name, value] of Object.entries(refusal.headers ?? {})) {
    head += `${name}: ${value}\r\n`;
  }
  const headBytes = encoder.encode(`${head}\r\n`);
  const response = new Uint8Array(headBytes.length + body.length);
  response.set(headBytes);
  response.set(body, headBytes.length);
  return response;
}
