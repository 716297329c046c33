/**
 * The SSL analyzer of a TCP connection: Zeek's TLS record layer
 * (Z: src/analyzer/protocol/ssl/SSL.cc, ssl-protocol.pac,
 * ssl-dtls-protocol.pac, ssl-dtls-analyzer.pac, ssl-analyzer.pac;
 * research note §3.1, §3.4, §3.6, §3.11).
 *
 * Each direction's stream is cut into records. The 5-byte header is
 * checked as `determine_ssl_record_layer` does (SSLv2 detection, versions
 * 0x0300–0x0303, content types 20–30; a bad one is a violation and the
 * end of the analysis). A record of a direction that is already encrypted
 * is skipped by its length without being buffered; a plaintext record is
 * parsed when complete: ChangeCipherSpec, alerts, heartbeats, handshake
 * bytes (`handshake.ts`), SSLv2 hellos. After `ssl_established` the
 * scripts disable the analyzer, so the encrypted stream costs nothing.
 *
 * @module
 */

import type { AnalyzerHost, StreamAnalyzer } from "../framework/mod.ts";
import {
  HandshakeState,
  origLabel,
  SSL_V2,
  SSL_V3,
  TLS_V10,
  TLS_V11,
  TLS_V12,
  UNKNOWN_VERSION,
} from "./handshake.ts";
import { type Hello, zeekSessionId } from "./hello.ts";
import type { SslSession } from "./ssl_session.ts";

/** `SSL::max_alerts_per_record`. */
export const MAX_ALERTS_PER_RECORD = 10;

const CHANGE_CIPHER_SPEC = 20;
const ALERT = 21;
const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const HEARTBEAT = 24;
const V2_ERROR = 300;
const V2_CLIENT_HELLO = 301;
const V2_CLIENT_MASTER_KEY = 302;
const V2_SERVER_HELLO = 304;

const HEADER = 0;
const BODY = 1;
const SKIP = 2;

/** One direction's record being read. */
class Direction {
  readonly isOrig: boolean;
  readonly header = new Uint8Array(5);
  headerLen = 0;
  mode = HEADER;
  /** The record: its layer version, content type and body length. */
  version = 0;
  contentType = 0;
  length = 0;
  /** A plaintext body being collected across deliveries. */
  body = new Uint8Array(0);
  bodyLen = 0;
  /** Bytes of an encrypted record still to skip. */
  skipLeft = 0;

  constructor(isOrig: boolean) {
    this.isOrig = isOrig;
  }
}

/** The SSL analyzer of one TCP connection. */
export class TlsAnalyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #session: SslSession;
  readonly #state: HandshakeState;
  readonly #dirs = [new Direction(true), new Direction(false)];
  /** `record_layer_version_`: fixed by the first valid TLS record (or an SSLv2 server hello). */
  #recordLayer = UNKNOWN_VERSION;
  #hadGap = false;

  constructor(host: AnalyzerHost, session: SslSession) {
    this.#host = host;
    this.#session = session;
    this.#state = new HandshakeState(host, session, (reason) => this.#violate(reason));
  }

  /** `AnalyzerViolation`: the scripts write the row as it stands, then the framework decides. */
  #violate(reason: string): void {
    this.#session.violation();
    this.#host.violate(reason);
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#state.done || this.#hadGap || this.#host.partial()) return;
    const d = this.#dirs[isOrig ? 0 : 1]!;
    let at = 0;
    while (at < data.length && !this.#state.done) {
      if (d.mode === HEADER) {
        const take = Math.min(5 - d.headerLen, data.length - at);
        d.header.set(data.subarray(at, at + take), d.headerLen);
        d.headerLen += take;
        at += take;
        if (d.headerLen < 5) return;
        d.headerLen = 0;
        if (!this.#startRecord(d)) return;
        continue;
      }
      if (d.mode === SKIP) {
        const n = Math.min(d.skipLeft, data.length - at);
        at += n;
        d.skipLeft -= n;
        if (d.skipLeft > 0) return;
        d.mode = HEADER;
        this.#record(d, EMPTY, d.length);
        continue;
      }
      // BODY: parse in place when the whole record is in this delivery.
      if (d.bodyLen === 0 && data.length - at >= d.length) {
        const body = data.subarray(at, at + d.length);
        at += d.length;
        d.mode = HEADER;
        this.#record(d, body);
        continue;
      }
      const n = Math.min(d.length - d.bodyLen, data.length - at);
      d.body.set(data.subarray(at, at + n), d.bodyLen);
      d.bodyLen += n;
      at += n;
      if (d.bodyLen < d.length) return;
      d.mode = HEADER;
      d.bodyLen = 0;
      this.#record(d, d.body.subarray(0, d.length));
    }
  }

  /**
   * A record header is complete: check it (`determine_ssl_record_layer`),
   * and choose between buffering its body and skipping it. False when the
   * analysis ends here.
   */
  #startRecord(d: Direction): boolean {
    const h = d.header;
    const version = this.#recordLayerOf(h, d.isOrig);
    if (version === UNKNOWN_VERSION) return false;
    const v2 = version === SSL_V2;
    d.version = version;
    d.contentType = v2 ? h[2]! + 300 : h[0]!;
    d.length = v2 ? (((h[0]! & 0x7f) << 8) | h[1]!) - 3 : (h[3]! << 8) | h[4]!;
    if (d.length < 0) {
      this.#violate(
        `Binpac exception: SSLv2 record of ${d.length + 3} bytes is shorter than its header`,
      );
      this.#state.skip = true;
      return false;
    }
    if (d.length === 0) return true;
    if (this.#encryptedNext(d)) {
      d.mode = SKIP;
      d.skipLeft = d.length;
    } else {
      d.mode = BODY;
      if (d.body.length < d.length) d.body = new Uint8Array(Math.max(d.length, 1024));
    }
    return true;
  }

  /** Whether the record just announced will be read as ciphertext (`determine_state`). */
  #encryptedNext(d: Direction): boolean {
    const s = this.#state;
    if (d.isOrig ? s.clientEncrypted : s.serverEncrypted) return true;
    return d.contentType === APPLICATION_DATA && this.#negotiatedBeyondTls12();
  }

  /** The negotiated version is none of SSLv2, SSLv3, TLS 1.0–1.2 (a TLS 1.3 of some kind). */
  #negotiatedBeyondTls12(): boolean {
    const v = this.#state.chosenVersion;
    return v !== SSL_V2 && v !== SSL_V3 && v !== TLS_V10 && v !== TLS_V11 && v !== TLS_V12;
  }

  /** `determine_ssl_record_layer`. */
  #recordLayerOf(h: Uint8Array, isOrig: boolean): number {
    const known = this.#recordLayer;
    if (known !== UNKNOWN_VERSION && known !== SSL_V2) {
      const version = (h[1]! << 8) | h[2]!;
      if (!isTlsRecordVersion(version)) {
        return this.#stop(
          `Invalid version late in TLS connection. Packet reported version: ${version}`,
        );
      }
    }
    if (known !== UNKNOWN_VERSION) return known;
    if (h[0]! & 0x80) {
      if (h[2] === 0x01 && isOrig) {
        const version = (h[3]! << 8) | h[4]!;
        if (version !== SSL_V2 && !isTlsRecordVersion(version)) {
          return this.#stop(`Invalid version in SSL client hello. Version: ${version}`);
        }
        return SSL_V2;
      }
      if (h[2] === 0x04 && h[4]! < 2 && !isOrig) {
        this.#recordLayer = SSL_V2;
        return SSL_V2;
      }
      return this.#stop(
        `Invalid headers in SSL connection. Head1: ${h[1]}, head2: ${h[2]}, head3: ${h[3]}`,
      );
    }
    const version = (h[1]! << 8) | h[2]!;
    if (!isTlsRecordVersion(version)) {
      return this.#stop(`Invalid version in TLS connection. Version: ${version}`);
    }
    if (h[0]! >= 20 && h[0]! <= 30) {
      this.#recordLayer = version;
      return version;
    }
    return this.#stop(`Invalid type in TLS connection. Version: ${version}, Type: ${h[0]}`);
  }

  #stop(reason: string): number {
    this.#violate(reason);
    this.#state.skip = true;
    return UNKNOWN_VERSION;
  }

  /**
   * A complete record (`RecordText(rec)[] &length=length`): element by
   * element, each read as ciphertext once its direction is encrypted.
   */
  #record(d: Direction, body: Uint8Array, length = body.length): void {
    const s = this.#state;
    const ct = d.contentType;
    const isOrig = d.isOrig;
    let at = 0;
    while (at < length && !s.done) {
      if (this.#determineState(isOrig, ct)) {
        s.ciphertext();
        return;
      }
      const isClient = isOrig !== s.flipped;
      switch (ct) {
        case CHANGE_CIPHER_SPEC:
          if (!s.isTls13()) s.startEncryption(isOrig);
          this.#session.changeCipherSpec(isClient);
          at += 1;
          break;
        case ALERT:
          this.#alerts(body, isClient);
          at = length;
          break;
        case HANDSHAKE:
          s.handshakeData(body, isOrig, d.version);
          at = length;
          break;
        case HEARTBEAT:
          if (body.length < 3) {
            this.#violate(`Binpac exception: heartbeat of ${body.length} bytes`);
          } else this.#session.heartbeat(isClient);
          at = length;
          break;
        case APPLICATION_DATA:
          at = length;
          break;
        case V2_ERROR:
          this.#session.alert(isClient, (d.header[3]! << 8) | d.header[4]!);
          at = length;
          break;
        case V2_CLIENT_HELLO:
          this.#v2ClientHello(d, body);
          at = length;
          break;
        case V2_SERVER_HELLO:
          this.#v2ServerHello(d, body);
          at = length;
          break;
        case V2_CLIENT_MASTER_KEY:
          this.#v2ClientMasterKey(d, body);
          at = length;
          break;
        default:
          this.#violate(`unknown SSL record type (${ct}) from ${origLabel(isOrig)}`);
          at = length;
      }
      this.#session.plaintextData(ct);
    }
  }

  /** `determine_state`: whether the next element is ciphertext (TLS 1.3 switches at application data). */
  #determineState(isOrig: boolean, ct: number): boolean {
    const s = this.#state;
    if (isOrig ? s.clientEncrypted : s.serverEncrypted) return true;
    if (ct !== APPLICATION_DATA || !this.#negotiatedBeyondTls12()) return false;
    s.startEncryption(isOrig);
    return true;
  }

  /** `Alerts`: at most `max_alerts_per_record` (TLS 1.3: one). */
  #alerts(body: Uint8Array, isClient: boolean): void {
    let length = body.length;
    const max = this.#state.isTls13() ? 2 : MAX_ALERTS_PER_RECORD * 2;
    if (length > max) {
      this.#host.weird("SSL_excessive_alerts_in_record", String(Math.trunc(length / 2)));
      length = max;
    }
    for (let i = 0; i + 1 < length; i += 2) this.#session.alert(isClient, body[i + 1]!);
    if (length % 2 === 1) this.#violate("Binpac exception: alert record ends inside an alert");
  }

  #v2ClientHello(d: Direction, body: Uint8Array): void {
    if (body.length < 6) {
      this.#violate(`Binpac exception: SSLv2 client hello of ${body.length} bytes`);
      return;
    }
    const cipherLen = (body[0]! << 8) | body[1]!;
    const sessionLen = (body[2]! << 8) | body[3]!;
    const challengeLen = (body[4]! << 8) | body[5]!;
    if (6 + cipherLen + sessionLen + challengeLen > body.length) {
      this.#violate("Binpac exception: SSLv2 client hello longer than its record");
      return;
    }
    const ciphers: number[] = [];
    for (let i = 6; i + 3 <= 6 + cipherLen - (cipherLen % 3); i += 3) {
      ciphers.push((body[i]! << 16) | (body[i + 1]! << 8) | body[i + 2]!);
    }
    const sid = body.subarray(6 + cipherLen, 6 + cipherLen + sessionLen);
    const hello: Hello = {
      version: (d.header[3]! << 8) | d.header[4]!,
      random: body.slice(6 + cipherLen + sessionLen, 6 + cipherLen + sessionLen + challengeLen),
      sessionId: zeekSessionId(sid),
      sessionIdLength: sid.length,
      ciphers,
      compression: [],
      extensions: NO_EXTENSIONS,
      helloRetry: false,
    };
    this.#state.v2ClientHello(hello);
  }

  #v2ServerHello(d: Direction, body: Uint8Array): void {
    if (body.length < 8) {
      this.#violate(`Binpac exception: SSLv2 server hello of ${body.length} bytes`);
      return;
    }
    const version = (body[0]! << 8) | body[1]!;
    if (version !== SSL_V2) {
      this.#stop(`Invalid version in SSL server hello. Version: ${version}`);
      return;
    }
    const certLen = (body[2]! << 8) | body[3]!;
    const cipherLen = (body[4]! << 8) | body[5]!;
    const connIdLen = (body[6]! << 8) | body[7]!;
    if (8 + certLen + cipherLen + connIdLen > body.length) {
      this.#violate("Binpac exception: SSLv2 server hello longer than its record");
      return;
    }
    const ciphers: number[] = [];
    const from = 8 + certLen;
    for (let i = from; i + 3 <= from + cipherLen - (cipherLen % 3); i += 3) {
      ciphers.push((body[i]! << 16) | (body[i + 1]! << 8) | body[i + 2]!);
    }
    const hello: Hello = {
      version,
      random: body.slice(from + cipherLen, from + cipherLen + connIdLen),
      sessionId: new Uint8Array(32),
      sessionIdLength: 0,
      ciphers,
      compression: [0],
      extensions: NO_EXTENSIONS,
      helloRetry: false,
    };
    this.#state.v2ServerHello(hello, body.subarray(8, 8 + certLen), d.isOrig);
  }

  #v2ClientMasterKey(_d: Direction, body: Uint8Array): void {
    if (body.length < 7) {
      this.#violate(`Binpac exception: SSLv2 client master key of ${body.length} bytes`);
      return;
    }
    const s = this.#state;
    s.startEncryption(true);
    s.startEncryption(false);
    s.establish();
  }

  undelivered(_seq: number, _len: number, _isOrig: boolean): void {
    // Any content gap ends the analysis of both directions (`had_gap`).
    this.#hadGap = true;
  }

  closed(_isOrig: boolean): void {}

  done(): void {
    this.#session.done();
  }
}

const EMPTY = new Uint8Array(0);
const NO_EXTENSIONS = Object.freeze({ all: Object.freeze([]) });

/** The record-layer versions a TLS record may carry: SSLv3 to TLS 1.2. */
function isTlsRecordVersion(v: number): boolean {
  return v === SSL_V3 || v === TLS_V10 || v === TLS_V11 || v === TLS_V12;
}
