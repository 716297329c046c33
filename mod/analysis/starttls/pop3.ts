/**
 * Zeek's POP3 analyzer as far as STLS needs it (Z: src/analyzer/protocol/
 * pop3/POP3.cc, scripts/base/protocols/pop3/dpd.sig): lines through a
 * ContentLine; client commands queued until answered (pipelining); the
 * command state machine that decides which server lines are status lines
 * (`+OK`, `-ERR`) and which are the body of a multi-line answer (CAPA,
 * LIST, UIDL, RETR, TOP, AUTH without argument) or a SASL exchange.
 *
 * `+OK` to USER, CAPA or STLS confirms; `+OK` to STLS turns the connection
 * to TLS. A status line that is neither `+OK` nor `-ERR` nor a command
 * word (outside a SASL exchange) is a violation, as are more than
 * `POP3::max_unknown_client_commands` (10) unknown client commands.
 * POP3 registers no ports: DPD finds it (`+OK` from the server and a
 * POP3 command from the client).
 *
 * Not ported: mail bodies, events, the AUTH credentials (only whether
 * they decode, for `pop3_bad_base64_encoding` and
 * `pop3_malformed_auth_plain`).
 *
 * @module
 */

import type { AnalyzerHost, AnalyzerSpec, DpdSignature, StreamAnalyzer } from "../framework/mod.ts";
import { asciiUpper } from "./ascii.ts";
import { decodeBase64 } from "./base64.ts";
import { TlsHandoff } from "./handoff.ts";
import { type LineFlags, LineSplitter } from "./line_splitter.ts";

/** `dpd_pop3_server`, which requires `dpd_pop3_client` on the other side. */
export const POP3_SIGNATURES: readonly DpdSignature[] = Object.freeze([{
  name: "dpd_pop3_server",
  proto: "tcp",
  direction: "responder",
  payload: /^\+OK/,
  reverse: {
    name: "dpd_pop3_client",
    direction: "originator",
    // (|.*[\r\n])[[:space:]]*(user…|stls): the last line end of the
    // whitespace before the word is one with only blanks after it.
    payload:
      /(?:^|[\r\n])[\t\v\f ]*(?:[uU][sS][eE][rR][\t\n\v\f\r ]|[aA][pP][oO][pP][\t\n\v\f\r ]|[cC][aA][pP][aA]|[aA][uU][tT][hH]|[sS][tT][lL][sS])/,
  },
}]);

/** `POP3::max_pending_commands`. */
export const DEFAULT_POP3_MAX_PENDING_COMMANDS = 10;
/** `POP3::max_unknown_client_commands`. */
export const DEFAULT_POP3_MAX_UNKNOWN_CLIENT_COMMANDS = 10;

/** `POP3_cmd.def`, in order (`END` excluded). */
const WORDS = [
  "OK",
  "ERR",
  "USER",
  "PASS",
  "APOP",
  "AUTH",
  "STAT",
  "LIST",
  "RETR",
  "DELE",
  "RSET",
  "NOOP",
  "LAST",
  "QUIT",
  "TOP",
  "CAPA",
  "UIDL",
  "STLS",
  "XSENDER",
];

const enum Cmd {
  OK,
  ERR,
  USER,
  PASS,
  APOP,
  AUTH,
  STAT,
  LIST,
  RETR,
  DELE,
  RSET,
  NOOP,
  LAST,
  QUIT,
  TOP,
  CAPA,
  UIDL,
  STLS,
  XSENDER,
}

const enum Master {
  Start,
  Authorization,
  Transaction,
  Update,
  Finished,
}

const enum St {
  Start,
  User,
  Pass,
  Apop,
  Auth,
  AuthPlain,
  AuthLogin,
  AuthCramMd5,
  Noop,
  Last,
  Stat,
  List,
  Retr,
  Dele,
  Uidl,
  Top,
  Quit,
  Rset,
  Capa,
  Stls,
  Xsender,
}

/** One connection's POP3. */
export class Pop3Analyzer implements StreamAnalyzer {
  readonly #host: AnalyzerHost;
  readonly #orig: LineSplitter;
  readonly #resp: LineSplitter;
  readonly #tls = new TlsHandoff();
  #master = Master.Start;
  #state = St.Start;
  #lastState = St.Start;
  #guessing = false;
  #waitingForAuthentication = false;
  #requestForMultiLine = false;
  #multiLine = false;
  #unknownClientCommands = 0;
  /** Client lines not answered yet (trimmed text, one char per byte). */
  readonly #cmds: string[] = [];
  #delivering: LineSplitter | undefined;
  #isOrig = true;

  constructor(host: AnalyzerHost) {
    this.#host = host;
    const flags: LineFlags = { singleCr: false, nul: false };
    const weird = (name: string, addl?: string) => host.weird(name, addl, "CONTENTLINE");
    this.#orig = new LineSplitter({ line: (head, n) => this.#request(head, n) }, flags, { weird });
    this.#resp = new LineSplitter({ line: (head, n) => this.#reply(head, n) }, flags, { weird });
  }

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#tls.active) return this.#tls.stream(data, isOrig);
    if (this.#host.partial()) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.deliver(data);
    this.#delivering = undefined;
  }

  undelivered(_seq: number, _len: number, _isOrig: boolean): void {}

  closed(_isOrig: boolean): void {}

  endOfStream(isOrig: boolean): void {
    if (this.#tls.active || this.#host.partial()) return;
    const splitter = isOrig ? this.#orig : this.#resp;
    this.#delivering = splitter;
    this.#isOrig = isOrig;
    splitter.endOfStream();
    this.#delivering = undefined;
  }

  done(): void {}

  /** `ProcessRequest`. */
  #request(head: Uint8Array, length: number): void {
    if (this.#tls.active || length === 0) return;
    // Zeek reads the line as a C string: it ends at the first NUL.
    const line = cString(head);
    if (this.#waitingForAuthentication) {
      this.#authLine(line);
      return;
    }
    this.#cmds.push(latin1(line));
    if (this.#cmds.length > DEFAULT_POP3_MAX_PENDING_COMMANDS) {
      this.#host.weird("pop3_client_too_many_pending_commands");
      this.#cmds.shift();
    }
    if (this.#cmds.length === 1) this.#clientCommand();
  }

  /** A line of a SASL exchange: only whether it decodes matters here. */
  #authLine(line: Uint8Array): void {
    const weird = (name: string, addl: string) => this.#host.weird(name, addl, "");
    const decoded = decodeBase64(line, weird);
    if (decoded === undefined) {
      this.#host.weird("pop3_bad_base64_encoding");
      return;
    }
    if (this.#state === St.AuthPlain) {
      let s = 0;
      while (s < decoded.length && decoded[s] !== 0) s++;
      s++;
      let e = s;
      while (e < decoded.length && decoded[e] !== 0) e++;
      if (e >= decoded.length || e + 1 >= decoded.length) {
        this.#host.weird("pop3_malformed_auth_plain");
      }
    }
  }

  /** `ProcessClientCmd`: the command at the head of the queue. */
  #clientCommand(): void {
    const text = this.#cmds[0];
    if (text === undefined) return;
    const [first, message] = tokenize(trimWhitespace(text));
    const cmd = first === undefined ? -1 : parseCommand(first);
    if (cmd < 0) {
      if (!this.#waitingForAuthentication) {
        this.#host.weird("pop3_client_command_unknown", first ?? "???");
        ++this.#unknownClientCommands;
        if (this.#unknownClientCommands > DEFAULT_POP3_MAX_UNKNOWN_CLIENT_COMMANDS) {
          this.#host.violate("too many unknown client commands");
        }
      }
      return;
    }
    const noArgument = message === "";
    const inTransaction = this.#master === Master.Transaction;
    const guess = (state: St) => {
      this.#guessing = true;
      this.#lastState = state;
    };
    switch (cmd) {
      case Cmd.OK:
      case Cmd.ERR:
        this.#host.weird("pop3_client_sending_server_commands");
        break;
      case Cmd.USER:
        if (this.#master === Master.Authorization) this.#state = St.User;
        break;
      case Cmd.PASS:
        if (this.#master === Master.Authorization && this.#state === St.User) {
          this.#state = St.Pass;
        }
        break;
      case Cmd.APOP:
        if (this.#master === Master.Authorization) this.#state = St.Apop;
        break;
      case Cmd.AUTH:
        if (this.#master !== Master.Authorization) break;
        if (noArgument) {
          this.#requestForMultiLine = true;
          this.#state = St.Auth;
        } else {
          if (message.includes("LOGIN")) this.#state = St.AuthLogin;
          else if (message.includes("PLAIN")) this.#state = St.AuthPlain;
          else if (message.includes("CRAM-MD5")) this.#state = St.AuthCramMd5;
          else this.#state = St.Auth;
          this.#waitingForAuthentication = true;
        }
        break;
      case Cmd.STAT:
        if (inTransaction) this.#state = St.Stat;
        break;
      case Cmd.LIST:
      case Cmd.UIDL: {
        const state = cmd === Cmd.LIST ? St.List : St.Uidl;
        if (noArgument) this.#requestForMultiLine = true;
        if (inTransaction) this.#state = state;
        else guess(state);
        break;
      }
      case Cmd.RETR:
      case Cmd.TOP:
        this.#requestForMultiLine = true;
        if (inTransaction) this.#state = cmd === Cmd.RETR ? St.Retr : St.Top;
        else guess(cmd === Cmd.RETR ? St.Retr : St.Top);
        break;
      case Cmd.DELE:
      case Cmd.RSET:
      case Cmd.NOOP:
      case Cmd.LAST: {
        const state = cmd === Cmd.DELE
          ? St.Dele
          : cmd === Cmd.RSET
          ? St.Rset
          : cmd === Cmd.NOOP
          ? St.Noop
          : St.Last;
        if (inTransaction) this.#state = state;
        else guess(state);
        break;
      }
      case Cmd.QUIT:
        if (this.#master <= Master.Transaction) this.#state = St.Quit;
        else guess(St.Last);
        break;
      case Cmd.CAPA:
        this.#state = St.Capa;
        this.#requestForMultiLine = true;
        break;
      case Cmd.STLS:
        this.#state = St.Stls;
        break;
      case Cmd.XSENDER:
        // Zeek's XSENDER state is LAST.
        if (inTransaction) this.#state = St.Last;
        else guess(St.Xsender);
        break;
    }
  }

  #finishClientCommand(): void {
    if (this.#cmds.length === 0) return;
    this.#cmds.shift();
    this.#clientCommand();
  }

  /** `ProcessReply`. */
  #reply(head: Uint8Array, length: number): void {
    if (this.#tls.active) return;
    if (this.#multiLine) {
      const terminator = head[0] === 46 &&
        (length === 1 || head[1] === 10 || (length > 2 && head[1] === 13 && head[2] === 10));
      if (terminator) {
        this.#requestForMultiLine = false;
        this.#multiLine = false;
        this.#finishClientCommand();
      }
      return;
    }
    const line = cString(head);
    const [first] = tokenize(trimWhitespace(latin1(line)));
    const cmd = first === undefined ? -1 : parseCommand(first);
    if (cmd < 0) {
      if (!this.#waitingForAuthentication) {
        this.#host.violate(`unknown server command (${first ?? "???"})`, line);
        this.#host.weird("pop3_server_command_unknown", first ?? "???");
      }
      return;
    }
    if (cmd === Cmd.OK) this.#ok();
    else if (cmd === Cmd.ERR) this.#err();
    else this.#host.weird("pop3_server_sending_client_commands");
  }

  #ok(): void {
    if (this.#guessing) {
      this.#master = Master.Transaction;
      this.#guessing = false;
      this.#state = this.#lastState;
    }
    switch (this.#state) {
      case St.Start:
        this.#master = Master.Authorization;
        break;
      case St.User:
        this.#master = Master.Authorization;
        this.#host.confirm();
        break;
      case St.Pass:
      case St.Apop:
      case St.Noop:
      case St.Last:
      case St.Stat:
      case St.Rset:
      case St.Dele:
      case St.Xsender:
        this.#master = Master.Transaction;
        break;
      case St.Auth:
      case St.AuthPlain:
      case St.AuthCramMd5:
      case St.AuthLogin:
        if (this.#requestForMultiLine) this.#multiLine = true;
        if (this.#waitingForAuthentication) this.#master = Master.Transaction;
        this.#waitingForAuthentication = false;
        break;
      case St.Top:
      case St.Retr:
      case St.Uidl:
      case St.List:
        if (this.#requestForMultiLine) this.#multiLine = true;
        break;
      case St.Capa:
        this.#host.confirm();
        if (this.#requestForMultiLine) this.#multiLine = true;
        break;
      case St.Stls:
        this.#host.confirm();
        this.#startTls();
        return;
      case St.Quit:
        if (this.#master === Master.Authorization || this.#master === Master.Start) {
          this.#master = Master.Finished;
        } else if (this.#master === Master.Transaction) this.#master = Master.Update;
        break;
    }
    if (!this.#multiLine) this.#finishClientCommand();
  }

  #err(): void {
    this.#multiLine = false;
    this.#requestForMultiLine = false;
    this.#guessing = false;
    this.#waitingForAuthentication = false;
    switch (this.#state) {
      case St.User:
      case St.Pass:
      case St.Apop:
      case St.Auth:
      case St.AuthLogin:
      case St.AuthPlain:
      case St.AuthCramMd5:
        this.#master = Master.Authorization;
        this.#state = St.Start;
        break;
      case St.Noop:
      case St.Last:
      case St.Stat:
      case St.Rset:
      case St.Dele:
      case St.List:
      case St.Retr:
      case St.Uidl:
      case St.Top:
      case St.Xsender:
        this.#master = Master.Transaction;
        break;
      case St.Quit:
        if (this.#master <= Master.Transaction) this.#master = Master.Finished;
        break;
    }
    this.#finishClientCommand();
  }

  #startTls(): void {
    this.#tls.start(this.#host);
    const rest = this.#delivering?.takeRest();
    this.#orig.stop();
    this.#resp.stop();
    if (rest !== undefined) this.#tls.stream(rest, this.#isOrig);
  }
}

/** The bytes up to the first NUL. */
function cString(bytes: Uint8Array): Uint8Array {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) s += String.fromCharCode(c);
  return s;
}

/**
 * `trim_whitespace`: leading blanks and tabs go, runs of blanks become one,
 * trailing blanks go.
 */
function trimWhitespace(s: string): string {
  let i = 0;
  while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  return s.slice(i).replace(/ +/g, " ").replace(/ $/, "");
}

/** `TokenizeLine(…, ' ')`: the first word and the rest. */
function tokenize(s: string): [string | undefined, string] {
  if (s === "") return [undefined, ""];
  const space = s.indexOf(" ");
  if (space < 0) return [s, ""];
  const first = s.slice(0, space);
  const rest = s.slice(space + 1);
  return first === "" ? [rest, ""] : [first, rest];
}

/** `ParseCmd`: each try strips a leading `+` or `-` and compares upper-cased. */
function parseCommand(word: string): number {
  let cmd = word;
  for (let code = 0; code < WORDS.length; code++) {
    if (cmd[0] === "+" || cmd[0] === "-") cmd = cmd.slice(1);
    cmd = asciiUpperString(cmd);
    if (cmd === WORDS[code]) return code;
  }
  return -1;
}

function asciiUpperString(s: string): string {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return asciiUpper(bytes);
}

/** Zeek's POP3 analyzer, reduced to its hand-off to SSL (DPD only: no ports). */
export const POP3_ANALYZER: AnalyzerSpec = Object.freeze({
  name: "POP3",
  ports: [],
  serverPorts: [],
  signatures: POP3_SIGNATURES,
  createStreamAnalyzer: (host: AnalyzerHost): StreamAnalyzer => new Pop3Analyzer(host),
});
