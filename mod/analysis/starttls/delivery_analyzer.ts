/**
 * What IMAP and XMPP have in common up to their turn to TLS: Zeek's binpac
 * parses each delivery on its own, a parse error is a violation
 * (`Binpac exception`), a content gap ends the parsing, a partial
 * connection is not parsed, `SetSkip(true)` ends the analysis, and once
 * TLS began every delivery goes to SSL.
 *
 * @module
 */

import type { AnalyzerHost, StreamAnalyzer } from "../framework/mod.ts";
import { BinpacError } from "./binpac.ts";
import { TlsHandoff } from "./handoff.ts";

/** A STARTTLS analyzer parsing one delivery at a time; subclasses give `parse`. */
export abstract class DeliveryAnalyzer implements StreamAnalyzer {
  protected readonly host: AnalyzerHost;
  protected readonly tls = new TlsHandoff();
  /** `SetSkip(true)`: nothing more reaches the analyzer. */
  protected skip = false;
  #hadGap = false;

  constructor(host: AnalyzerHost) {
    this.host = host;
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.skip) return;
    if (this.tls.active) return this.tls.stream(data, isOrig);
    if (this.host.partial() || this.#hadGap) return;
    try {
      this.parse(data, isOrig);
    } catch (e) {
      if (!(e instanceof BinpacError)) throw e;
      this.host.violate(e.reason);
    }
  }

  undelivered(_seq: number, _len: number, _isOrig: boolean): void {
    this.#hadGap = true;
  }

  closed(_isOrig: boolean): void {}

  done(): void {}

  /** One delivery, as binpac's PDU of the protocol; throws `BinpacError` where it does not fit. */
  protected abstract parse(data: Uint8Array, isOrig: boolean): void;
}
