/**
 * The TLS handshake protocol as Zeek's `Handshake_Conn` parses it
 * (Z: src/analyzer/protocol/ssl/tls-handshake-protocol.pac,
 * tls-handshake-analyzer.pac): per direction, the handshake bytes of all
 * records form one stream of messages (a message may span records, a
 * record may hold several); each complete message is parsed and turned
 * into the events Zeek's grammar raises, in Zeek's order (an extension's
 * own event, then `ssl_extension`, then the hello, then
 * `ssl_handshake_message`).
 *
 * It also keeps the state both record layers (TLS over TCP, DTLS) read:
 * the negotiated version and cipher, the direction flip, and each
 * direction's encryption state (`SSL_Conn`).
 *
 * @module
 */

import type { AnalyzerHost } from "../framework/mod.ts";
import {
  EXT_ALPN,
  EXT_ENCRYPTED_CLIENT_HELLO,
  EXT_KEY_SHARE,
  EXT_KEY_SHARE_OLD,
  EXT_SERVER_NAME,
  EXT_SUPPORTED_VERSIONS,
  type Hello,
  HelloParseError,
  MessageReader,
  parseClientHello,
  parseServerHello,
} from "./hello.ts";
import type { SslSession } from "./ssl_session.ts";
import { DH_ANON_SUITES, DHE_SUITES, ECDH_ANON_SUITES, ECDHE_SUITES } from "./ssl_tables.ts";

/**
 * `BinPAC::flowbuffer_capacity_max`: a handshake message longer than this
 * cannot be buffered (Zeek's binpac raises an exception, a violation).
 */
export const MAX_HANDSHAKE_MESSAGE = 10 * 1024 * 1024;

export const SSL_V2 = 0x0002;
export const SSL_V3 = 0x0300;
export const TLS_V10 = 0x0301;
export const TLS_V11 = 0x0302;
export const TLS_V12 = 0x0303;
export const TLS_V13 = 0x0304;
export const DTLS_V10 = 0xfeff;
export const DTLS_V12 = 0xfefd;
export const DTLS_V13 = 0xfefc;
/** `UNKNOWN_VERSION` of ssl-defs.pac: no version negotiated yet. */
export const UNKNOWN_VERSION = 0xffff;

/** `version_ok` (ssl-defs.pac): versions a hello may carry without a violation. */
export function versionOk(v: number): boolean {
  if (v >> 8 === 0x7f) return true;
  switch (v) {
    case SSL_V2:
    case SSL_V3:
    case TLS_V10:
    case TLS_V11:
    case TLS_V12:
    case TLS_V13:
    case DTLS_V10:
    case DTLS_V12:
    case DTLS_V13:
      return true;
    default:
      return false;
  }
}

/** `orig_label`. */
export function origLabel(isOrig: boolean): string {
  return isOrig ? "originator" : "responder";
}

const NAMED_CURVE = 3;

/** One direction's handshake bytes not yet forming a whole message. */
class HandshakeBuffer {
  #buf = new Uint8Array(0);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  append(data: Uint8Array): void {
    const need = this.#len + data.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 512));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(data, this.#len);
    this.#len = need;
  }

  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Drops the first `n` bytes. */
  consume(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    // A certificate chain may have grown it; let it go once parsed.
    if (this.#len === 0 && this.#buf.length > 65536) this.#buf = new Uint8Array(0);
  }

  clear(): void {
    this.#len = 0;
    this.#buf = new Uint8Array(0);
  }
}

/**
 * Zeek's `Handshake_Conn` and the encryption state of `SSL_Conn` for one
 * connection: what the record layers feed and ask.
 */
export class HandshakeState {
  readonly #host: AnalyzerHost;
  readonly #session: SslSession;
  readonly #buffers = [new HandshakeBuffer(), new HandshakeBuffer()];
  /** The responder acts as the TLS client (`flipped_`). */
  flipped = false;
  #alertedFlip = false;
  chosenVersion = UNKNOWN_VERSION;
  chosenCipher = -1;
  /** The record version of the record the handshake bytes came in (`record_version_`). */
  #recordVersion = 0;
  clientEncrypted = false;
  serverEncrypted = false;
  established = false;
  /** `AnalyzerConfirmed()`: a client hello with a known version was seen. */
  confirmed = false;
  /** `SetSkip(true)`: the analyzer parses nothing more. */
  skip = false;
  /** A violation the record layer must report (set by `violate`). */
  readonly #violate: (reason: string) => void;

  constructor(host: AnalyzerHost, session: SslSession, violate: (reason: string) => void) {
    this.#host = host;
    this.#session = session;
    this.#violate = violate;
  }

  get session(): SslSession {
    return this.#session;
  }

  /**
   * Nothing more is analysed: a violation set skip, or the connection is
   * established and the scripts disabled the analyzer
   * (`SSL::disable_analyzer_after_detection`; with it off Zeek's analyzer
   * only raises `ssl_encrypted_data`, which nothing logs).
   */
  get done(): boolean {
    return this.skip || this.established;
  }

  /** `determine_tls13`: the negotiated version is TLS 1.3 or a draft. */
  isTls13(): boolean {
    const v = this.chosenVersion;
    return v === TLS_V13 || Math.floor(v / 0xff) === 0x7f;
  }

  /** `set_version`: the first call wins. */
  setVersion(v: number): void {
    if (this.chosenVersion === UNKNOWN_VERSION) this.chosenVersion = v;
  }

  startEncryption(isOrig: boolean): void {
    if (isOrig) this.clientEncrypted = true;
    else this.serverEncrypted = true;
  }

  /**
   * `ssl_established`, once: the scripts write the row and disable the
   * analyzer (`SSL::disable_analyzer_after_detection`), so the encrypted
   * rest of the connection is not even reassembled.
   */
  establish(): void {
    this.established = true;
    this.#session.established();
    this.#host.disable();
  }

  /**
   * `proc_ciphertext_record`: a record in an encrypted direction;
   * establishes the connection once both directions are encrypted.
   */
  ciphertext(): void {
    if (this.clientEncrypted && this.serverEncrypted && !this.established) this.establish();
  }

  /** `SendHandshake`: handshake bytes of one record. */
  handshakeData(data: Uint8Array, isOrig: boolean, recordVersion: number): void {
    this.#recordVersion = recordVersion;
    const buffer = this.#buffers[isOrig ? 0 : 1]!;
    let view = data;
    if (buffer.length > 0) {
      buffer.append(data);
      view = buffer.view();
    }
    let at = 0;
    while (view.length - at >= 4 && !this.done) {
      const length = (view[at + 1]! << 16) | (view[at + 2]! << 8) | view[at + 3]!;
      if (length > MAX_HANDSHAKE_MESSAGE) {
        this.#violate(
          `Binpac exception: handshake message of ${length} bytes exceeds the ${MAX_HANDSHAKE_MESSAGE}-byte buffer`,
        );
        buffer.clear();
        return;
      }
      if (view.length - at < 4 + length) break;
      const type = view[at]!;
      const body = view.subarray(at + 4, at + 4 + length);
      at += 4 + length;
      this.#message(type, body, isOrig);
    }
    if (buffer.length > 0) buffer.consume(at);
    else if (at < view.length) buffer.append(view.subarray(at));
  }

  /** One handshake message (`HandshakeRecord`). */
  #message(type: number, body: Uint8Array, isOrig: boolean): void {
    try {
      switch (type) {
        case 0: // HelloRequest
          this.#checkFlipped(false, isOrig);
          break;
        case 1:
          this.#checkFlipped(true, isOrig);
          this.#clientHello(parseClientHello(body), isOrig);
          break;
        case 2:
          this.#checkFlipped(false, isOrig);
          this.#serverHello(parseServerHello(body), isOrig);
          break;
        case 3: { // HelloVerifyRequest
          const r = new MessageReader(body);
          r.u16("version");
          r.bytes(r.u8("cookie length"), "cookie");
          break;
        }
        case 4: { // NewSessionTicket
          const r = new MessageReader(body);
          r.u32("ticket lifetime");
          r.bytes(r.u16("ticket length"), "ticket");
          break;
        }
        case 11:
          this.#certificate(body, isOrig);
          break;
        case 12:
          this.#serverKeyExchange(body);
          break;
        case 13:
          this.#certificateRequest(body);
          break;
        case 14: // ServerHelloDone
        case 15: // CertificateVerify
        case 16: // ClientKeyExchange
        case 20: // Finished
        case 21: // CertificateURL
          break;
        case 22: { // CertificateStatus
          const r = new MessageReader(body);
          r.u8("status type");
          r.u24("status length");
          // Stapled OCSP responses are not analysed (no ocsp.log); an empty one is Zeek's weird.
          if (r.left === 0) this.#host.weird("SSL_zero_length_stapled_OCSP_message");
          break;
        }
        default:
          this.#violate(`unknown handshake message (${type}) from ${origLabel(isOrig)}`);
      }
    } catch (e) {
      if (!(e instanceof HelloParseError)) throw e;
      this.#violate(`Binpac exception: ${e.message}`);
      return;
    }
    this.#session.handshakeMessage(isOrig !== this.flipped, type);
  }

  /** `check_flipped`: a hello from the side that should not send it. */
  #checkFlipped(desired: boolean, isOrig: boolean): void {
    if (this.flipped) {
      if (desired === isOrig) {
        this.flipped = false;
        this.#session.flipped();
        if (!this.#alertedFlip) {
          this.#alertedFlip = true;
          this.#host.weird("SSL_unclear_connection_direction");
        }
      }
    } else if (desired !== isOrig) {
      this.flipped = true;
      this.#session.flipped();
    }
  }

  #extensions(hello: Hello, isOrig: boolean): void {
    const isClient = isOrig !== this.flipped;
    const session = this.#session;
    const ext = hello.extensions;
    for (const e of ext.all) {
      switch (e.type) {
        case EXT_SERVER_NAME:
          for (const t of ext.unknownNameTypes ?? []) {
            this.#host.weird("ssl_ext_unknown_server_name_type", String(t));
          }
          if (ext.serverNames !== undefined) session.serverNames(isClient, ext.serverNames);
          break;
        case EXT_SUPPORTED_VERSIONS:
          if (!isClient && ext.supportedVersions?.length === 1) {
            this.setVersion(ext.supportedVersions[0]!);
            session.serverVersion(ext.supportedVersions[0]!);
          }
          break;
        case EXT_KEY_SHARE:
        case EXT_KEY_SHARE_OLD:
          if (!isClient && ext.keyShareGroups?.length === 1) session.curve(ext.keyShareGroups[0]!);
          break;
        case EXT_ALPN:
          if (ext.alpn !== undefined) session.alpn(isClient, ext.alpn);
          break;
        case EXT_ENCRYPTED_CLIENT_HELLO:
          if (e.data.length > 0 && e.data[0] !== 0) {
            this.#host.weird("ssl_unexpected_inner_encrypted_client_hello");
          }
          break;
      }
      session.extension(isClient, e.type, e.data);
    }
  }

  #clientHello(hello: Hello, isOrig: boolean): void {
    this.#extensions(hello, isOrig);
    this.helloVersion(hello.version, true);
    this.#session.clientHello(hello, this.#recordVersion);
  }

  /**
   * `proc_client_hello`'s and `proc_server_hello`'s version check: a client
   * hello with a known version confirms the analyzer; an unknown one is a
   * violation that ends the analysis.
   */
  helloVersion(version: number, client: boolean): void {
    if (!versionOk(version)) {
      this.#violate(
        `unsupported ${client ? "client" : "server"} SSL version 0x${
          version.toString(16).padStart(4, "0")
        }`,
      );
      this.skip = true;
    } else if (client) {
      this.confirmed = true;
      this.#session.touch();
      this.#host.confirm();
    }
  }

  #serverHello(hello: Hello, isOrig: boolean): void {
    this.#extensions(hello, isOrig);
    this.chosenCipher = hello.ciphers[0]!;
    this.helloVersion(hello.version, false);
    this.#session.serverHello(hello, this.#recordVersion);
    this.setVersion(hello.version);
  }

  /** An SSLv2 client hello (`V2ClientHello`, record version 0). */
  v2ClientHello(hello: Hello): void {
    this.helloVersion(hello.version, true);
    this.#session.clientHello(hello, 0);
  }

  /** An SSLv2 server hello: it fixes the connection to SSLv2. */
  v2ServerHello(hello: Hello, certificate: Uint8Array, isOrig: boolean): void {
    this.helloVersion(hello.version, false);
    this.#session.serverHello(hello, 0);
    this.#session.certificates(isOrig !== this.flipped, [certificate]);
  }

  #certificate(body: Uint8Array, isOrig: boolean): void {
    const r = new MessageReader(body);
    const list = r.sub(r.u24("certificates length"), "certificates");
    const certs: Uint8Array[] = [];
    while (list.left > 0) certs.push(list.bytes(list.u24("certificate length"), "certificate"));
    this.#session.certificates(isOrig !== this.flipped, certs);
  }

  /** `uses_signature_and_hashalgorithm`: TLS 1.2 and later, and DTLS 1.2. */
  #signedWithAlgorithm(): boolean {
    return this.chosenVersion > TLS_V11 && this.chosenVersion !== DTLS_V10 &&
      this.chosenVersion !== UNKNOWN_VERSION;
  }

  #signature(r: MessageReader): void {
    if (this.#signedWithAlgorithm()) r.u16("signature algorithm");
    r.bytes(r.u16("signature length"), "signature");
  }

  #serverKeyExchange(body: Uint8Array): void {
    const cipher = this.chosenCipher;
    const r = new MessageReader(body);
    if (ECDHE_SUITES.has(cipher) || ECDH_ANON_SUITES.has(cipher)) {
      if (r.u8("curve type") !== NAMED_CURVE) return;
      const curve = r.u16("named curve");
      r.bytes(r.u8("point length"), "point");
      if (ECDHE_SUITES.has(cipher)) this.#signature(r);
      this.#session.curve(curve);
    } else if (DHE_SUITES.has(cipher) || DH_ANON_SUITES.has(cipher)) {
      r.bytes(r.u16("dh_p length"), "dh_p");
      r.bytes(r.u16("dh_g length"), "dh_g");
      r.bytes(r.u16("dh_Ys length"), "dh_Ys");
      if (DHE_SUITES.has(cipher)) this.#signature(r);
    }
  }

  #certificateRequest(body: Uint8Array): void {
    const r = new MessageReader(body);
    r.bytes(r.u8("certificate types length"), "certificate types");
    if (this.#signedWithAlgorithm()) {
      r.bytes(r.u16("signature algorithms length"), "signature algorithms");
    }
    const cas = r.sub(r.u16("certificate authorities length"), "certificate authorities");
    while (cas.left > 0) {
      cas.bytes(cas.u16("certificate authority length"), "certificate authority");
    }
  }
}
