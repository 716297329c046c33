/**
 * Zeek's MySQL analyzer through its connection phase (Z: src/analyzer/
 * protocol/mysql/MySQL.cc, mysql-protocol.pac, mysql-analyzer.pac,
 * scripts/base/protocols/mysql/main.zeek). Each direction is a binpac flow
 * of packets (3-byte little-endian length, sequence id, payload).
 *
 * The server's initial handshake (v10, v9 or an error) sets the protocol
 * version; the client's handshake response (v10 or v9) confirms, and a v10
 * response with `CLIENT_SSL` (0x0800) is the SSL request: the connection
 * turns to TLS at once. The further connection-phase packets (auth switch,
 * more auth data, OK, error) are followed until the command phase. A
 * packet that does not parse (a field past its end, an unknown version or
 * packet type, a bad `auth_plugin_data_len`) is a violation, and the rest
 * of the flow's buffer is dropped, as binpac does.
 *
 * Where weir departs: the analysis ends at the command phase, where
 * STARTTLS can no longer come, so malformed queries and result sets raise
 * no violation; a connection-phase packet over 64 KiB also ends it.
 *
 * @module
 */

import type { AnalyzerHost, AnalyzerSpec, StreamAnalyzer } from "../framework/mod.ts";
import {
  BinpacError,
  enforceViolation,
  invalidCaseIndex,
  stringMismatch,
  UnitReader,
} from "./binpac.ts";
import { TlsHandoff } from "./handoff.ts";

/** `mysql::ports`. */
export const MYSQL_PORTS: readonly string[] = Object.freeze(["1434/tcp", "3306/tcp"]);

const WHERE = "mysql-protocol.pac";
const CLIENT_CONNECT_WITH_DB = 0x8;
const CLIENT_SSL = 0x800;
const CLIENT_PLUGIN_AUTH = 0x80000;
const CLIENT_CONNECT_ATTRS = 0x100000;
const CLIENT_ZSTD_COMPRESSION_ALGORITHM = 0x4000000;
/** Connection-phase packets are small; a bigger one ends the analysis. */
const MAX_PACKET = 64 * 1024;

const enum Expect {
  Handshake,
  AuthData,
}

/** One direction's packets, as binpac's flow buffer frames them. */
class PacketBuffer {
  #buf = new Uint8Array(0);
  #have = 0;

  /** Appends bytes; returns the complete packets (copies). */
  push(data: Uint8Array): Uint8Array[] | undefined {
    const need = this.#have + data.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 64));
      grown.set(this.#buf.subarray(0, this.#have));
      this.#buf = grown;
    }
    this.#buf.set(data, this.#have);
    this.#have = need;
    const packets: Uint8Array[] = [];
    let at = 0;
    while (this.#have - at >= 4) {
      const b = this.#buf;
      const len = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + 4;
      if (len > MAX_PACKET) return undefined;
      if (this.#have - at < len) break;
      packets.push(b.slice(at, at + len));
      at += len;
    }
    this.#buf.copyWithin(0, at, this.#have);
    this.#have -= at;
    return packets;
  }

  /** `DiscardData`. */
  clear(): void {
    this.#have = 0;
  }
}

/** One connection's MySQL. */
export class MySqlAnalyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #tls = new TlsHandoff();
  readonly #orig = new PacketBuffer();
  readonly #resp = new PacketBuffer();
  #version = 0;
  #previousSeqId = 0;
  #expect = Expect.Handshake;
  /** The connection phase is over (or the packets are too big to follow). */
  #over = false;
  #hadGap = false;

  constructor(host: AnalyzerHost) {
    this.#host = host;
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#tls.active) return this.#tls.stream(data, isOrig);
    if (this.#over || this.#host.partial() || this.#hadGap) return;
    const buffer = isOrig ? this.#orig : this.#resp;
    const packets = buffer.push(data);
    if (packets === undefined) {
      this.#over = true;
      return;
    }
    for (const packet of packets) {
      try {
        if (isOrig) this.#client(packet);
        else this.#server(packet);
      } catch (e) {
        if (!(e instanceof BinpacError)) throw e;
        this.#host.violate(e.reason);
        buffer.clear();
        return;
      }
      // The rest of a delivery with the SSL request stays in binpac's buffer, unparsed.
      if (this.#tls.active || this.#over) return;
    }
  }

  undelivered(seq: number, len: number, isOrig: boolean): void {
    if (this.#tls.active) this.#tls.undelivered(seq, len, isOrig);
    this.#hadGap = true;
  }

  closed(_isOrig: boolean): void {}

  done(): void {}

  /** `Server_Message` in the connection phase. */
  #server(packet: Uint8Array): void {
    const r = new UnitReader(packet, WHERE);
    r.skip(3);
    const seqId = r.u8();
    if (seqId === 0 && this.#previousSeqId !== 255) this.#initialHandshake(r);
    else this.#serverPacket(r);
    this.#previousSeqId = seqId;
  }

  /** `Initial_Handshake_Packet`. */
  #initialHandshake(r: UnitReader): void {
    const version = r.u8();
    if (version === 10) {
      nulString(r);
      r.skip(4 + 8 + 1 + 2 + 1 + 2);
      const capabilities2 = r.u16le();
      const authDataLength = r.u8();
      if (authDataLength !== 0 && authDataLength < 21) {
        throw enforceViolation("auth_plugin_data_len");
      }
      r.skip(10);
      r.skip(authDataLength > 21 ? authDataLength - 8 : 13);
      if (((capabilities2 << 16) & CLIENT_PLUGIN_AUTH) !== 0) nulString(r);
    } else if (version === 9) {
      nulString(r);
      r.skip(4);
      nulString(r);
    } else {
      this.#errPacket(r);
    }
    this.#version = version;
  }

  /** `Server_Connection_Phase_Packets`. */
  #serverPacket(r: UnitReader): void {
    const type = r.u8();
    switch (type) {
      case 0x00:
        lengthEncodedInteger(r);
        this.#over = true;
        break;
      case 0x01:
        break;
      case 0xfe:
        nulString(r);
        this.#expect = Expect.AuthData;
        break;
      case 0xff:
        this.#errPacket(r);
        break;
      default:
        throw invalidCaseIndex(WHERE, type);
    }
  }

  /** `ERR_Packet`: the command phase follows. */
  #errPacket(r: UnitReader): void {
    r.skip(2 + 6);
    this.#over = true;
  }

  /** `Client_Message` in the connection phase. */
  #client(packet: Uint8Array): void {
    const r = new UnitReader(packet, WHERE);
    r.skip(4);
    if (this.#expect === Expect.AuthData) return;
    if (this.#version === 10) this.#responseV10(r);
    else if (this.#version === 9) this.#responseV9(r);
    else throw invalidCaseIndex(WHERE, this.#version);
  }

  /** `Handshake_Response_Packet_v10`; with `CLIENT_SSL` it is the SSL request. */
  #responseV10(r: UnitReader): void {
    const capabilities = r.u32le();
    r.skip(4 + 1 + 23);
    if ((capabilities & CLIENT_SSL) === 0) {
      nulString(r);
      lengthEncodedString(r);
      if ((capabilities & CLIENT_CONNECT_WITH_DB) !== 0) nulString(r);
      if ((capabilities & CLIENT_PLUGIN_AUTH) !== 0) emptyOrNulString(r);
      if ((capabilities & CLIENT_CONNECT_ATTRS) !== 0) connectionAttributes(r);
      if ((capabilities & CLIENT_ZSTD_COMPRESSION_ALGORITHM) !== 0) r.u8();
      if ((capabilities & CLIENT_PLUGIN_AUTH) !== 0) this.#expect = Expect.AuthData;
    }
    this.#host.confirm();
    if ((capabilities & CLIENT_SSL) !== 0) this.#tls.start(this.#host);
  }

  /** `Handshake_Response_Packet_v9`. */
  #responseV9(r: UnitReader): void {
    const capabilities = r.u16le();
    r.skip(3);
    nulString(r);
    nulString(r);
    if ((capabilities & CLIENT_CONNECT_WITH_DB) !== 0) nulString(r);
    this.#host.confirm();
  }
}

/** `NUL_String`: `[^\0]*\0`. */
function nulString(r: UnitReader): void {
  const nul = r.data.subarray(r.pos, r.end).indexOf(0);
  if (nul < 0) throw stringMismatch(WHERE, "[^\\0]*\\0", r.data, r.pos);
  r.pos += nul + 1;
}

/** `EmptyOrNUL_String`: `([^\0]*\0)?`. */
function emptyOrNulString(r: UnitReader): void {
  const nul = r.data.subarray(r.pos, r.end).indexOf(0);
  if (nul >= 0) r.pos += nul + 1;
}

/** `LengthEncodedInteger`: its value (0 for 0xfb and 0xff, as `to_int` has it). */
function lengthEncodedInteger(r: UnitReader): number {
  const first = r.u8();
  if (first < 0xfb) return first;
  if (first === 0xfc) return r.u16le();
  if (first === 0xfd) return r.u8() | (r.u8() << 8) | (r.u8() << 16);
  if (first === 0xfe) {
    const lo = r.u32le();
    const hi = r.u32le();
    // `to_int` keeps the low 32 bits as a C int.
    return hi === 0 && lo <= 0x7fffffff ? lo : lo | 0;
  }
  return 0;
}

/** `LengthEncodedString`. */
function lengthEncodedString(r: UnitReader): void {
  const n = lengthEncodedInteger(r);
  if (n < 0) throw new BinpacError(`binpac exception: invalid length string: ${WHERE}: ${n}`);
  r.skip(n);
}

/** `Handshake_Connection_Attributes`: a length, then name/value pairs filling it. */
function connectionAttributes(r: UnitReader): void {
  const length = r.u8();
  r.need(length);
  const attrs = new UnitReader(r.data, WHERE, r.pos, r.pos + length);
  while (attrs.left > 0) {
    lengthEncodedString(attrs);
    lengthEncodedString(attrs);
  }
  r.pos += length;
}

/** Zeek's MySQL analyzer, reduced to its hand-off to SSL. */
export const MYSQL_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "MySQL",
  ports: MYSQL_PORTS,
  serverPorts: MYSQL_PORTS,
  signatures: [],
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new MySqlAnalyzer(host),
});
