/**
 * What Zeek's HTTP scripts do with the analyzer's events, per connection
 * (Z: scripts/base/protocols/http/{main,entities,files}.zeek; research
 * note §1.7, §1.9, §2.1): the pending `HTTP::Info` records that pair
 * requests with replies (pipelining, 1xx replies, replies without
 * requests), the client headers http.log shows, Basic authentication, the
 * file handles and the fuids, filenames and MIME types of the entities,
 * and when a row is written.
 *
 * Zeek runs these handlers from its event queue, after the analyzer has
 * handled the packet; weirds the scripts raise are therefore reported at
 * the end of the delivery (or when a file handle drains the queue), after
 * the analyzer's own weirds of the same packet.
 *
 * @module
 */

import {
  formatHandleTime,
  latin1LogValue,
  latin1String,
  T,
  type ZeekValue,
} from "../../../zeek/mod.ts";
import type { LogStream } from "../../log/mod.ts";
import { CONNECTION_TYPE } from "../conn/mod.ts";
import type { AnalyzedFile, FileAnalysis, FileConn } from "../files/mod.ts";
import type { AnalyzerHost, ConnEndpoints } from "../framework/mod.ts";
import { httpStreamOf } from "./http_log.ts";
import { Base64Decoder } from "./mime.ts";
import { unescapeUri } from "./request_line.ts";

/** `HTTP::http_methods`: other methods are `unknown_HTTP_method`. */
const HTTP_METHODS = new Set([
  "GET",
  "POST",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
  "TRACE",
  "CONNECT",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "POLL",
  "REPORT",
  "SUBSCRIBE",
  "BMOVE",
  "SEARCH",
  "QUERY",
]);

/** `HTTP::proxy_headers`. */
const PROXY_HEADERS = new Set([
  "FORWARDED",
  "X-FORWARDED-FOR",
  "X-FORWARDED-FROM",
  "CLIENT-IP",
  "VIA",
  "XROXY-CONNECTION",
  "PROXY-CONNECTION",
]);

/** `HTTP::max_pending_requests`. */
export const MAX_PENDING_REQUESTS = 100;
/** `HTTP::max_files_orig` and `HTTP::max_files_resp`. */
export const MAX_FILES = 15;

/** The events of the HTTP scripts that site scripts can handle. */
export const HTTP_EVENTS = [
  ["http_request", [
    ["c", CONNECTION_TYPE],
    ["method", T.string],
    ["original_URI", T.string],
    ["unescaped_URI", T.string],
    ["version", T.string],
  ]],
  ["http_reply", [["c", CONNECTION_TYPE], ["version", T.string], ["code", T.count], [
    "reason",
    T.string,
  ]]],
  ["http_header", [["c", CONNECTION_TYPE], ["is_orig", T.bool], ["original_name", T.string], [
    "name",
    T.string,
  ], ["value", T.string]]],
] as const;

/** Options of the HTTP scripts. */
export interface HttpScriptOptions {
  /** `HTTP::default_capture_password` (default false): log Basic auth passwords. */
  readonly capturePassword?: boolean;
}

/** One `HTTP::Info` record. */
class HttpInfo {
  readonly ts: number;
  readonly uid: string;
  readonly id: ConnEndpoints;
  readonly transDepth: number;
  method: string | undefined;
  host: string | undefined;
  uri: string | undefined;
  referrer: string | undefined;
  version: string | undefined;
  userAgent: string | undefined;
  origin: string | undefined;
  requestBodyLen = 0;
  responseBodyLen = 0;
  statusCode: number | undefined;
  statusMsg: string | undefined;
  infoCode: number | undefined;
  infoMsg: string | undefined;
  username: string | undefined;
  password: string | undefined;
  proxied: string[] | undefined;
  rangeRequest = false;
  origFuids: string[] | undefined;
  origFilenames: string[] | undefined;
  origMimeTypes: string[] | undefined;
  respFuids: string[] | undefined;
  respFilenames: string[] | undefined;
  respMimeTypes: string[] | undefined;
  /** `current_entity`: present between `http_begin_entity` and `http_end_entity`. */
  entity: { filename: string | undefined } | undefined;
  origMimeDepth = 0;
  respMimeDepth = 0;

  constructor(ts: number, uid: string, id: ConnEndpoints, transDepth: number) {
    this.ts = ts;
    this.uid = uid;
    this.id = id;
    this.transDepth = transDepth;
  }
}

/** The HTTP script state of one connection (`c$http_state`, `c$http`). */
export class HttpSession {
  readonly #host: AnalyzerHost;
  readonly #analysis: FileAnalysis;
  readonly #options: HttpScriptOptions;
  #stream: LogStream | undefined;
  readonly #pending = new Map<number, HttpInfo>();
  #currentRequest = 0;
  #currentResponse = 0;
  #transDepth = 0;
  /** `c$http`: the record the last handler picked. */
  #http: HttpInfo | undefined;
  /** Weirds raised by the scripts, reported when the event queue would drain. */
  #weirds: [string, string, string][] = [];
  #fileConn: FileConn | undefined;
  /** Files this connection opened that may still be open (looking one up costs a handle). */
  #files: AnalyzedFile[] = [];

  constructor(host: AnalyzerHost, files: FileAnalysis, options: HttpScriptOptions) {
    this.#host = host;
    this.#analysis = files;
    this.#options = options;
  }

  /** Reports the weirds the scripts raised since the last drain. */
  drain(): void {
    if (this.#weirds.length === 0) return;
    const weirds = this.#weirds;
    this.#weirds = [];
    for (const [name, addl, source] of weirds) this.#host.weird(name, addl, source);
  }

  #scriptWeird(name: string, addl = "", source = ""): void {
    this.#weirds.push([name, addl, source]);
  }

  #newInfo(): HttpInfo {
    const host = this.#host;
    return new HttpInfo(host.now(), host.uid, host.endpoints(), ++this.#transDepth);
  }

  /** `set_state`. */
  #setState(isOrig: boolean): HttpInfo {
    const index = isOrig ? this.#currentRequest : this.#currentResponse;
    let info = this.#pending.get(index);
    if (info === undefined) {
      info = this.#newInfo();
      this.#pending.set(index, info);
    }
    return this.#http = info;
  }

  /** `http_request`. */
  request(method: string, uri: string, unescapedUri: string, version: string): void {
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("http_request")) {
      events.dispatch("http_request", [
        this.#host.connection(),
        latin1LogValue(method),
        latin1LogValue(uri),
        latin1LogValue(unescapedUri),
        version,
      ]);
    }
    if (this.#currentRequest < this.#currentResponse) {
      this.#scriptWeird("HTTP_response_before_request");
      this.#currentRequest = this.#currentResponse;
    }
    if (this.#pending.size > MAX_PENDING_REQUESTS) {
      this.#host.history("X");
      this.#scriptWeird(
        "HTTP_excessive_pipelining",
        `${this.#pending.size} > ${MAX_PENDING_REQUESTS}`,
        "HTTP",
      );
      if (this.#currentResponse === 0) ++this.#currentResponse;
      while (this.#currentResponse < this.#currentRequest) {
        const info = this.#pending.get(this.#currentResponse);
        if (info !== undefined) {
          this.#write(info);
          this.#pending.delete(this.#currentResponse);
        }
        ++this.#currentResponse;
      }
    }
    ++this.#currentRequest;
    const info = this.#setState(true);
    info.method = method;
    info.uri = unescapedUri;
    if (!HTTP_METHODS.has(method)) this.#scriptWeird("unknown_HTTP_method", method);
  }

  /** `http_reply`; `reason` undefined is Zeek's `<empty>`. */
  reply(version: string, code: number, reason: string | undefined): void {
    const phrase = reason ?? "<empty>";
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("http_reply")) {
      events.dispatch("http_reply", [
        this.#host.connection(),
        version,
        code,
        latin1LogValue(phrase),
      ]);
    }
    const current = this.#pending.get(this.#currentResponse);
    if (
      current === undefined ||
      (current.statusCode !== undefined &&
        !(current.statusCode >= 100 && current.statusCode <= 199))
    ) ++this.#currentResponse;
    const info = this.#setState(false);
    info.statusCode = code;
    info.statusMsg = phrase;
    info.version = version;
    if (code >= 100 && code <= 199) {
      info.infoCode = code;
      info.infoMsg = phrase;
    }
  }

  /** `http_header` (main.zeek at priority 5, entities.zeek at 3). */
  header(isOrig: boolean, originalName: string, value: string): void {
    const name = originalName.toUpperCase();
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("http_header")) {
      events.dispatch("http_header", [
        this.#host.connection(),
        isOrig,
        latin1LogValue(originalName),
        latin1LogValue(name),
        latin1LogValue(value),
      ]);
    }
    const info = this.#setState(isOrig);
    if (isOrig) this.#clientHeader(info, name, value);
    if (info.entity === undefined) {
      this.#scriptWeird("missing_HTTP_entity", "", "HTTP");
      return;
    }
    if (
      name === "CONTENT-DISPOSITION" && /[fF][iI][lL][eE][nN][aA][mM][eE][\t ]*\*?=/.test(value)
    ) {
      info.entity.filename = filenameFromDisposition(value);
    } else if (name === "CONTENT-TYPE" && /[nN][aA][mM][eE][\t ]*=/.test(value)) {
      info.entity.filename = filenameFromDisposition(value);
    }
  }

  #clientHeader(info: HttpInfo, name: string, value: string): void {
    switch (name) {
      case "REFERER":
        info.referrer = value;
        return;
      case "HOST":
        info.host = value;
        return;
      case "RANGE":
        info.rangeRequest = true;
        return;
      case "ORIGIN":
        info.origin = value;
        return;
      case "USER-AGENT":
        info.userAgent = value;
        return;
    }
    if (PROXY_HEADERS.has(name)) {
      const entry = `${name} -> ${value}`;
      info.proxied ??= [];
      if (!info.proxied.includes(entry)) info.proxied.push(entry);
      return;
    }
    if (
      (name === "AUTHORIZATION" || name === "PROXY-AUTHORIZATION") &&
      /^[bB][aA][sS][iI][cC] /.test(value)
    ) {
      const userpass = this.#decodeBase64(value.replace(/[bB][aA][sS][iI][cC][\t ]+/, ""));
      const colon = userpass.indexOf(":");
      if (colon >= 0) {
        info.username = userpass.slice(0, colon);
        if (this.#options.capturePassword) info.password = userpass.slice(colon + 1);
      } else {
        info.username = `<problem-decoding> (${value})`;
        if (this.#options.capturePassword) info.password = userpass;
      }
    }
  }

  /** `decode_base64_conn`: bad characters are skipped with one `base64_illegal_encoding`. */
  #decodeBase64(text: string): string {
    const decoder = new Base64Decoder((name, addl) => this.#scriptWeird(name, addl));
    let out = "";
    const take = (bytes: Uint8Array) => (out += latin1String(bytes, 0, bytes.length));
    decoder.decode(Uint8Array.from(text, (c) => c.charCodeAt(0)), take);
    decoder.finish(take);
    return out;
  }

  /** `http_begin_entity`. */
  beginEntity(isOrig: boolean): void {
    const info = this.#setState(isOrig);
    if (isOrig) ++info.origMimeDepth;
    else ++info.respMimeDepth;
    info.entity = { filename: undefined };
  }

  /** `http_end_entity`. */
  endEntity(_isOrig: boolean): void {
    if (this.#http !== undefined) this.#http.entity = undefined;
  }

  /** `http_message_done` at priorities 5 and -5. */
  messageDone(isOrig: boolean, bodyLength: number): void {
    const info = this.#setState(isOrig);
    if (isOrig) info.requestBodyLen = bodyLength;
    else {
      info.responseBodyLen = bodyLength;
      if (!(info.statusCode !== undefined && info.statusCode >= 100 && info.statusCode <= 199)) {
        this.#write(info);
        this.#pending.delete(this.#currentResponse);
      }
    }
  }

  /** `finalize_http`: the connection ends; every pending record is written. */
  finish(): void {
    for (const [index, info] of this.#pending) if (index !== 0) this.#write(info);
    this.#pending.clear();
    this.drain();
  }

  /** `HTTP::get_file_handle` (an empty handle: no file). */
  fileHandle(isOrig: boolean): string {
    this.drain();
    const info = this.#http;
    if (info === undefined) return "";
    if (info.rangeRequest && !isOrig) {
      return `Analyzer::ANALYZER_HTTP${tf(isOrig)}${this.#host.endpoints().origH}${
        buildUrl(info, this.#host.endpoints())
      }`;
    }
    const id = this.#host.endpoints();
    const depth = isOrig ? info.origMimeDepth : info.respMimeDepth;
    return `Analyzer::ANALYZER_HTTP${formatHandleTime(this.#host.startTime())}${
      tf(isOrig)
    }${info.transDepth}${depth}${idString(id)}`;
  }

  /** The file of `handle` (new ones announced to the scripts), or undefined when there is none. */
  file(isOrig: boolean, updateConn: boolean): AnalyzedFile | undefined {
    const handle = this.fileHandle(isOrig);
    if (handle === "") return undefined;
    const file = this.#analysis.file(
      handle,
      "HTTP",
      this.#conn(),
      isOrig,
      this.#host.now(),
      updateConn,
      (f) => this.#overNewConnection(f),
    );
    if (file !== undefined && !this.#files.includes(file)) {
      this.#files = this.#files.filter((f) => !f.done);
      this.#files.push(file);
    }
    return file;
  }

  /**
   * The open file the entity's handle names now, without creating one.
   * Building a handle costs: it is built only while one of this
   * connection's files is open, or for a ranged request (whose handle names
   * no connection, so the file may be another connection's).
   */
  lookupFile(isOrig: boolean): AnalyzedFile | undefined {
    if (!this.#files.some((f) => !f.done) && this.#http?.rangeRequest !== true) return undefined;
    const handle = this.fileHandle(isOrig);
    return handle === "" ? undefined : this.#analysis.lookup(handle);
  }

  removeFile(file: AnalyzedFile): void {
    this.#analysis.remove(file);
  }

  #conn(): FileConn {
    if (this.#fileConn === undefined) {
      const host = this.#host;
      this.#fileConn = {
        uid: host.uid,
        id: host.endpoints(),
        isLocal: (isOrig) => host.isLocal(isOrig),
      };
    }
    return this.#fileConn;
  }

  /** `file_over_new_connection` (entities.zeek). */
  #overNewConnection(f: AnalyzedFile): void {
    const info = this.#http;
    if (info === undefined) return;
    if (info.entity?.filename !== undefined) f.filename = info.entity.filename;
    const fuids = f.isOrig ? info.origFuids : info.respFuids;
    if ((fuids?.length ?? 0) >= MAX_FILES) return;
    if (f.isOrig) {
      (info.origFuids ??= []).push(f.fuid);
      if (f.filename !== undefined) (info.origFilenames ??= []).push(f.filename);
    } else {
      (info.respFuids ??= []).push(f.fuid);
      if (f.filename !== undefined) (info.respFilenames ??= []).push(f.filename);
    }
    f.onSniff = (mime) => {
      if (mime === undefined) return;
      const types = f.isOrig ? info.origMimeTypes : info.respMimeTypes;
      if ((types?.length ?? 0) >= MAX_FILES) return;
      if (f.isOrig) (info.origMimeTypes ??= []).push(mime);
      else (info.respMimeTypes ??= []).push(mime);
    };
  }

  #write(info: HttpInfo): void {
    const stream = this.#stream ??= httpStreamOf(this.#host.logs);
    const s = (v: string | undefined) => v === undefined ? undefined : latin1LogValue(v);
    const list = (v: string[] | undefined) => v?.map(latin1LogValue);
    const row: ZeekValue[] = [
      info.ts,
      info.uid,
      info.id.origH,
      info.id.origP,
      info.id.respH,
      info.id.respP,
      info.transDepth,
      s(info.method),
      s(info.host),
      s(info.uri),
      s(info.referrer),
      info.version,
      s(info.userAgent),
      s(info.origin),
      info.requestBodyLen,
      info.responseBodyLen,
      info.statusCode,
      s(info.statusMsg),
      info.infoCode,
      s(info.infoMsg),
      [],
      s(info.username),
      s(info.password),
      list(info.proxied),
      info.origFuids,
      list(info.origFilenames),
      info.origMimeTypes,
      info.respFuids,
      list(info.respFilenames),
      info.respMimeTypes,
    ];
    this.#host.logs.write(stream, row);
  }
}

function tf(b: boolean): string {
  return b ? "T" : "F";
}

/** `id_string`: `orig_h:orig_p > resp_h:resp_p`. */
function idString(id: ConnEndpoints): string {
  return `${id.origH}:${id.origP} > ${id.respH}:${id.respP}`;
}

/** `build_url`: host (or the responder's address) with a port other than 80, then the URI. */
function buildUrl(info: HttpInfo, id: ConnEndpoints): string {
  const uri = info.uri ?? "/<missed_request>";
  if (uri.includes("://")) return uri;
  let host = info.host ?? (id.respH.includes(":") ? `[${id.respH}]` : id.respH);
  if (id.respP !== 80) host = `${host}:${id.respP}`;
  return `${host}${uri}`;
}

/**
 * `extract_filename_from_content_disposition`: what follows the last
 * `name*=`, up to the next quote when quoted, without an RFC 2231
 * `charset'lang'` prefix, URI-unescaped (without weirds).
 */
export function filenameFromDisposition(value: string): string {
  let name = value.replace(/^[\s\S]*[nN][aA][mM][eE][\t ]*\*?=[\t ]*/, "");
  if (name.startsWith('"')) name = name.split('"', 2)[1] ?? "";
  if (/^[a-zA-Z0-9!#$%&+-^_`{}~]+'[a-zA-Z0-9!#$%&+-^_`{}~]*'/.test(name)) {
    name = name.replace(/^[\s\S]+'[\s\S]*'/, "");
  }
  return unescapeUri(name, () => {});
}
