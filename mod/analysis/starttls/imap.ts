/**
 * Zeek's IMAP analyzer (Z: src/analyzer/protocol/imap/IMAP.cc,
 * imap-protocol.pac, imap-analyzer.pac, scripts/base/protocols/imap/
 * main.zeek), which parses only up to STARTTLS. Each delivery is one
 * binpac datagram of tokens `<tag> <command>[ <text>]<CR/LF>`; the server's
 * `* CAPABILITY` lists capabilities. A delivery that does not parse (a line
 * split across two segments, an empty line, a tab as separator) is a
 * violation; the tokens before the failure have been acted on.
 *
 * Per token (`proc_imap_token`): the server's `* OK` and the client's
 * `capability` (as sent, lower case) or `starttls` (any case) confirm; the
 * commands `authenticate`, `login`, `examine`, `create`, `list`, `fetch`
 * (as sent, lower case, either side) confirm and end the analysis, as
 * STARTTLS can no longer come; the client's `STARTTLS` remembers its tag,
 * and the server's reply with that tag turns the connection to TLS if it
 * is `OK`, else raises `IMAP: server refused StartTLS`. A second client
 * STARTTLS raises `IMAP: client sent duplicate StartTLS`.
 *
 * As in Zeek, the rest of the delivery with the `OK` is still parsed as
 * IMAP; the deliveries after it go to SSL. After a content gap nothing
 * more is parsed (nor forwarded, unless TLS had begun).
 *
 * @module
 */

import type { AnalyzerHost, AnalyzerSpec, StreamAnalyzer } from "../framework/mod.ts";
import { latin1String } from "../../../zeek/mod.ts";
import { stringMismatch } from "./binpac.ts";
import { DeliveryAnalyzer } from "./delivery_analyzer.ts";

/** `IMAP::ports`. */
export const IMAP_PORTS: readonly string[] = Object.freeze(["143/tcp"]);

const WHERE = "imap-protocol.pac";
const TAG = "[[:alnum:][:punct:]]+";
const SPACING = "[ ]+";
const NEWLINE = "[\\r\\n]+";

/** Commands after which STARTTLS cannot come (compared as sent). */
const PAST_STARTTLS = new Set(["authenticate", "login", "examine", "create", "list", "fetch"]);

/** One connection's IMAP. */
export class ImapAnalyzer extends DeliveryAnalyzer {
  /** The tag of the client's STARTTLS (`client_starttls_id`). */
  #clientStarttls = "";

  /** `IMAP_PDU`: tokens until the delivery ends. */
  protected override parse(data: Uint8Array, isOrig: boolean): void {
    let at = 0;
    while (at < data.length) {
      const tagEnd = matchTag(data, at);
      const tag = latin1String(data, at, tagEnd);
      at = matchSpaces(data, tagEnd, 1, SPACING);
      const commandEnd = matchTag(data, at);
      const command = latin1String(data, at, commandEnd);
      at = matchSpaces(data, commandEnd, 0, "[ ]*");
      // `determine_command`: the server's `* CAPABILITY` lists capabilities.
      if (!isOrig && tag === "*" && command.toLowerCase() === "capability") {
        at = capabilities(data, at);
      } else at = restOfLine(data, at);
      this.#token(isOrig, tag, command);
    }
  }

  /** `proc_imap_token`. */
  #token(isOrig: boolean, tag: string, command: string): void {
    // Tags and commands are printable ASCII: toLowerCase is C's tolower here.
    const lower = command.toLowerCase();
    if (!isOrig && tag === "*" && lower === "ok") this.host.confirm();
    if (isOrig && (command === "capability" || lower === "starttls")) this.host.confirm();
    if (PAST_STARTTLS.has(command)) {
      this.host.confirm();
      this.skip = true;
      return;
    }
    if (isOrig && lower === "starttls") {
      if (this.#clientStarttls !== "") this.host.weird("IMAP: client sent duplicate StartTLS");
      this.#clientStarttls = tag;
    }
    if (!isOrig && this.#clientStarttls !== "" && tag === this.#clientStarttls) {
      if (lower === "ok") this.tls.start(this.host);
      else this.host.weird("IMAP: server refused StartTLS");
    }
  }
}

/** `TAG`: one or more printable non-blank ASCII characters; returns the end. */
function matchTag(data: Uint8Array, at: number): number {
  let i = at;
  while (i < data.length && data[i]! >= 0x21 && data[i]! <= 0x7e) i++;
  if (i === at) throw stringMismatch(WHERE, TAG, data, at);
  return i;
}

/** `[ ]+` (min 1) or `[ ]*` (min 0); returns the end. */
function matchSpaces(data: Uint8Array, at: number, min: number, pattern: string): number {
  let i = at;
  while (i < data.length && data[i] === 32) i++;
  if (i - at < min) throw stringMismatch(WHERE, pattern, data, at);
  return i;
}

/** `[\r\n]*`; returns the end. */
function lineEnds(data: Uint8Array, at: number): number {
  let i = at;
  while (i < data.length && (data[i] === 13 || data[i] === 10)) i++;
  return i;
}

/** `UnknownCommand`: `[^\r\n]*` then `[\r\n]+`; returns the end. */
function restOfLine(data: Uint8Array, at: number): number {
  let i = at;
  while (i < data.length && data[i] !== 13 && data[i] !== 10) i++;
  const end = lineEnds(data, i);
  if (end === i) throw stringMismatch(WHERE, NEWLINE, data, i);
  return end;
}

/** `ServerCapability`: capabilities until one is followed by line ends. */
function capabilities(data: Uint8Array, at: number): number {
  let i = at;
  for (;;) {
    i = matchSpaces(data, matchTag(data, i), 0, "[ ]*");
    const end = lineEnds(data, i);
    if (end > i) return end;
  }
}

/** Zeek's IMAP analyzer, reduced to its hand-off to SSL. */
export const IMAP_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "IMAP",
  ports: IMAP_PORTS,
  serverPorts: IMAP_PORTS,
  signatures: [],
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new ImapAnalyzer(host),
});
