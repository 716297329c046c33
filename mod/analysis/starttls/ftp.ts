/**
 * Zeek's FTP analyzer as far as its hand-offs to SSL need it (Z: src/
 * analyzer/protocol/ftp/FTP.cc, scripts/base/protocols/ftp/main.zeek,
 * dpd.sig): lines through a NUL-sensitive telnet NVT splitter (LF ends a
 * line), commands and (multi-line) replies.
 *
 * Any valid command (3 to `FTP::max_command_length` printable characters)
 * confirms. A reply line that starts a reply without a numeric code, with
 * a code below 100, or with neither a blank nor `-` after the code is a
 * violation. `AUTH TLS` (the command compared on its own length, so `AUT`
 * counts; the argument exactly `TLS`) and a 234 reply turn the connection
 * to TLS. `AUTH GSSAPI` and a 334 reply attach SSL beside the FTP
 * analysis (GridFTP): the base64 ADAT tokens of both sides are decoded for
 * it, as long as the first one looks like a TLS record, until the
 * security exchange ends (Zeek's `FTP_ADAT_Analyzer`).
 *
 * Not ported: data channels, events, ftp.log.
 *
 * @module
 */

import type {
  AnalyzerHost,
  AnalyzerSpec,
  ChildAnalyzer,
  DpdSignature,
  StreamAnalyzer,
} from "../framework/mod.ts";
import { asciiUpper, isDigit, isPrint, isSpace, skipBlanks, wordEnd } from "./ascii.ts";
import { decodeBase64 } from "./base64.ts";
import { TLS_ANALYZER, TlsHandoff } from "./handoff.ts";
import { type LineFlags, LineSplitter } from "./line_splitter.ts";

/** `FTP::ports`. */
export const FTP_PORTS: readonly string[] = Object.freeze(["21/tcp", "2811/tcp"]);

/** `dpd_ftp_server`, which requires `dpd_ftp_client` on the other side. */
export const FTP_SIGNATURES: readonly DpdSignature[] = Object.freeze([{
  name: "dpd_ftp_server",
  proto: "tcp",
  direction: "responder",
  payload: /^[\n\r ]*(?:120|220)[^0-9][^]*[\n\r] *(?:230|331)[^0-9]/,
  reverse: {
    name: "dpd_ftp_client",
    direction: "originator",
    payload: /(?:^|[\n\r]) *[uU][sS][eE][rR] /,
  },
}]);

/** `FTP::max_command_length`. */
export const DEFAULT_FTP_MAX_COMMAND_LENGTH = 100;
/** Bytes kept of an FTP line: room for GridFTP's ADAT tokens. */
const ADAT_LINE_HEAD = 64 * 1024;

/** One connection's FTP. */
export class FtpAnalyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #orig: LineSplitter;
  readonly #resp: LineSplitter;
  readonly #tls = new TlsHandoff();
  #confirmed = false;
  /** The argument of the last AUTH command (`auth_requested`). */
  #authRequested = "";
  #pendingReply = 0;
  /** The SSL child of a GSSAPI exchange, while its ADAT tokens are decoded. */
  #adat: AdatFeed | undefined;
  #delivering: LineSplitter | undefined;
  #isOrig = true;

  constructor(host: AnalyzerHost) {
    this.#host = host;
    const flags: LineFlags = { singleCr: false, nul: false };
    const weird = (name: string, addl?: string) => {
      host.weird(name, addl, "NVT");
      // `LimitReachedWeird` also marks the connection's history.
      if (name.endsWith("_size_exceeded")) host.history("X");
    };
    // ADAT tokens (certificates, base64) run to several KiB.
    const options = { nvt: true, nulSensitive: true, keep: ADAT_LINE_HEAD, weird };
    this.#orig = new LineSplitter({ line: (h, n) => this.#line(h, n, true) }, flags, options);
    this.#resp = new LineSplitter({ line: (h, n) => this.#line(h, n, false) }, flags, options);
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#tls.active) return this.#tls.stream(data, isOrig);
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.deliver(data);
    this.#delivering = undefined;
  }

  undelivered(_seq: number, _len: number, _isOrig: boolean): void {}

  closed(_isOrig: boolean): void {}

  endOfStream(isOrig: boolean): void {
    if (this.#tls.active) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.endOfStream();
    this.#delivering = undefined;
  }

  done(): void {}

  /** `DeliverStream` of one line. */
  #line(line: Uint8Array, length: number, orig: boolean): void {
    if (this.#tls.active || length === 0) return;
    if (!(orig ? this.#command(line, length) : this.#reply(line, length))) return;
    if (!this.#tls.active) this.#adat?.line(line, length, orig);
  }

  /** A command line; false when it was ignored. */
  #command(line: Uint8Array, length: number): boolean {
    const start = skipBlanks(line, 0, length);
    const end = wordEnd(line, start, length);
    const cmdLength = end - start;
    if (!isCommand(line, start, end)) {
      if (this.#confirmed) this.#host.weird("FTP_invalid_command");
      return false;
    }
    if (cmdLength > DEFAULT_FTP_MAX_COMMAND_LENGTH) {
      if (this.#confirmed) {
        this.#host.weird(
          "FTP_max_command_length_exceeded",
          `${cmdLength} > ${DEFAULT_FTP_MAX_COMMAND_LENGTH}`,
        );
        this.#host.history("X");
      }
      return false;
    }
    this.#confirmed = true;
    this.#host.confirm();
    // strncmp(CMD, "AUTH", cmd_len): `AUT` matches too.
    if ("AUTH".startsWith(asciiUpper(line.subarray(start, end)))) {
      const arg = skipBlanks(line, end, length);
      // Only `TLS` and `GSSAPI` matter: a longer argument than the line's head is neither.
      this.#authRequested = length <= line.length ? latin1(line.subarray(arg, length)) : "";
    }
    return true;
  }

  /** A reply line; false when it was a violation. */
  #reply(line: Uint8Array, length: number): boolean {
    let code = length >= 3 && isDigit(line[0]) && isDigit(line[1]) && isDigit(line[2])
      ? (line[0]! - 48) * 100 + (line[1]! - 48) * 10 + (line[2]! - 48)
      : 0;
    if (this.#pendingReply !== 0) {
      if (code === this.#pendingReply && length > 3 && line[3] === 32) this.#pendingReply = 0;
      else code = 0;
    } else if (code === 0) {
      this.#host.violate("non-numeric reply code", line);
      return false;
    } else if (code < 100) {
      this.#host.violate("invalid reply code", line);
      return false;
    } else if (length > 3 && line[3] === 45) this.#pendingReply = code;
    else if (length > 3 && line[3] !== 32) {
      this.#host.violate("invalid reply line", line);
      return false;
    }
    if (code === 234 && this.#authRequested === "TLS") this.#startTls();
    if (code === 334 && this.#authRequested === "GSSAPI" && this.#adat === undefined) {
      const child = this.#host.startChild(TLS_ANALYZER);
      if (child !== undefined) {
        this.#adat = new AdatFeed(this.#host, child, () => this.#adat = undefined);
      }
    }
    return true;
  }

  #startTls(): void {
    // Zeek turns to TLS only when an SSL analyzer could be made.
    if (!this.#tls.startIfLoaded(this.#host)) return;
    this.#adat = undefined;
    const rest = this.#delivering?.takeRest();
    this.#orig.stop();
    this.#resp.stop();
    if (rest !== undefined) this.#tls.stream(rest, this.#isOrig);
  }
}

/**
 * `FTP_ADAT_Analyzer`: what the SSL child of a GSSAPI exchange receives,
 * the decoded ADAT tokens of FTP lines; `end` when the exchange is over.
 */
class AdatFeed {
  readonly #host: AnalyzerHost;
  readonly #child: ChildAnalyzer;
  readonly #end: () => void;
  #firstToken = true;

  constructor(host: AnalyzerHost, child: ChildAnalyzer, end: () => void) {
    this.#host = host;
    this.#child = child;
    this.#end = end;
  }

  line(line: Uint8Array, length: number, orig: boolean): void {
    const weird = (name: string, addl: string) => this.#host.weird(name, addl, "");
    let done = false;
    let decoded: Uint8Array | undefined;
    const text = line.subarray(0, Math.min(length, line.length));
    if (orig) {
      const start = skipBlanks(text, 0, text.length);
      const end = wordEnd(text, start, text.length);
      const cmd = latin1(text.subarray(start, end));
      if ("ADAT".startsWith(cmd)) {
        decoded = decodeBase64(text.subarray(skipBlanks(text, end, text.length)), weird);
        if (this.#firstToken) {
          if (decoded === undefined) {
            this.#host.weird("ftp_adat_bad_first_token_encoding", undefined, "FTP_ADAT");
          }
          // A TLS record: content type 22 and a length matching the rest.
          const b = decoded ?? EMPTY;
          if (b.length < 5 || b[0] !== 0x16 || b.length - 5 !== ((b[3]! << 8) | b[4]!)) {
            done = true;
            decoded = undefined;
          }
        }
        this.#firstToken = false;
      } else if ("AUTH".startsWith(cmd)) done = true;
    } else {
      const code = length >= 3 && isDigit(text[0]) && isDigit(text[1]) && isDigit(text[2])
        ? (text[0]! - 48) * 100 + (text[1]! - 48) * 10 + (text[2]! - 48)
        : 0;
      if (code === 232 || code === 234) done = true;
      else if (code === 235 || code === 334 || code === 335) {
        if (code === 235) done = true;
        let at = 3;
        if (text.length > 3 && text[3] === 45) at++;
        at = skipBlanks(text, at, text.length);
        if (latin1(text.subarray(at, at + 5)) === "ADAT=") {
          decoded = decodeBase64(text.subarray(at + 5), weird);
        }
      } else if ([421, 431, 500, 501, 503, 535, 631, 632, 633].includes(code)) done = true;
    }
    if (decoded !== undefined && decoded.length > 0) this.#child.stream(decoded, orig);
    if (done) this.#end();
  }
}

/** `is_ftp_cmd`: at least 3 printable non-blank characters. */
function isCommand(line: Uint8Array, start: number, end: number): boolean {
  if (end - start < 3) return false;
  for (let i = start; i < end; i++) if (!isPrint(line[i]) || isSpace(line[i])) return false;
  return true;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) s += String.fromCharCode(c);
  return s;
}

const EMPTY = new Uint8Array(0);

/** Zeek's FTP analyzer, reduced to its hand-offs to SSL. */
export const FTP_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "FTP",
  ports: FTP_PORTS,
  serverPorts: FTP_PORTS,
  signatures: FTP_SIGNATURES,
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new FtpAnalyzer(host),
});
