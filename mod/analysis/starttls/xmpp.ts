/**
 * Zeek's XMPP analyzer (Z: src/analyzer/protocol/xmpp/XMPP.cc,
 * xmpp-protocol.pac, xmpp-analyzer.pac, scripts/base/protocols/xmpp/
 * main.zeek, dpd.sig), which parses only up to STARTTLS. Each delivery is
 * one binpac datagram of XML tokens: blanks/CR/LF, `<`, a name
 * (`/?[?:[:alnum:]]+`), anything but `<>`, `>`, then text up to the next
 * tag. A delivery that does not parse (an element split across segments,
 * a comment, a tab before a tag) is a violation; the tokens before the
 * failure have been acted on.
 *
 * Per token (`proc_xmpp_token`): the client's `stream:stream` confirms;
 * `success`, `message`, `db:result`, `db:verify`, `presence` (either side)
 * end the analysis, as STARTTLS can no longer come; the client's
 * `starttls` (any namespace prefix) and then the server's `proceed` (any
 * prefix) turn the connection to TLS; an unprefixed `proceed` without a
 * `starttls` before it raises `XMPP: proceed without starttls`.
 *
 * As in Zeek, the rest of the delivery with `proceed` is still parsed;
 * the deliveries after it go to SSL. After a content gap nothing more is
 * parsed (nor forwarded, unless TLS had begun).
 *
 * @module
 */

import { latin1String } from "../../../zeek/mod.ts";
import type { AnalyzerHost, AnalyzerSpec, DpdSignature, StreamAnalyzer } from "../framework/mod.ts";
import { stringMismatch } from "./binpac.ts";
import { DeliveryAnalyzer } from "./delivery_analyzer.ts";

/** `XMPP::ports`. */
export const XMPP_PORTS: readonly string[] = Object.freeze(["5222/tcp", "5269/tcp"]);

/** `dpd_xmpp`: either side's stream header. */
export const XMPP_SIGNATURES: readonly DpdSignature[] = Object.freeze([{
  name: "dpd_xmpp",
  proto: "tcp",
  direction: "any",
  payload: /^(?:<\?xml[^?>]*\?>)?[\n\r ]*<stream:stream [^>]*xmlns='jabber:/,
}]);

const WHERE = "xmpp-protocol.pac";

/** Elements after which STARTTLS cannot come. */
const PAST_STARTTLS = new Set(["success", "message", "db:result", "db:verify", "presence"]);

/** One connection's XMPP. */
export class XmppAnalyzer extends DeliveryAnalyzer {
  #clientStarttls = false;

  /** `XMPP_PDU`: tokens until the delivery ends. */
  protected override parse(data: Uint8Array, isOrig: boolean): void {
    const n = data.length;
    let at = 0;
    while (at < n) {
      while (at < n && (data[at] === 32 || data[at] === 13 || data[at] === 10)) at++;
      if (data[at] !== 60) throw stringMismatch(WHERE, "<", data, at);
      at++;
      const nameStart = at;
      if (data[at] === 47) at++;
      const first = at;
      while (at < n && isNameChar(data[at]!)) at++;
      if (at === first) throw stringMismatch(WHERE, "\\/?[?:[:alnum:]]+", data, nameStart);
      const name = latin1String(data, nameStart, at);
      while (at < n && data[at] !== 60 && data[at] !== 62) at++;
      if (data[at] !== 62) throw stringMismatch(WHERE, ">", data, at);
      at++;
      while (at < n && data[at] !== 60 && data[at] !== 62) at++;
      this.#token(isOrig, name);
    }
  }

  /** `proc_xmpp_token`. */
  #token(isOrig: boolean, name: string): void {
    const colon = name.indexOf(":");
    const local = colon >= 0 && name.length > colon + 1 ? name.slice(colon + 1) : name;
    if (isOrig && name === "stream:stream") this.host.confirm();
    if (PAST_STARTTLS.has(name)) this.skip = true;
    if (isOrig && (name === "starttls" || local === "starttls")) this.#clientStarttls = true;
    if (!isOrig && (name === "proceed" || local === "proceed") && this.#clientStarttls) {
      this.tls.start(this.host);
    } else if (!isOrig && name === "proceed") {
      this.host.weird("XMPP: proceed without starttls");
    }
  }
}

/** `[?:[:alnum:]]`. */
function isNameChar(c: number): boolean {
  return c === 63 || c === 58 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122);
}

/** Zeek's XMPP analyzer, reduced to its hand-off to SSL. */
export const XMPP_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "XMPP",
  ports: XMPP_PORTS,
  serverPorts: XMPP_PORTS,
  signatures: XMPP_SIGNATURES,
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new XmppAnalyzer(host),
});
