/**
 * Zeek's `HTTP_Analyzer` for one connection (Z: src/analyzer/protocol/http/
 * HTTP.cc; research note §1): each direction through a `ContentLine`,
 * request and status lines, one `HttpMessage` per request and reply, the
 * unanswered requests (whether a reply has a body depends on its
 * request's method), HTTP/0.9 replies, content gaps, CONNECT and upgrades
 * handing the rest of the connection to protocol detection. What the
 * scripts do with it is `HttpSession`'s.
 *
 * @module
 */

import { latin1String } from "../../../zeek/mod.ts";
import type { AnalyzedFile, FileAnalysis } from "../files/mod.ts";
import type { AnalyzerHost, StreamAnalyzer } from "../framework/mod.ts";
import { ContentLine, type LineFlags } from "./content_line.ts";
import { BodyExpectation, HttpMessage, type MessageHost } from "./http_message.ts";
import { type HttpScriptOptions, HttpSession } from "./http_session.ts";
import { type MimeHeader, valueToken } from "./mime.ts";
import { type HttpVersion, parseReplyLine, parseRequestLine, versionText } from "./request_line.ts";

const enum RequestState {
  Line,
  Message,
  Nothing,
}

const enum ReplyState {
  Line,
  Message,
  Nothing,
  Http09,
}

/** Options of the HTTP analyzer and its scripts. */
export interface HttpOptions extends HttpScriptOptions {
  /** Decoded bytes one gzip/deflate body may inflate to (weird `inflate_output_limit` past it). */
  readonly maxInflatedBytes?: number;
}

/** One connection's HTTP analysis. */
export class HttpAnalyzer implements StreamAnalyzer, MessageHost {
  readonly #host: AnalyzerHost;
  readonly session: HttpSession;
  readonly maxInflatedBytes: number;
  readonly #orig: ContentLine;
  readonly #resp: ContentLine;
  #numRequests = 0;
  #numReplies = 0;
  #keepAlive = false;
  #connectionClose = false;
  #requestMessage: HttpMessage | undefined;
  #replyMessage: HttpMessage | undefined;
  #requestState = RequestState.Line;
  #replyState = ReplyState.Line;
  #requestOngoing = false;
  #replyOngoing = false;
  #replyCode = 0;
  #requestVersion: HttpVersion = 0;
  #replyVersion: HttpVersion = 0;
  #connectRequest = false;
  /** The rest of the connection went to protocol detection (CONNECT, upgrade). */
  #handedOff = false;
  #upgradeConnection = false;
  #upgradeProtocol = "";
  /** Methods of the requests not answered yet (`unanswered_requests`). */
  readonly #unanswered: string[] = [];
  #finished = false;

  constructor(host: AnalyzerHost, files: FileAnalysis, options: HttpOptions) {
    this.#host = host;
    this.session = new HttpSession(host, files, options);
    this.maxInflatedBytes = options.maxInflatedBytes ?? Number.MAX_SAFE_INTEGER;
    const flags: LineFlags = { singleCr: false, singleLf: false };
    const weird = (name: string) => host.weird(name, undefined, "CONTENTLINE");
    this.#orig = new ContentLine({
      line: (line) => this.#requestLine(line),
      plain: (data) => this.#plain(data, true),
      weird,
    }, flags);
    this.#resp = new ContentLine({
      line: (line) => this.#replyLine(line),
      plain: (data) => this.#plain(data, false),
      weird,
    }, flags);
  }

  // StreamAnalyzer

  stream(data: Uint8Array, isOrig: boolean): void {
    if (this.#host.partial() || this.#handedOff || this.#finished) return;
    if (!isOrig && this.#replyState === ReplyState.Http09) this.#http09Reply(data);
    else (isOrig ? this.#orig : this.#resp).deliver(data);
    this.session.drain();
  }

  undelivered(_seq: number, len: number, isOrig: boolean): void {
    if (this.#host.partial() || this.#handedOff || this.#finished) return;
    const message = isOrig ? this.#requestMessage : this.#replyMessage;
    if (message === undefined || !message.undelivered(len)) {
      if (isOrig) {
        this.#requestMade(true);
        this.#replyMade(true);
      } else this.#replyMade(true);
      (isOrig ? this.#orig : this.#resp).skipDeliveries();
    }
    this.session.drain();
  }

  /**
   * Nothing to do on a FIN or RST itself: messages end at `endOfStream`,
   * once everything up to it was delivered (Zeek's `EndpointEOF`; a RST
   * ends its side there too). Zeek's `ConnectionReset` also ends the other
   * side's message at once; here that happens when the connection ends, and
   * only the `interrupted` flag of `http_message_done`, which no log shows,
   * can tell.
   */
  closed(_isOrig: boolean): void {}

  endOfStream(isOrig: boolean): void {
    if (this.#host.partial() || this.#finished) return;
    if (!this.#handedOff) (isOrig ? this.#orig : this.#resp).endOfStream();
    if (isOrig) this.#requestMade(false);
    else this.#replyMade(false);
    this.session.drain();
  }

  done(): void {
    if (this.#finished) return;
    this.#requestMade(true);
    this.#replyMade(true);
    this.#finished = true;
    // `file_mgr->EndOfFile(tag, conn, true)`: the request side's file, if still open.
    const file = this.session.lookupFile(true);
    if (file !== undefined) this.session.removeFile(file);
    this.session.finish();
  }

  // MessageHost

  weird(name: string, addl?: string, source?: string): void {
    this.#host.weird(name, addl, source);
  }

  limitWeird(name: string, n: number): void {
    this.#host.history("X");
    this.#host.weird(name, String(n));
  }

  replyCode(): number {
    return this.#replyCode;
  }

  transferVersion(): number {
    return this.#requestOngoing ? this.#requestVersion : this.#replyVersion;
  }

  connectionClose(): boolean {
    return this.#connectionClose;
  }

  header(isOrig: boolean, h: MimeHeader): void {
    const name = h.name.toLowerCase();
    if (name === "connection") {
      const token = firstToken(h.value);
      if (isOrig) {
        if (token === "keep-alive") this.#keepAlive = true;
      } else if (token === "close") this.#connectionClose = true;
      else if (token === "upgrade") this.#upgradeConnection = true;
    } else if (!isOrig && name === "upgrade") {
      this.#upgradeProtocol = firstTokenRaw(h.value);
    }
    this.session.header(isOrig, h.name, h.value);
  }

  beginEntity(isOrig: boolean): void {
    this.session.beginEntity(isOrig);
  }

  endEntity(isOrig: boolean): void {
    this.session.endEntity(isOrig);
  }

  messageDone(isOrig: boolean, _interrupted: boolean, bodyLength: number): void {
    this.session.messageDone(isOrig, bodyLength);
    if (isOrig) this.#requestMade(false);
    else this.#replyMade(false);
  }

  fileData(
    isOrig: boolean,
    file: AnalyzedFile | undefined,
    data: Uint8Array,
    offset: number | undefined,
  ): AnalyzedFile | undefined {
    const f = file ?? this.session.file(isOrig, offset !== undefined);
    if (f === undefined) return undefined;
    f.lastActive = this.#host.now();
    f.dataIn(data, offset);
    return f.done ? undefined : f;
  }

  fileSize(
    isOrig: boolean,
    file: AnalyzedFile | undefined,
    size: number | bigint,
  ): AnalyzedFile | undefined {
    const f = file ?? this.session.file(isOrig, true);
    if (f === undefined) return undefined;
    f.lastActive = this.#host.now();
    f.setTotal(size);
    return f.done ? undefined : f;
  }

  fileGap(
    isOrig: boolean,
    file: AnalyzedFile | undefined,
    offset: number,
    len: number,
  ): AnalyzedFile | undefined {
    const f = file ?? this.session.file(isOrig, true);
    if (f === undefined) return undefined;
    f.lastActive = this.#host.now();
    f.gap(offset, len);
    return f.done ? undefined : f;
  }

  fileEnd(isOrig: boolean, file: AnalyzedFile | undefined): void {
    const f = file ?? this.session.lookupFile(isOrig);
    if (f !== undefined) this.session.removeFile(f);
  }

  // The protocol

  #plain(data: Uint8Array, isOrig: boolean): void {
    const message = isOrig ? this.#requestMessage : this.#replyMessage;
    if (message !== undefined) message.deliver(data, false);
    else this.#host.weird(isOrig ? "unexpected_client_HTTP_data" : "unexpected_server_HTTP_data");
  }

  #requestLine(bytes: Uint8Array): void {
    if (this.#requestState === RequestState.Message) {
      this.#requestMessage!.deliver(bytes, true);
      return;
    }
    if (this.#requestState !== RequestState.Line) return;
    const line = latin1String(bytes, 0, bytes.length);
    const weird = (name: string, addl?: string) => this.#host.weird(name, addl);
    const request = parseRequestLine(line, weird, (v) => this.#setVersion(true, v));
    if (request === undefined) {
      if (this.#numRequests === 0 || this.#keepAlive) {
        if (bytes.length === 0) weird("empty_http_request");
        else {
          this.#host.violate("not a http request line", bytes);
          this.#requestState = RequestState.Nothing;
        }
      }
      return;
    }
    ++this.#numRequests;
    if (!this.#keepAlive && this.#numRequests > 1) weird("unexpected_multiple_HTTP_requests");
    this.#requestState = RequestState.Message;
    this.#requestOngoing = true;
    this.#unanswered.push(request.method);
    this.#host.confirm();
    if (prefixOf(request.method, "CONNECT")) this.#connectRequest = true;
    this.session.request(
      request.method,
      request.uri,
      request.unescapedUri,
      versionText(this.#requestVersion),
    );
    this.#requestMessage = this.#newMessage(
      this.#requestMessage,
      true,
      BodyExpectation.Maybe,
      bytes.length,
    );
    if (this.#requestVersion === 9) {
      if (request.method !== "GET") weird("invalid_http_09_request_method", request.method);
      if (this.#replyMessage !== undefined) {
        weird("http_09_reply_before_request");
        this.#replyMessage.done();
        this.#replyMessage = undefined;
      }
      this.#replyState = ReplyState.Http09;
    }
  }

  #replyLine(bytes: Uint8Array): void {
    if (this.#replyState === ReplyState.Message) {
      this.#replyMessage!.deliver(bytes, true);
      if (this.#connectRequest && bytes.length === 0 && !this.#handedOff) this.#tunnel();
      return;
    }
    if (this.#replyState !== ReplyState.Line) return;
    const line = latin1String(bytes, 0, bytes.length);
    const reply = parseReplyLine(
      line,
      (name, addl) => this.#host.weird(name, addl),
      (v) => this.#setVersion(false, v),
    );
    if (reply === undefined) {
      if (bytes.length > 0) {
        this.#host.violate("not a http reply line", bytes);
        this.#replyState = ReplyState.Nothing;
      }
      return;
    }
    ++this.#numReplies;
    this.#replyCode = reply.code;
    if (this.#unanswered.length > 0) this.#host.confirm();
    this.#replyState = ReplyState.Message;
    this.#replyOngoing = true;
    this.session.reply(versionText(this.#replyVersion), reply.code, reply.reason);
    if (this.#connectRequest && reply.code !== 200) this.#connectRequest = false;
    this.#replyMessage = this.#newMessage(
      this.#replyMessage,
      false,
      this.#expectReplyBody(),
      bytes.length,
    );
  }

  /** A reply to an HTTP/0.9 request: everything the server sends is its body. */
  #http09Reply(data: Uint8Array): void {
    if (this.#replyMessage === undefined) {
      this.#setVersion(false, 9);
      if (this.#unanswered.length > 0) {
        this.#host.confirm();
        this.#unanswered.shift();
      }
      this.#connectionClose = true;
      this.#replyOngoing = true;
      this.session.reply(versionText(this.#replyVersion), this.#replyCode, undefined);
      this.#replyMessage = this.#newMessage(undefined, false, this.#expectReplyBody(), 0);
      this.#replyMessage.deliver(EMPTY, true);
    }
    this.#replyMessage.deliver(data, false);
  }

  /** `InitHTTPMessage`. */
  #newMessage(
    previous: HttpMessage | undefined,
    isOrig: boolean,
    expectBody: BodyExpectation,
    headerLength: number,
  ): HttpMessage {
    if (previous !== undefined && !previous.finished) this.#host.weird("HTTP_overlapping_messages");
    return new HttpMessage(
      this,
      isOrig ? this.#orig : this.#resp,
      isOrig,
      expectBody,
      headerLength,
      this.#host.now(),
    );
  }

  /** `ExpectReplyMessageBody`. */
  #expectReplyBody(): BodyExpectation {
    const method = this.#unanswered[0];
    if (method !== undefined && prefixOf(method, "HEAD")) return BodyExpectation.NotExpected;
    const code = this.#replyCode;
    if ((code >= 100 && code < 200) || code === 204 || code === 304) {
      return BodyExpectation.NotExpected;
    }
    return BodyExpectation.Expected;
  }

  /** `SetVersion`: a change of a side's version is `HTTP_version_mismatch`. */
  #setVersion(isOrig: boolean, v: HttpVersion): void {
    const current = isOrig ? this.#requestVersion : this.#replyVersion;
    if (current !== 0 && current !== v) this.#host.weird("HTTP_version_mismatch");
    if (isOrig) this.#requestVersion = v;
    else this.#replyVersion = v;
    if (v > 10) this.#keepAlive = true;
  }

  /** `RequestMade`. */
  #requestMade(interrupted: boolean): void {
    if (!this.#requestOngoing) return;
    this.#requestOngoing = false;
    this.#requestMessage?.done(interrupted);
    this.#requestState = interrupted ? RequestState.Nothing : RequestState.Line;
  }

  /** `ReplyMade`. */
  #replyMade(interrupted: boolean): void {
    if (!this.#replyOngoing) return;
    this.#replyOngoing = false;
    this.#replyMessage?.done(interrupted);
    const code = this.#replyCode;
    if ((code < 100 || code >= 200) && this.#unanswered.length > 0) this.#unanswered.shift();
    if (
      code === 101 && this.#unanswered.length === 1 && this.#upgradeConnection &&
      this.#upgradeProtocol !== ""
    ) this.#upgrade();
    this.#replyCode = 0;
    this.#upgradeConnection = false;
    this.#upgradeProtocol = "";
    this.#replyState = interrupted || this.#handedOff ? ReplyState.Nothing : ReplyState.Line;
  }

  /** A successful CONNECT: the rest of the connection is the tunnelled protocol's. */
  #tunnel(): void {
    this.#handOff("protocol_data_with_HTTP_CONNECT_reply");
  }

  /** `HTTP_Upgrade`: weir has no upgrade analyzers (WebSocket), so detection takes over. */
  #upgrade(): void {
    this.#handOff("protocol_data_with_HTTP_upgrade_reply");
  }

  #handOff(weird: string): void {
    const rest = this.#resp.takeRest();
    if (rest.length > 0) this.#host.weird(weird, String(rest.length));
    this.#orig.skipDeliveries();
    this.#handedOff = true;
    this.#host.detectProtocol(rest, false);
  }
}

/** `strncasecmp(method, word, len(method)) == 0`: `HEA` and `c` count as HEAD and CONNECT. */
function prefixOf(method: string, word: string): boolean {
  return method.length <= word.length && word.slice(0, method.length) === method.toUpperCase();
}

/** A header value's first token (`get_value_token`), lower-cased for comparison. */
function firstToken(value: string): string {
  return firstTokenRaw(value).toLowerCase();
}

function firstTokenRaw(value: string): string {
  return valueToken(value)?.token ?? "";
}

const EMPTY = new Uint8Array(0);
