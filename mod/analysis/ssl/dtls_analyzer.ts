/**
 * The DTLS analyzer of a UDP connection (Z: src/analyzer/protocol/ssl/
 * DTLS.cc, dtls-protocol.pac, dtls-analyzer.pac; research note §3.12):
 * each datagram is a sequence of records (content type, version, epoch,
 * 48-bit sequence, length); records of epoch 0 are plaintext, others
 * ciphertext; once DTLS 1.3 is negotiated, records starting with `001`
 * bits are unified-header ciphertext. Handshake fragments are reassembled
 * per direction by Zeek's rules (a 32-bit window of record sequence
 * numbers, at most 30 pieces, 100,000 bytes) and go to the same handshake
 * parser as TLS's.
 *
 * @module
 */

import type { AnalyzerHost, PacketAnalyzer } from "../framework/mod.ts";
import { DTLS_V10, DTLS_V12, DTLS_V13, HandshakeState, origLabel } from "./handshake.ts";
import type { SslSession } from "./ssl_session.ts";

/** `MAX_DTLS_HANDSHAKE_RECORD`. */
export const MAX_DTLS_HANDSHAKE_RECORD = 100_000;
/** `SSL::dtls_max_version_errors`: past this many invalid records the analysis stops. */
export const DTLS_MAX_VERSION_ERRORS = 10;
/** `SSL::dtls_max_reported_version_errors`: violations reported after confirmation. */
export const DTLS_MAX_REPORTED_VERSION_ERRORS = 1;

const CHANGE_CIPHER_SPEC = 20;
const ALERT = 21;
const HANDSHAKE = 22;
const HEARTBEAT = 24;
const MAX_ALERTS_PER_RECORD = 10;

/** One direction's handshake message being reassembled (`message_info`). */
class Reassembly {
  firstSequence = 0;
  firstSequenceSeen = false;
  lastSequence = 0;
  handshakeSequence = 0;
  length = 0;
  /** Bit i: the fragment of record sequence `firstSequence + i` was stored. */
  seen = 0;
  buffer: Uint8Array | undefined;

  reset(handshakeSequence: number, length: number, sequence: number): void {
    this.firstSequenceSeen = false;
    this.lastSequence = 0;
    this.seen = 0;
    this.handshakeSequence = handshakeSequence;
    this.length = length;
    this.buffer = new Uint8Array(length);
    this.firstSequence = sequence;
  }
}

/** The DTLS analyzer of one UDP connection. */
export class DtlsAnalyzer implements PacketAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #session: SslSession;
  readonly #state: HandshakeState;
  readonly #reassembly = [new Reassembly(), new Reassembly()];
  #invalidVersions = 0;
  #reportedErrors = 0;

  constructor(host: AnalyzerHost, session: SslSession) {
    this.#host = host;
    this.#session = session;
    this.#state = new HandshakeState(this.#host, session, (reason) => this.#violate(reason));
  }

  #violate(reason: string): void {
    this.#session.violation();
    this.#host.violate(reason);
  }

  packet(data: Uint8Array, isOrig: boolean): void {
    const s = this.#state;
    if (s.done) return;
    // A STUN packet (magic cookie 0x2112A442) is skipped without complaint.
    if (
      data.length > 20 && data[4] === 0x21 && data[5] === 0x12 && data[6] === 0xa4 &&
      data[7] === 0x42
    ) return;
    let at = 0;
    while (at < data.length && !s.done) {
      const first = data[at]!;
      if (s.chosenVersion === DTLS_V13 && (first & 0xe0) === 0x20) {
        // A unified-header record: the rest of the datagram is ciphertext.
        if (isOrig) s.clientEncrypted = true;
        else s.serverEncrypted = true;
        s.ciphertext();
        return;
      }
      if (data.length - at < 13) {
        this.#violate(
          `Binpac exception: DTLS record header needs 13 bytes, ${data.length - at} left`,
        );
        return;
      }
      const version = (data[at + 1]! << 8) | data[at + 2]!;
      const epoch = (data[at + 3]! << 8) | data[at + 4]!;
      const sequence = (data[at + 5]! * 2 ** 40) + (data[at + 6]! * 2 ** 32) +
        ((data[at + 7]! << 24) >>> 0) + (data[at + 8]! << 16) + (data[at + 9]! << 8) +
        data[at + 10]!;
      const length = (data[at + 11]! << 8) | data[at + 12]!;
      at += 13;
      if (!this.#versionOk(version)) return; // the body swallows the rest of the datagram
      if (data.length - at < length) {
        this.#violate(`Binpac exception: DTLS record of ${length} bytes, ${data.length - at} left`);
        return;
      }
      const body = data.subarray(at, at + length);
      at += length;
      if (length === 0) continue;
      if (epoch !== 0) {
        s.ciphertext();
        continue;
      }
      this.#plaintext(first, body, version, sequence, isOrig);
    }
  }

  /** `dtls_version_ok`. */
  #versionOk(version: number): boolean {
    if (version === DTLS_V10 || version === DTLS_V12) {
      if (this.#state.confirmed) this.#invalidVersions = 0;
      return true;
    }
    this.#invalidVersions++;
    if (this.#state.confirmed) {
      this.#reportedErrors++;
      if (this.#reportedErrors <= DTLS_MAX_REPORTED_VERSION_ERRORS) {
        this.#violate(`Invalid version in DTLS connection. Packet reported version: ${version}`);
      }
    }
    if (this.#invalidVersions > DTLS_MAX_VERSION_ERRORS) this.#state.skip = true;
    return false;
  }

  #plaintext(
    type: number,
    body: Uint8Array,
    version: number,
    sequence: number,
    isOrig: boolean,
  ): void {
    const s = this.#state;
    const isClient = isOrig !== s.flipped;
    switch (type) {
      case CHANGE_CIPHER_SPEC:
        // One ChangeCipherSpec per byte; after the first the direction is encrypted.
        if (!s.isTls13()) s.startEncryption(isOrig);
        this.#session.changeCipherSpec(isClient);
        if (body.length > 1 && (isOrig ? s.clientEncrypted : s.serverEncrypted)) s.ciphertext();
        break;
      case ALERT: {
        let length = body.length;
        const max = s.isTls13() ? 2 : MAX_ALERTS_PER_RECORD * 2;
        if (length > max) {
          this.#host.weird("SSL_excessive_alerts_in_record", String(Math.trunc(length / 2)));
          length = max;
        }
        for (let i = 0; i + 1 < length; i += 2) this.#session.alert(isClient, body[i + 1]!);
        break;
      }
      case HANDSHAKE:
        this.#handshake(body, version, sequence, isOrig);
        break;
      case HEARTBEAT:
        if (body.length >= 3) this.#session.heartbeat(isClient);
        break;
      case 23:
        break;
      default:
        this.#violate(`unknown SSL record type (${type}) from ${origLabel(isOrig)}`);
    }
    this.#session.plaintextData(type);
  }

  /** `proc_handshake` (dtls-analyzer.pac). */
  #handshake(rec: Uint8Array, version: number, sequence: number, isOrig: boolean): void {
    if (rec.length < 12) {
      this.#violate(`Binpac exception: DTLS handshake header needs 12 bytes, ${rec.length} left`);
      return;
    }
    const msgType = rec[0]!;
    const length = (rec[1]! << 16) | (rec[2]! << 8) | rec[3]!;
    const messageSeq = (rec[4]! << 8) | rec[5]!;
    const offset = (rec[6]! << 16) | (rec[7]! << 8) | rec[8]!;
    const fragmentLength = (rec[9]! << 16) | (rec[10]! << 8) | rec[11]!;
    const data = rec.subarray(12);
    const s = this.#state;
    if (offset === 0 && length === fragmentLength) {
      s.handshakeData(withHeader(msgType, length, data), isOrig, version);
      return;
    }
    const r = this.#reassembly[isOrig ? 0 : 1]!;
    if (length > MAX_DTLS_HANDSHAKE_RECORD) {
      this.#violate(`DTLS record length ${length} larger than allowed maximum.`);
      return;
    }
    if (r.handshakeSequence !== messageSeq || r.length !== length || r.buffer === undefined) {
      r.reset(messageSeq, length, sequence);
    }
    const distance = Math.abs(r.firstSequence - sequence);
    if (distance >= 32) {
      this.#violate("DTLS handshake fragment sequence number outside reassembly window.");
      return;
    }
    if (r.firstSequence > sequence) {
      if (r.firstSequenceSeen) {
        this.#violate("Saw second and different first message fragment for handshake.");
        return;
      }
      r.seen = (r.seen << (r.firstSequence - sequence)) >>> 0;
      r.firstSequence = sequence;
    }
    if (offset === 0) r.firstSequenceSeen = true;
    const bit = (1 << (sequence - r.firstSequence)) >>> 0;
    if ((r.seen & bit) !== 0) return;
    if (data.length !== fragmentLength) {
      this.#violate("DTLS handshake record length does not match packet length");
      return;
    }
    if (offset + fragmentLength > length) {
      this.#violate("DTLS handshake fragment trying to write past end of buffer");
      return;
    }
    r.seen = (r.seen | bit) >>> 0;
    r.buffer!.set(data, offset);
    if (offset + fragmentLength === length) r.lastSequence = sequence;
    if (r.lastSequence !== 0 && r.firstSequenceSeen) {
      const total = r.lastSequence - r.firstSequence;
      if (total > 30) {
        this.#violate("DTLS Message fragmented over more than 30 pieces. Cannot reassemble.");
        return;
      }
      const all = total + 1 >= 32 ? 0xffffffff : ((1 << (total + 1)) >>> 0) - 1;
      if (((~r.seen >>> 0) & all) === 0) {
        s.handshakeData(withHeader(msgType, length, r.buffer!), isOrig, version);
      }
    }
  }

  done(): void {
    this.#session.done();
  }
}

/** A handshake message as the TLS parser reads it: type, 24-bit length, then the data. */
function withHeader(type: number, length: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[0] = type;
  out[1] = (length >> 16) & 0xff;
  out[2] = (length >> 8) & 0xff;
  out[3] = length & 0xff;
  out.set(data, 4);
  return out;
}
