/**
 * Zeek's SMTP analyzer as far as STARTTLS needs it (Z: src/analyzer/
 * protocol/smtp/SMTP.cc, scripts/base/protocols/smtp/main.zeek, dpd.sig):
 * lines through a NUL-sensitive ContentLine, the command/reply state
 * machine (`UpdateState`, pipelined commands paired with replies, DATA and
 * BDAT transfers whose lines are no commands, AUTH exchanges, TURN, gap
 * recovery), confirmation at the first command, a violation for a reply
 * line without a code from 100 to 599, and the switch to SSL at a 220
 * reply to `STARTTLS` or `X-ANONYMOUSTLS`.
 *
 * Not ported: mail bodies (MIME entities, files), events, smtp.log. After
 * a content gap past the switch Zeek stops forwarding to SSL and reads
 * the encrypted bytes as lines, which yields nothing; weir stops.
 *
 * @module
 */

import type { AnalyzerHost, AnalyzerSpec, DpdSignature, StreamAnalyzer } from "../framework/mod.ts";
import { asciiUpper, isDigit, skipBlanks, wordEnd } from "./ascii.ts";
import { TlsHandoff } from "./handoff.ts";
import { type LineFlags, LineSplitter } from "./line_splitter.ts";

/** `SMTP::ports`, all of them likely server ports. */
export const SMTP_PORTS: readonly string[] = Object.freeze(["25/tcp", "587/tcp"]);

/** `dpd_smtp_client`, which requires `dpd_smtp_server` on the other side. */
export const SMTP_SIGNATURES: readonly DpdSignature[] = Object.freeze([{
  name: "dpd_smtp_client",
  proto: "tcp",
  direction: "originator",
  // (|.*[\n\r])[[:space:]]*(helo|ehlo): the last line end of the
  // whitespace before the word is one with only blanks after it.
  payload: /(?:^|[\n\r])[\t\v\f ]*(?:[hH][eE][lL][oO]|[eE][hH][lL][oO])/,
  reverse: {
    name: "dpd_smtp_server",
    direction: "responder",
    payload: /^[\t\n\v\f\r ]*220[\t\n\v\f\r -]/,
  },
}]);

/** `SMTP_cmd.def`, in order: a command's code is its index. */
const WORDS = [
  "EHLO",
  "HELO",
  "MAIL",
  "RCPT",
  "DATA",
  "QUIT",
  "RSET",
  "VRFY",
  "EXPN",
  "HELP",
  "NOOP",
  "STARTTLS",
  "X_ANONYMOUSTLS",
  "CONN_ESTABLISHMENT",
  "END_OF_DATA",
  "SEND",
  "SOML",
  "SAML",
  "TURN",
  "BDAT",
  "ETRN",
  "AUTH",
  "AUTH_ANSWER",
] as const;

const enum Cmd {
  EHLO,
  HELO,
  MAIL,
  RCPT,
  DATA,
  QUIT,
  RSET,
  VRFY,
  EXPN,
  HELP,
  NOOP,
  STARTTLS,
  X_ANONYMOUSTLS,
  CONN_ESTABLISHMENT,
  END_OF_DATA,
  SEND,
  SOML,
  SAML,
  TURN,
  BDAT,
  ETRN,
  AUTH,
  AUTH_ANSWER,
}

const enum State {
  Connected,
  Initiated,
  NotAvailable,
  Ready,
  MailOk,
  RcptOk,
  InData,
  AfterData,
  InAuth,
  InTls,
  Quit,
  AfterGap,
  GapRecovery,
  InBdat,
}

/** Zeek's bound on pipelined commands waiting for their reply. */
const MAX_PENDING_COMMANDS = 1000;
/** `parse_bdat_arg`'s longest argument: `18446744073709551615 LAST`. */
const MAX_BDAT_ARG = 25;
const INT64_MAX = 0x7fffffffffffffffn;

/** One connection's SMTP. */
export class SmtpAnalyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #orig: LineSplitter;
  readonly #resp: LineSplitter;
  readonly #tls = new TlsHandoff();
  #state = State.Connected;
  #firstCmd: number = Cmd.CONN_ESTABLISHMENT;
  #lastRepliedCmd = -1;
  readonly #pending: number[] = [];
  #pendingReply = 0;
  #origIsSender = true;
  /** A mail transaction is open (Zeek's `mail`). */
  #mail = false;
  /** BDAT in progress: bytes left of the current chunk, and whether it is the last. */
  #bdat: { remaining: number; last: boolean } | undefined;
  #delivering: LineSplitter | undefined;
  #isOrig = true;
  #stopped = false;

  constructor(host: AnalyzerHost) {
    this.#host = host;
    const flags: LineFlags = { singleCr: false, nul: false };
    const weird = (name: string, addl?: string) => host.weird(name, addl, "CONTENTLINE");
    this.#orig = new LineSplitter(
      {
        line: (head, length) => this.#line(head, length, true),
        plain: (data) => this.#plain(data, true),
      },
      flags,
      { nulSensitive: true, weird },
    );
    this.#resp = new LineSplitter(
      {
        line: (head, length) => this.#line(head, length, false),
        plain: (data) => this.#plain(data, false),
      },
      flags,
      { nulSensitive: true, weird },
    );
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#stopped) return;
    if (this.#tls.active) return this.#tls.stream(data, isOrig);
    // ContentLine's SetSkipPartial: nothing of a partial connection.
    if (this.#host.partial()) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.deliver(data);
    this.#delivering = undefined;
  }

  undelivered(_seq: number, len: number, _isOrig: boolean): void {
    if (len <= 0 || this.#stopped) return;
    if (this.#tls.active) {
      this.#stopped = true;
      return;
    }
    if (this.#state === State.InData || this.#state === State.InBdat) this.#endData();
    this.#pending.length = 0;
    this.#firstCmd = this.#lastRepliedCmd = -1;
    this.#state = State.AfterGap;
  }

  closed(_isOrig: boolean): void {}

  endOfStream(isOrig: boolean): void {
    if (this.#stopped || this.#tls.active || this.#host.partial()) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.endOfStream();
    this.#delivering = undefined;
  }

  done(): void {
    if (this.#mail) this.#endData();
  }

  #isSender(orig: boolean): boolean {
    return this.#origIsSender ? orig : !orig;
  }

  /** BDAT chunk bytes, handed on plainly by the sender's splitter. */
  #plain(data: Uint8Array, orig: boolean): void {
    const bdat = this.#bdat;
    if (bdat === undefined || !this.#isSender(orig)) return;
    bdat.remaining -= Math.min(bdat.remaining, data.length);
    if (bdat.last && bdat.remaining === 0) this.#updateState(Cmd.END_OF_DATA, 0, orig);
  }

  #line(head: Uint8Array, length: number, orig: boolean): void {
    if (this.#tls.active) return;
    const bdat = this.#bdat;
    if (
      length > 0 && bdat !== undefined && this.#isSender(orig) && bdat.last &&
      bdat.remaining === 0
    ) {
      // "BDAT 0 LAST": the empty last chunk ends at the sender's next line.
      this.#updateState(Cmd.END_OF_DATA, 0, orig);
    }
    // Some clients end lines with CR CR LF: trailing CRs are no part of the line.
    let n = length;
    if (n <= head.length) { while (n > 0 && head[n - 1] === 13) n--; }
    if (this.#isSender(orig)) this.#senderLine(head, n, orig);
    else this.#reply(head, n, orig);
  }

  #senderLine(line: Uint8Array, length: number, orig: boolean): void {
    let cmd = -1;
    let arg = line.subarray(0, 0);
    let argLength = 0;
    const state = this.#state;
    if (state === State.AfterGap) return;
    if (state === State.InData) {
      if (length === 1 && line[0] === 46) {
        cmd = Cmd.END_OF_DATA;
        this.#newCmd(cmd);
      } else {
        if (!this.#mail) this.#beginData(State.InData);
        return;
      }
    } else if (state === State.InAuth) {
      cmd = Cmd.AUTH_ANSWER;
      this.#newCmd(cmd);
    } else {
      const end = wordEnd(line, 0, length);
      cmd = parseCommand(line, end);
      if (cmd < 0) return;
      const argStart = skipBlanks(line, end, length);
      arg = line.subarray(argStart, Math.min(length, line.length));
      argLength = length - argStart;
      this.#newCmd(cmd);
    }
    if (cmd === Cmd.END_OF_DATA) this.#updateState(cmd, 0, orig);
    // `RequestEvent`: every command confirms.
    this.#host.confirm();
    let update = cmd !== Cmd.END_OF_DATA;
    if (cmd === Cmd.BDAT) update = this.#bdatArgument(arg, argLength, orig);
    else if (this.#bdat !== undefined) {
      this.#host.weird("smtp_missing_bdat_last_chunk");
      this.#endData();
    }
    if (update) this.#updateState(cmd, 0, orig);
  }

  #reply(line: Uint8Array, length: number, orig: boolean): void {
    const code = length >= 3 && isDigit(line[0]) && isDigit(line[1]) && isDigit(line[2])
      ? (line[0]! - 48) * 100 + (line[1]! - 48) * 10 + (line[2]! - 48)
      : -1;
    if (code < 100 || code > 599) {
      this.#host.violate("reply code -1 out of range", line);
      return;
    }
    if (this.#pendingReply !== 0 && code !== this.#pendingReply) this.#pendingReply = 0;
    const continued = length > 3 && line[3] === 45;
    if (this.#pendingReply === 0) this.#newReply(code, orig);
    if (this.#tls.active) return;
    this.#pendingReply = continued ? code : 0;
  }

  #newCmd(cmd: number): void {
    if (this.#firstCmd < 0) {
      this.#firstCmd = cmd;
      return;
    }
    if (this.#pending.length === MAX_PENDING_COMMANDS) {
      this.#host.weird("smtp_excessive_pending_cmds");
      this.#pending.length = 0;
    }
    this.#pending.push(cmd);
  }

  #newReply(code: number, orig: boolean): void {
    if (this.#state === State.AfterGap && code > 0) {
      this.#state = State.GapRecovery;
      this.#host.confirm();
    }
    const cmd = this.#firstCmd;
    this.#lastRepliedCmd = cmd;
    this.#firstCmd = this.#pending.length > 0 ? this.#pending.shift()! : -1;
    this.#updateState(cmd, code, orig);
  }

  /** `ProcessBdatArg`: whether the BDAT command is valid (then its chunk is read plainly). */
  #bdatArgument(arg: Uint8Array, length: number, orig: boolean): boolean {
    const parsed = parseBdatArgument(arg, length);
    if (typeof parsed === "string") {
      this.#host.weird("smtp_invalid_bdat_command", parsed);
      return false;
    }
    if (parsed.size > INT64_MAX) {
      this.#host.weird("smtp_huge_bdat_chunk", parsed.size.toString());
      return false;
    }
    const size = Number(parsed.size);
    (orig ? this.#orig : this.#resp).setPlainDelivery(size);
    if (this.#bdat === undefined) {
      this.#beginData(State.InBdat);
      this.#bdat = { remaining: 0, last: false };
    }
    this.#bdat.remaining = size;
    this.#bdat.last = parsed.last;
    return true;
  }

  #beginData(state: State): void {
    this.#state = state;
    if (this.#mail) this.#host.weird("smtp_nested_mail_transaction");
    this.#mail = true;
  }

  #endData(): void {
    if (this.#bdat !== undefined) {
      if (this.#bdat.remaining > 0) {
        this.#host.weird("smtp_bdat_remaining_at_end_data");
        this.#orig.setPlainDelivery(0);
        this.#resp.setPlainDelivery(0);
      }
      this.#bdat = undefined;
    }
    if (!this.#mail) this.#host.weird("smtp_unmatched_end_of_data");
    this.#mail = false;
  }

  /** `UpdateState`: the state a command (reply 0) or its reply leads to. */
  #updateState(cmd: number, reply: number, orig: boolean): void {
    const st = this.#state;
    switch (cmd) {
      case Cmd.CONN_ESTABLISHMENT:
        if (reply === 0) this.#state = State.Initiated;
        else if (reply === 421 || reply === 554) this.#state = State.NotAvailable;
        break;
      case Cmd.EHLO:
      case Cmd.HELO:
        if (reply === 0) this.#state = State.Ready;
        else if ([421, 500, 501, 504, 550].includes(reply)) this.#state = State.Initiated;
        break;
      case Cmd.MAIL:
      case Cmd.SEND:
      case Cmd.SOML:
      case Cmd.SAML:
        if (reply === 0) this.#state = State.MailOk;
        else if (
          [421, 451, 452, 500, 501, 503, 550, 552, 553].includes(reply) &&
          this.#state !== State.InData
        ) this.#state = State.Ready;
        break;
      case Cmd.RCPT:
        if (reply === 0) this.#state = State.RcptOk;
        break;
      case Cmd.DATA:
        if (reply === 0) this.#beginData(State.InData);
        else if (reply === 354) break;
        else {
          if (this.#state === State.InData) this.#endData();
          this.#state = reply === 421 ? State.Quit : State.Ready;
        }
        break;
      case Cmd.BDAT:
        if (reply === 0) this.#state = State.InBdat;
        break;
      case Cmd.END_OF_DATA:
        if (reply === 0) {
          this.#endData();
          this.#state = State.AfterData;
        }
        if (reply > 0) this.#state = State.Ready;
        break;
      case Cmd.RSET:
        if (reply === 0) this.#state = State.Ready;
        break;
      case Cmd.QUIT:
        if (reply === 0) this.#state = State.Quit;
        break;
      case Cmd.AUTH:
      case Cmd.AUTH_ANSWER:
        if (reply === 334) this.#state = State.InAuth;
        else if (reply !== 0) this.#state = State.Initiated;
        break;
      case Cmd.TURN:
        if (reply === 250) {
          this.#origIsSender = !this.#origIsSender;
          this.#state = State.Connected;
        }
        break;
      case Cmd.STARTTLS:
      case Cmd.X_ANONYMOUSTLS:
        if (reply === 220) this.#startTls();
        break;
      default:
        if (st === State.GapRecovery && reply === 354) this.#beginData(State.InData);
        void orig;
    }
  }

  #startTls(): void {
    this.#state = State.InTls;
    this.#tls.start(this.#host);
    const rest = this.#delivering?.takeRest();
    this.#orig.stop();
    this.#resp.stop();
    if (rest !== undefined) this.#tls.stream(rest, this.#isOrig);
  }
}

/** `ParseCmd`: the code of a command word (ASCII case-insensitive), or -1. */
function parseCommand(line: Uint8Array, length: number): number {
  if (length === 0 || length > LONGEST_WORD) return -1;
  const word = asciiUpper(line.subarray(0, length));
  if (word === "X-ANONYMOUSTLS") return Cmd.X_ANONYMOUSTLS;
  return (WORDS as readonly string[]).indexOf(word);
}

const LONGEST_WORD = 18;

/** `parse_bdat_arg`: the chunk size and whether it is the last, or Zeek's error text. */
export function parseBdatArgument(
  arg: Uint8Array,
  length: number,
): { size: bigint; last: boolean } | string {
  if (length <= 0 || length > MAX_BDAT_ARG) return "BDAT argument bad length";
  if (!isDigit(arg[0])) return "BDAT not followed by a valid chunk-size";
  let i = 0;
  while (i < length && isDigit(arg[i])) i++;
  const size = BigInt(String.fromCharCode(...arg.subarray(0, i)));
  if (i < length && arg[i] !== 32 && arg[i] !== 0) return "BDAT chunk-size not valid";
  if (size > 0xffffffffffffffffn) return "BDAT chunk-size too large";
  if (i === length) return { size, last: false };
  const rest = asciiUpper(arg.subarray(i, length));
  const last = rest.slice(0, 5) === " LAST";
  if (!last || rest.length !== 5) return "BDAT chunk-size followed by junk";
  return { size, last };
}

/** Zeek's SMTP analyzer, reduced to its hand-off to SSL. */
export const SMTP_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "SMTP",
  ports: SMTP_PORTS,
  serverPorts: SMTP_PORTS,
  signatures: SMTP_SIGNATURES,
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new SmtpAnalyzer(host),
});
