/**
 * Zeek's IRC analyzer as far as STARTTLS needs it (Z: src/analyzer/
 * protocol/irc/IRC.cc, scripts/base/protocols/irc/main.zeek, dpd.sig):
 * lines of at most 1,000 bytes through a ContentLine; lines over 512
 * bytes or under 3 are skipped; IRCv3 tags and the `:prefix` are taken
 * off; a numeric reply or a command is read.
 *
 * The first valid client command (RFC 2812's, `STARTTLS` included)
 * confirms; the server's numeric reply 670 (RPL_STARTTLS) turns the
 * connection to TLS (the client's `STARTTLS` itself does nothing more).
 * Violations: a line too short for a command, a reply number that is not
 * three digits and a blank, more than 20 commands longer than 20 bytes.
 *
 * Not ported: the replies and commands only events and irc.log read
 * (their weirds included). When both sides registered as servers that
 * agreed on compression, Zeek inflates the rest of the connection; weir
 * stops analysing it there instead.
 *
 * @module
 */

import type { AnalyzerHost, AnalyzerSpec, DpdSignature, StreamAnalyzer } from "../framework/mod.ts";
import { asciiUpper, isDigit } from "./ascii.ts";
import { TlsHandoff } from "./handoff.ts";
import { type LineFlags, LineSplitter } from "./line_splitter.ts";

/** `IRC::ports`. */
export const IRC_PORTS: readonly string[] = Object.freeze([
  "6666/tcp",
  "6667/tcp",
  "6668/tcp",
  "6669/tcp",
]);

const SERVER_REPLY = {
  name: "irc_server_reply",
  direction: "responder",
  payload: /(?:^|[\n\r])(?::[^ \n\r]+ )?[0-9][0-9][0-9] /,
} as const;

/** `(|.*[\r\n]) *SERVER +[^ ]+ +[0-9]+ +:.+[\r\n]`. */
const SERVER_TO_SERVER = /(?:^|[\r\n]) *[Ss][Ee][Rr][Vv][Ee][Rr] +[^ ]+ +[0-9]+ +:[^][^]*?[\r\n]/;

/**
 * `irc_client1`, `irc_client2` (each requiring `irc_server_reply`) and
 * `irc_server_to_server2` (requiring `irc_server_to_server1`). The
 * client patterns look for the first USER (NICK) line and the first
 * NICK (USER) line after it; where one match exists, the first ones match
 * too, and looking only for them keeps the patterns linear.
 */
export const IRC_SIGNATURES: readonly DpdSignature[] = Object.freeze([
  {
    name: "irc_client1",
    proto: "tcp",
    direction: "originator",
    payload: twoLines("[Uu][Ss][Ee][Rr]", "[Nn][Ii][Cc][Kk]"),
    reverse: SERVER_REPLY,
  },
  {
    name: "irc_client2",
    proto: "tcp",
    direction: "originator",
    payload: twoLines("[Nn][Ii][Cc][Kk]", "[Uu][Ss][Ee][Rr]"),
    reverse: SERVER_REPLY,
  },
  {
    name: "irc_server_to_server2",
    proto: "tcp",
    direction: "any",
    payload: SERVER_TO_SERVER,
    reverse: { name: "irc_server_to_server1", direction: "any", payload: SERVER_TO_SERVER },
  },
]);

/**
 * `(|.*[\r\n]) *A +.+[\r\n]+ *B +.*[\r\n]`, with the first A and the first
 * B after it found by atomic lookaheads (JavaScript has no possessive
 * quantifiers).
 */
function twoLines(a: string, b: string): RegExp {
  return new RegExp(
    `^(?=([^]*?(?:^|[\\r\\n]) *${a} ))\\1[^](?=([^]*?[\\r\\n] *${b} ))\\2[^]*?[\\r\\n]`,
  );
}

/** `ContentLine_Analyzer(conn, orig, 1000)`. */
const MAX_LINE = 1000;
/** Lines longer than this are not parsed (`irc_line_size_exceeded`). */
const MAX_PARSED_LINE = 512;
/** `invalid_msg_max_count`. */
const MAX_INVALID = 20;

const VALID_CLIENT_COMMANDS = new Set([
  "ADMIN",
  "AWAY",
  "CNOTICE",
  "CPRIVMSG",
  "CONNECT",
  "DIE",
  "ENCAP",
  "ERROR",
  "INFO",
  "INVITE",
  "ISON",
  "JOIN",
  "KICK",
  "KILL",
  "KNOCK",
  "LINKS",
  "LIST",
  "LUSERS",
  "MODE",
  "MOTD",
  "NAMES",
  "NICK",
  "NOTICE",
  "OPER",
  "PART",
  "PASS",
  "PING",
  "PONG",
  "PRIVMSG",
  "QUIT",
  "REHASH",
  "RULES",
  "SERVER",
  "SERVICE",
  "SERVLIST",
  "SETNAME",
  "SILENCE",
  "SQUERY",
  "SQUIT",
  "STATS",
  "SUMMON",
  "TIME",
  "TOPIC",
  "TRACE",
  "USER",
  "USERHOST",
  "USERS",
  "VERSION",
  "WALLOPS",
  "WHO",
  "WHOIS",
  "WHOWAS",
  "STARTTLS",
]);

/** Server-to-server registration: compression ahead (`ZIP_LOADED` in Zeek). */
interface Registration {
  registered: boolean;
  zip: boolean;
}

/** One connection's IRC. */
export class IrcAnalyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #orig: LineSplitter;
  readonly #resp: LineSplitter;
  readonly #tls = new TlsHandoff();
  #confirmed = false;
  #invalid = 0;
  readonly #origReg: Registration = { registered: false, zip: false };
  readonly #respReg: Registration = { registered: false, zip: false };
  #compressed = false;
  #delivering: LineSplitter | undefined;
  #isOrig = true;

  constructor(host: AnalyzerHost) {
    this.#host = host;
    const flags: LineFlags = { singleCr: false, nul: false };
    const weird = (name: string, addl?: string) => host.weird(name, addl, "CONTENTLINE");
    const options = { maxLineLength: MAX_LINE, keep: MAX_LINE, weird };
    this.#orig = new LineSplitter({ line: (h, n) => this.#line(h, n, true) }, flags, options);
    this.#resp = new LineSplitter({ line: (h, n) => this.#line(h, n, false) }, flags, options);
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#tls.active) return this.#tls.stream(data, isOrig);
    if (this.#compressed) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.deliver(data);
    this.#delivering = undefined;
  }

  undelivered(_seq: number, _len: number, _isOrig: boolean): void {}

  closed(_isOrig: boolean): void {}

  endOfStream(isOrig: boolean): void {
    if (this.#tls.active || this.#compressed) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.endOfStream();
    this.#delivering = undefined;
  }

  done(): void {}

  #weirdIfConfirmed(name: string): void {
    if (this.#confirmed) this.#host.weird(name);
  }

  #confirm(): void {
    this.#confirmed = true;
    this.#host.confirm();
  }

  /** `DeliverStream` of one line. */
  #line(line: Uint8Array, length: number, orig: boolean): void {
    if (this.#tls.active || this.#compressed) return;
    if (length > MAX_PARSED_LINE) return this.#weirdIfConfirmed("irc_line_size_exceeded");
    let at = skipBlanks(line, 0);
    if (length - at < 3) return this.#weirdIfConfirmed("irc_line_too_short");
    if (line[at] === 64) {
      // IRCv3 tags: `@a=b;c … command`.
      const space = line.indexOf(32, at);
      if (space < 0) return;
      at = space + 1;
    }
    let prefixed = false;
    if (line[at] === 58) {
      const space = line.indexOf(32, at);
      if (space < 0) return this.#weirdIfConfirmed("irc_invalid_line");
      prefixed = space > at + 1;
      at = skipBlanks(line, space + 1);
    }
    if (length - at < 3) {
      this.#weirdIfConfirmed("irc_invalid_line");
      this.#host.violate("line too short");
      return;
    }
    let code = 0;
    let command = "";
    let params = at;
    if (isDigit(line[at])) {
      if (isDigit(line[at + 1]) && isDigit(line[at + 2]) && line[at + 3] === 32) {
        code = (line[at]! - 48) * 100 + (line[at + 1]! - 48) * 10 + (line[at + 2]! - 48);
        params = at + 4;
      } else {
        this.#weirdIfConfirmed("irc_invalid_reply_number");
        this.#host.violate("invalid reply number");
        return;
      }
    } else {
      let space = line.indexOf(32, at);
      if (space < 0) space = length;
      command = asciiUpper(line.subarray(at, space));
      params = skipBlanks(line, Math.min(space + 1, length));
    }
    if (!this.#confirmed && orig && VALID_CLIENT_COMMANDS.has(command)) this.#confirm();
    if (command === "STARTTLS") return;
    this.#registration(orig, command, prefixed, line.subarray(params, length));
    if (code > 0) {
      if (code === 670) this.#startTls();
      return;
    }
    if (command.length > 20) {
      this.#host.weird("irc_invalid_command");
      if (++this.#invalid > MAX_INVALID) {
        this.#host.weird("irc_too_many_invalid");
        this.#host.violate("too many long lines");
      }
      return;
    }
    const o = this.#origReg;
    const r = this.#respReg;
    if (o.registered && r.registered && o.zip && r.zip) {
      this.#compressed = true;
      this.#orig.stop();
      this.#resp.stop();
    }
  }

  /** PASS and SERVER (without prefix) of a side still registering. */
  #registration(orig: boolean, command: string, prefixed: boolean, params: Uint8Array): void {
    const reg = orig ? this.#origReg : this.#respReg;
    if (reg.registered) return;
    if (command === "PASS") {
      const words = splitWords(params);
      reg.zip = words.length > 3 && /[Zz]/.test(words[3]!);
    }
    if (command === "SERVER" && !prefixed) reg.registered = true;
  }

  #startTls(): void {
    this.#tls.start(this.#host);
    const rest = this.#delivering?.takeRest();
    this.#orig.stop();
    this.#resp.stop();
    if (rest !== undefined) this.#tls.stream(rest, this.#isOrig);
  }
}

/** `SkipLeadingWhitespace`: past blanks only. */
function skipBlanks(line: Uint8Array, from: number): number {
  let i = from;
  while (i < line.length && line[i] === 32) i++;
  return i;
}

/** `SplitWords(…, ' ')`. */
function splitWords(bytes: Uint8Array): string[] {
  let s = "";
  for (const c of bytes) s += String.fromCharCode(c);
  return s.split(" ").filter((w) => w !== "");
}

/** Zeek's IRC analyzer, reduced to its hand-off to SSL. */
export const IRC_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "IRC",
  ports: IRC_PORTS,
  serverPorts: IRC_PORTS,
  signatures: IRC_SIGNATURES,
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new IrcAnalyzer(host),
});
