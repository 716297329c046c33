/**
 * TLS ClientHello and ServerHello bodies, and the extensions ssl.log reads
 * from them, parsed as Zeek's binpac grammar lays them out (Z: src/analyzer/
 * protocol/ssl/tls-handshake-protocol.pac; research note §3.2, §3.5,
 * §3.10): the version, random, session id (as Zeek hands it to scripts:
 * exactly 32 bytes, zero-padded, a longer one all zeros), cipher suites,
 * compression methods, and the extensions in order, with `server_name`,
 * `supported_versions`, `key_share`, ALPN, the session ticket, the
 * pre-shared key and encrypted client hello decoded. A ServerHello whose
 * version starts with 0x7F (TLS 1.3 drafts up to 21) has the draft layout,
 * without session id and compression.
 *
 * Parsing is bounded by the message: every length is checked against what
 * is left, and a message that does not fit is a `HelloParseError` (Zeek's
 * "Binpac exception", an analyzer violation).
 *
 * @module
 */

import { bytesEqual } from "../../../zeek/mod.ts";

/** A handshake message that does not fit its own lengths (Zeek's "Binpac exception"). */
export class HelloParseError extends Error {
  override readonly name = "HelloParseError";
}

/** Extension codes ssl.log depends on. */
export const EXT_SERVER_NAME = 0;
export const EXT_ALPN = 16;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_SUPPORTED_VERSIONS = 43;
export const EXT_KEY_SHARE = 51;
/** The key_share of TLS 1.3 drafts up to 22 (`EXT_KEY_SHARE_OLD`), parsed alike. */
export const EXT_KEY_SHARE_OLD = 40;
export const EXT_ENCRYPTED_CLIENT_HELLO = 0xfe0d;

/** The random of a ServerHello that is a HelloRetryRequest (RFC 8446 §4.1.3). */
export const HRR_RANDOM: Uint8Array = Uint8Array.from([
  0xcf,
  0x21,
  0xad,
  0x74,
  0xe5,
  0x9a,
  0x61,
  0x11,
  0xbe,
  0x1d,
  0x8c,
  0x02,
  0x1e,
  0x65,
  0xb8,
  0x91,
  0xc2,
  0xa2,
  0x11,
  0x16,
  0x7a,
  0xbb,
  0x8c,
  0x5e,
  0x07,
  0x9e,
  0x09,
  0xe2,
  0xc8,
  0xa8,
  0x33,
  0x9c,
]);

/** One extension as it was sent. */
export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** What the extensions of a hello say, decoded where ssl.log needs it. */
export interface HelloExtensions {
  readonly all: readonly Extension[];
  /** `server_name` host names (type 0 entries), in order. */
  readonly serverNames?: readonly string[];
  /** Name types other than host_name (Zeek's weird `ssl_ext_unknown_server_name_type`). */
  readonly unknownNameTypes?: readonly number[];
  /** `supported_versions`: the client's list, or the server's one version. */
  readonly supportedVersions?: readonly number[];
  /** `key_share` groups: the client's offers, or the server's (or HRR's) one group. */
  readonly keyShareGroups?: readonly number[];
  /** ALPN protocol names, in order. */
  readonly alpn?: readonly string[];
}

/** A parsed ClientHello or ServerHello. */
export interface Hello {
  readonly version: number;
  readonly random: Uint8Array;
  /** The session id as Zeek's scripts see it: 32 bytes, zero-padded (all zeros when longer). */
  readonly sessionId: Uint8Array;
  /** The session id's length on the wire. */
  readonly sessionIdLength: number;
  /** Client: the offered suites; server: the chosen one (one element). */
  readonly ciphers: readonly number[];
  readonly compression: readonly number[];
  readonly extensions: HelloExtensions;
  /** A ServerHello whose random is the HelloRetryRequest magic. */
  readonly helloRetry: boolean;
}

/**
 * A bounded big-endian reader over one handshake message: every read is
 * checked against what is left; an overrun is a `HelloParseError`.
 */
export class MessageReader {
  readonly #b: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(b: Uint8Array, from = 0, to = b.length) {
    this.#b = b;
    this.#at = from;
    this.#end = to;
  }

  get left(): number {
    return this.#end - this.#at;
  }

  #need(n: number, what: string): void {
    if (n > this.left) {
      throw new HelloParseError(`${what}: ${n} bytes needed, ${this.left} left`);
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#b[this.#at++]!;
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = (this.#b[this.#at]! << 8) | this.#b[this.#at + 1]!;
    this.#at += 2;
    return v;
  }

  u24(what: string): number {
    this.#need(3, what);
    const b = this.#b;
    const v = (b[this.#at]! << 16) | (b[this.#at + 1]! << 8) | b[this.#at + 2]!;
    this.#at += 3;
    return v;
  }

  u32(what: string): number {
    this.#need(4, what);
    const v = this.u16(what) * 65536;
    return v + this.u16(what);
  }

  bytes(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const v = this.#b.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }

  /** A sub-reader over the next `n` bytes. */
  sub(n: number, what: string): MessageReader {
    this.#need(n, what);
    const r = new MessageReader(this.#b, this.#at, this.#at + n);
    this.#at += n;
    return r;
  }
}

/** The session id Zeek's `to_string_val` gives scripts: 32 bytes, zero-padded (all zeros when longer). */
export function zeekSessionId(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  if (raw.length <= 32) out.set(raw);
  return out;
}

/** Parses a ClientHello body (the handshake message after its 4-byte header). */
export function parseClientHello(body: Uint8Array): Hello {
  const r = new MessageReader(body);
  const version = r.u16("client version");
  const random = r.bytes(32, "client random");
  const sid = r.bytes(r.u8("session id length"), "session id");
  // DTLS 1.0 and 1.2 hellos (and DTLS 1.3's, whose legacy version is 1.2's) carry a cookie.
  if (version === 0xfeff || version === 0xfefd) r.bytes(r.u8("cookie length"), "cookie");
  const suites = r.sub(r.u16("cipher suites length"), "cipher suites");
  const ciphers: number[] = [];
  while (suites.left >= 2) ciphers.push(suites.u16("cipher suite"));
  const comp = r.bytes(r.u8("compression methods length"), "compression methods");
  const extensions = r.left >= 2
    ? parseExtensions(r.sub(r.u16("extensions length"), "extensions"), true)
    : NONE;
  return {
    version,
    random,
    sessionId: zeekSessionId(sid),
    sessionIdLength: sid.length,
    ciphers,
    compression: [...comp],
    extensions,
    helloRetry: false,
  };
}

/**
 * Parses a ServerHello body, in the TLS 1.3 draft layout (no session id,
 * no compression) when the version is 0x0304 or starts with 0x7F, as
 * Zeek's `ServerHelloChoice` does.
 */
export function parseServerHello(body: Uint8Array): Hello {
  const r = new MessageReader(body);
  const version = r.u16("server version");
  const random = r.bytes(32, "server random");
  const draft = version >> 8 === 0x7f || version === 0x0304;
  const sid = draft ? new Uint8Array(0) : r.bytes(r.u8("session id length"), "session id");
  const cipher = r.u16("cipher suite");
  const compression = draft ? [] : [r.u8("compression method")];
  const extensions = r.left >= 2
    ? parseExtensions(r.sub(r.u16("extensions length"), "extensions"), false)
    : NONE;
  return {
    version,
    random,
    sessionId: zeekSessionId(sid),
    sessionIdLength: sid.length,
    ciphers: [cipher],
    compression,
    extensions,
    helloRetry: bytesEqual(random, HRR_RANDOM),
  };
}

const NONE: HelloExtensions = Object.freeze({ all: Object.freeze([]) });

function parseExtensions(r: MessageReader, client: boolean): HelloExtensions {
  const all: Extension[] = [];
  let serverNames: string[] | undefined;
  let unknownNameTypes: number[] | undefined;
  let supportedVersions: number[] | undefined;
  let keyShareGroups: number[] | undefined;
  let alpn: string[] | undefined;
  while (r.left >= 4) {
    const type = r.u16("extension type");
    const data = r.bytes(r.u16("extension length"), "extension data");
    all.push({ type, data });
    const e = new MessageReader(data);
    switch (type) {
      case EXT_SERVER_NAME: {
        if (e.left === 0) break;
        const list = e.sub(e.u16("server_name list length"), "server_name list");
        serverNames ??= [];
        while (list.left > 0) {
          const nameType = list.u8("server_name type");
          const name = list.bytes(list.u16("server_name length"), "server_name");
          if (nameType === 0) serverNames.push(String.fromCharCode(...name));
          else (unknownNameTypes ??= []).push(nameType);
        }
        break;
      }
      case EXT_SUPPORTED_VERSIONS:
        supportedVersions = [];
        if (client) {
          const list = e.sub(e.u8("supported_versions length"), "supported_versions");
          while (list.left >= 2) supportedVersions.push(list.u16("supported version"));
        } else supportedVersions.push(e.u16("selected version"));
        break;
      case EXT_KEY_SHARE:
      case EXT_KEY_SHARE_OLD:
        keyShareGroups = [];
        if (client) {
          const list = e.sub(e.u16("key_share length"), "key_share");
          while (list.left > 0) {
            keyShareGroups.push(list.u16("key_share group"));
            list.bytes(list.u16("key_exchange length"), "key_exchange");
          }
        } else {
          // A HelloRetryRequest names only the group (two bytes).
          keyShareGroups.push(e.u16("key_share group"));
          if (e.left > 0) e.bytes(e.u16("key_exchange length"), "key_exchange");
        }
        break;
      case EXT_ALPN: {
        const list = e.sub(e.u16("ALPN length"), "ALPN");
        alpn = [];
        while (list.left > 0) {
          alpn.push(String.fromCharCode(...list.bytes(list.u8("protocol length"), "protocol")));
        }
        break;
      }
    }
  }
  return {
    all,
    ...(serverNames === undefined ? {} : { serverNames }),
    ...(unknownNameTypes === undefined ? {} : { unknownNameTypes }),
    ...(supportedVersions === undefined ? {} : { supportedVersions }),
    ...(keyShareGroups === undefined ? {} : { keyShareGroups }),
    ...(alpn === undefined ? {} : { alpn }),
  };
}
