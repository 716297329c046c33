/**
 * Zeek's RDP analyzer through its X.224 negotiation (Z: src/analyzer/
 * protocol/rdp/RDP.cc, rdp-protocol.pac, rdp-analyzer.pac, scripts/base/
 * protocols/rdp/main.zeek, dpd.sig). Each direction is a binpac flow of
 * TPKT units (version, reserved, big-endian length) holding a COTP PDU:
 * Connection Request (optional `Cookie: mstshash=` line, optional
 * RDP_NEG_REQ), Connection Confirm (optional RDP_NEG_RSP or
 * RDP_NEG_FAILURE), Data.
 *
 * A Connection Confirm whose RDP_NEG_RSP selects a protocol above 0 (1 TLS,
 * 2 CredSSP, 8 RDSTLS, …) means encryption: from the next delivery on
 * (either side's) everything goes to SSL. A unit that does not parse (a
 * negotiation record whose length is not 8, an unknown response type, a
 * cookie without CR LF, a field past the unit) is a violation, and the rest
 * of the flow's buffer is dropped, as binpac does. After a content gap
 * nothing more is parsed or forwarded.
 *
 * Where weir departs: the MCS/GCC data of native RDP security is not
 * parsed, so weir never confirms RDP (Zeek confirms on its client core
 * data and server security data, which TLS connections never show: their
 * `service` is `ssl` alone in both) and raises no violation there.
 *
 * @module
 */

import type { AnalyzerHost, AnalyzerSpec, DpdSignature, StreamAnalyzer } from "../framework/mod.ts";
import {
  BinpacError,
  enforceViolation,
  invalidCaseIndex,
  stringMismatch,
  UnitReader,
} from "./binpac.ts";
import { TlsHandoff } from "./handoff.ts";

/** `RDP::rdp_ports` (`RDP::rdpeudp_ports` belong to RDPEUDP, not ported). */
export const RDP_PORTS: readonly string[] = Object.freeze(["3389/tcp"]);

/** `dpd_rdp_client`, which requires `dpd_rdp_server` on the other side. */
export const RDP_SIGNATURES: readonly DpdSignature[] = Object.freeze([{
  name: "dpd_rdp_client",
  proto: "tcp",
  direction: "any",
  // .*(Cookie: mstshash=|Duca.*(rdpdr|…)): the first "Duca" serves as well as any later
  // one, and looking only for it (an atomic lookahead) keeps the pattern linear.
  payload: /^(?:[^]*?Cookie: mstshash=|(?=([^]*?Duca))\1[^]*?(?:rdpdr|rdpsnd|drdynvc|cliprdr))/,
  reverse: { name: "dpd_rdp_server", direction: "any", payload: /^[^]{5}\xd0|McDn/ },
}]);

const WHERE = "rdp-protocol.pac";
const COOKIE = new TextEncoder().encode("Cookie: mstshash=");
/** The largest TPKT (its length field is 16 bits). */
const MAX_TPKT = 0xffff;

/** One direction's TPKT units, as binpac's flow buffer frames them. */
class TpktBuffer {
  #buf = new Uint8Array(256);
  #have = 0;

  /** Appends bytes and hands each complete unit to `unit` (borrowed). */
  push(data: Uint8Array, unit: (tpkt: Uint8Array) => boolean): void {
    let at = 0;
    while (at < data.length) {
      const needed = this.#needed();
      if (needed > this.#buf.length) {
        const grown = new Uint8Array(Math.min(MAX_TPKT, Math.max(needed, this.#buf.length * 2)));
        grown.set(this.#buf.subarray(0, this.#have));
        this.#buf = grown;
      }
      const room = Math.min(data.length - at, needed - this.#have);
      this.#buf.set(data.subarray(at, at + room), this.#have);
      this.#have += room;
      at += room;
      if (this.#have >= 4 && this.#have === this.#needed()) {
        const complete = this.#buf.subarray(0, this.#have);
        this.#have = 0;
        if (!unit(complete)) return;
      }
    }
  }

  /** Bytes of the unit being read: its header first, then its length. */
  #needed(): number {
    if (this.#have < 4) return 4;
    // binpac reads a length below the header as the header alone.
    return Math.max(4, (this.#buf[2]! << 8) | this.#buf[3]!);
  }

  clear(): void {
    this.#have = 0;
  }
}

/** One connection's RDP. */
export class RdpAnalyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #tls = new TlsHandoff();
  readonly #orig = new TpktBuffer();
  readonly #resp = new TpktBuffer();
  /** The negotiation selected a protocol (Zeek's `is_encrypted`, method > 0). */
  #encrypted = false;
  #hadGap = false;
  #stopped = false;

  constructor(host: AnalyzerHost) {
    this.#host = host;
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#host.partial() || this.#hadGap || this.#stopped) return;
    if (this.#encrypted) {
      this.#tls.start(this.#host);
      return this.#tls.stream(data, isOrig);
    }
    const buffer = isOrig ? this.#orig : this.#resp;
    buffer.push(data, (tpkt) => {
      try {
        this.#unit(tpkt);
      } catch (e) {
        if (!(e instanceof BinpacError)) throw e;
        this.#host.violate(e.reason);
        buffer.clear();
        return false;
      }
      // The rest of the delivery is RDP to Zeek too, but nothing weir reads.
      if (this.#encrypted) {
        buffer.clear();
        return false;
      }
      return true;
    });
  }

  undelivered(_seq: number, _len: number, _isOrig: boolean): void {
    this.#hadGap = true;
  }

  closed(_isOrig: boolean): void {}

  done(): void {}

  /** `TPKT`: the COTP PDU inside. */
  #unit(tpkt: Uint8Array): void {
    const length = (tpkt[2]! << 8) | tpkt[3]!;
    const r = new UnitReader(tpkt, WHERE, 4, Math.max(4, length));
    const cotpStart = r.pos;
    const cotpLength = r.u8();
    const pdu = r.u8();
    if (pdu === 0xd0) this.#connectConfirm(r, cotpStart, cotpLength);
    else if (pdu === 0xe0) connectRequest(r, cotpStart, cotpLength);
    else if (pdu === 0xf0) r.skip(3);
  }

  /** `Connect_Confirm`. */
  #connectConfirm(r: UnitReader, cotpStart: number, cotpLength: number): void {
    r.skip(2 + 2 + 1);
    if (r.pos - cotpStart - cotpLength - 1 === 0) return;
    const type = r.u8();
    if (type === 0x02) {
      r.u8();
      if (r.u16le() !== 8) throw enforceViolation("length");
      const selected = r.u32le();
      if (selected > 0) this.#encrypted = true;
    } else if (type === 0x03) {
      r.skip(1 + 2 + 4);
    } else throw invalidCaseIndex(WHERE, type);
  }
}

/** `Connect_Request`: the cookie line and the negotiation request, if any. */
function connectRequest(r: UnitReader, cotpStart: number, cotpLength: number): void {
  r.skip(2 + 2 + 1);
  const d = r.data;
  let cookie = r.left >= COOKIE.length;
  for (let i = 0; cookie && i < COOKIE.length; i++) cookie = d[r.pos + i] === COOKIE[i];
  if (cookie) {
    r.pos += COOKIE.length;
    while (r.pos < r.end && d[r.pos] !== 0x0d) r.pos++;
    if (r.left < 2 || d[r.pos + 1] !== 0x0a) throw stringMismatch(WHERE, "\\x0d\\x0a", d, r.pos);
    r.pos += 2;
  }
  if (r.pos - cotpStart - cotpLength - 1 === 0) return;
  r.skip(2);
  if (r.u16le() !== 8) throw enforceViolation("length");
  r.skip(4);
}

/** Zeek's RDP analyzer, reduced to its hand-off to SSL (it never confirms here). */
export const RDP_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "RDP",
  ports: RDP_PORTS,
  serverPorts: RDP_PORTS,
  signatures: RDP_SIGNATURES,
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new RdpAnalyzer(host),
});
