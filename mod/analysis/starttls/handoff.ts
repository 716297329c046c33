/**
 * The turn to TLS that every analyzer here ends with: Zeek's
 * `InstantiateAnalyzer("SSL")` + `AddChildAnalyzer`, after which the
 * parent forwards what it is given to the child and parses nothing more.
 *
 * What is forwarded follows Zeek's parents: stream data always; content
 * gaps only where the parent forwards them (MySQL); a child is never told
 * of FIN/RST or the end of a stream, as Zeek's TCP session only tells its
 * direct children.
 *
 * @module
 */

import type { AnalyzerHost, ChildAnalyzer } from "../framework/mod.ts";

/** Zeek's component name of the analyzer the connection is handed to. */
export const TLS_ANALYZER = "SSL";

/** One connection's hand-off to SSL. */
export class TlsHandoff {
  #child: ChildAnalyzer | undefined;
  #active = false;

  /** Whether the connection turned to TLS (whether or not SSL is loaded). */
  get active(): boolean {
    return this.#active;
  }

  /** Whether an SSL child is attached (SSL is loaded). */
  get attached(): boolean {
    return this.#child !== undefined;
  }

  /** Attaches SSL as a child of the analyzer `host` is the host of. */
  start(host: AnalyzerHost): void {
    if (this.#active) return;
    this.#active = true;
    this.#child = host.startChild(TLS_ANALYZER);
  }

  /**
   * Turns to TLS only if SSL is loaded (FTP's rule); whether it did.
   */
  startIfLoaded(host: AnalyzerHost): boolean {
    if (this.#active) return true;
    const child = host.startChild(TLS_ANALYZER);
    if (child === undefined) return false;
    this.#active = true;
    this.#child = child;
    return true;
  }

  /** Stream bytes for the child (borrowed). */
  stream(data: Uint8Array, isOrig: boolean): void {
    if (data.length > 0) this.#child?.stream(data, isOrig);
  }

  /** A content gap for the child. */
  undelivered(seq: number, len: number, isOrig: boolean): void {
    this.#child?.undelivered(seq, len, isOrig);
  }
}
