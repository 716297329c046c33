/**
 * One HTTP message (a request or a reply) and its MIME entities, as Zeek's
 * `HTTP_Message`, `HTTP_Entity` and the `MIME_Entity` they extend parse
 * them (Z: src/analyzer/protocol/http/HTTP.cc, src/analyzer/protocol/mime/
 * MIME.cc; research note §1.5–1.6):
 *
 * - headers (folded lines joined, the name and value as `MIME_Header`
 *   reads them), the ones HTTP interprets (`Content-Length`,
 *   `Transfer-Encoding`, `Content-Encoding`, `Content-Range` of a 206,
 *   `Expect`) and their weirds;
 * - how the body ends: not expected, multipart or message, chunked, by
 *   Content-Length, until the connection closes, or line by line;
 * - `body_length` as Zeek counts it (after de-chunking and decompression,
 *   +2 per line in line mode), the decoded entity data handed to file
 *   analysis, the content transfer encodings (base64, quoted-printable).
 *
 * @module
 */

import { latin1String } from "../../../zeek/mod.ts";
import type { AnalyzedFile } from "../files/mod.ts";
import type { ContentLine } from "./content_line.ts";
import { BodyInflater } from "./inflate.ts";
import {
  atoiExact,
  atoiN,
  Base64Decoder,
  iequal,
  isLws,
  type MimeHeader,
  parseContentType,
  parseHeader,
  valueToken,
} from "./mime.ts";

/** Whether a message may have a body (`HTTP_BODY_*`). */
export const enum BodyExpectation {
  NotExpected,
  Expected,
  Maybe,
}

/** `MIME::max_header_bytes`. */
export const MAX_HEADER_BYTES = 65536;
/** `MIME::max_depth`. */
export const MAX_MIME_DEPTH = 100;

const enum Chunked {
  None,
  Before,
  ExpectSize,
  ExpectData,
  ExpectDataCrlf,
  ExpectTrailer,
  ExpectNothing,
}

const enum ContentKind {
  Multipart,
  Message,
  Text,
  Other,
}

const enum Transfer {
  Other,
  Base64,
  QuotedPrintable,
}

const enum Encoding {
  Identity,
  Gzip,
  Deflate,
}

/** What a message needs of its analyzer (`HTTP_Analyzer`) and the script layer behind it. */
export interface MessageHost {
  weird(name: string, addl?: string, source?: string): void;
  /** `LimitReachedWeird`: addl is the count, conn history gets `X`. */
  limitWeird(name: string, n: number): void;
  /** The code of the reply being parsed (0 when none). */
  replyCode(): number;
  /** The version of the request being parsed, or else of the reply (`GetRequestOngoing`). */
  transferVersion(): number;
  /** `IsConnectionClose`: the server sent `Connection: close`. */
  connectionClose(): boolean;
  /** A header of the message or of one of its entities (`http_header`). */
  header(isOrig: boolean, header: MimeHeader): void;
  beginEntity(isOrig: boolean): void;
  endEntity(isOrig: boolean): void;
  /** The message ended (`http_message_done`). */
  messageDone(isOrig: boolean, interrupted: boolean, bodyLength: number): void;
  /** Entity data for file analysis; returns the entity's file from now on. */
  fileData(
    isOrig: boolean,
    file: AnalyzedFile | undefined,
    data: Uint8Array,
    offset: number | undefined,
  ): AnalyzedFile | undefined;
  fileSize(
    isOrig: boolean,
    file: AnalyzedFile | undefined,
    size: number | bigint,
  ): AnalyzedFile | undefined;
  fileGap(
    isOrig: boolean,
    file: AnalyzedFile | undefined,
    offset: number,
    len: number,
  ): AnalyzedFile | undefined;
  /** `EndOfFile`: of the entity's file, or of the file its handle names now. */
  fileEnd(isOrig: boolean, file: AnalyzedFile | undefined): void;
  /** Decoded bytes one body may inflate to. */
  readonly maxInflatedBytes: number;
}

/** One MIME entity of a message: the top-level one or a part. */
class Entity {
  readonly message: HttpMessage;
  readonly parent: Entity | undefined;
  readonly depth: number;
  readonly expectBody: BodyExpectation;
  inHeader = true;
  endOfData = false;
  #headerLines: string[] | undefined;
  #headerBytes = 0;
  contentKind = ContentKind.Text;
  #boundary: string | undefined;
  #transfer: Transfer;
  #child: Entity | undefined;
  #delayCrlf = false;
  #base64: Base64Decoder | undefined;
  // HTTP_Entity
  #chunked = Chunked.None;
  contentLength = -1;
  /** The exact Content-Length (or instance length) where it passes 2^53, for files.log. */
  #exactSize: bigint | undefined;
  #rangeLength = -1;
  #expectDataLength = 0;
  bodyLength = 0;
  headerLength = 0;
  #encoding = Encoding.Identity;
  #zip: BodyInflater | undefined;
  #partial = false;
  #offset = 0;
  #instanceLength = -1;
  #sendSize = true;
  #expect100 = false;
  file: AnalyzedFile | undefined;

  constructor(message: HttpMessage, parent: Entity | undefined, expectBody: BodyExpectation) {
    this.message = message;
    this.parent = parent;
    this.depth = parent === undefined ? 0 : parent.depth + 1;
    this.#transfer = parent === undefined ? Transfer.Other : parent.#transfer;
    this.expectBody = expectBody;
  }

  get #host(): MessageHost {
    return this.message.host;
  }

  /** `HTTP_Entity::Deliver`: a line (`trailingCrlf`) or plain bytes. */
  deliver(data: Uint8Array, trailingCrlf: boolean): void {
    if (this.endOfData) return;
    if (this.inHeader) {
      if (!trailingCrlf) this.#host.weird("http_no_crlf_in_header_list");
      this.headerLength += data.length;
      this.#mimeDeliver(data, trailingCrlf);
      return;
    }
    const len = data.length;
    if (this.contentKind === ContentKind.Multipart || this.contentKind === ContentKind.Message) {
      this.#deliverBody(data, trailingCrlf);
      if (this.depth === 0 && this.contentLength > 0) {
        this.#expectDataLength -= len + (trailingCrlf ? 2 : 0);
        if (this.#expectDataLength <= 0) {
          this.message.setPlainDelivery(0);
          this.endOfDataNow();
        }
      }
    } else if (this.#chunked !== Chunked.None) {
      switch (this.#chunked) {
        case Chunked.ExpectSize: {
          const text = latin1String(data, 0, data.length);
          const n = atoiN(text, 16);
          if (n === undefined) this.#host.weird("HTTP_bad_chunk_size", text);
          this.#expectDataLength = n ?? 0;
          if (this.#expectDataLength > 0) {
            this.#chunked = Chunked.ExpectData;
            this.message.setPlainDelivery(this.#expectDataLength);
          } else {
            this.inHeader = true;
            this.#chunked = Chunked.ExpectTrailer;
          }
          break;
        }
        case Chunked.ExpectData:
          this.#expectDataLength -= len;
          if (this.#expectDataLength <= 0) {
            this.message.setPlainDelivery(0);
            this.#chunked = Chunked.ExpectDataCrlf;
          }
          this.#deliverBody(data, false);
          break;
        case Chunked.ExpectDataCrlf:
          this.#chunked = Chunked.ExpectSize;
          break;
      }
    } else if (this.contentLength >= 0) {
      this.#deliverBody(data, false);
      this.#expectDataLength -= len;
      if (this.#expectDataLength <= 0) {
        this.message.setPlainDelivery(0);
        this.message.setDeliverySize(-1);
        this.endOfDataNow();
      }
    } else this.#deliverBody(data, trailingCrlf);
  }

  /** `HTTP_Entity::Undelivered`: whether a gap of `len` lies wholly inside the body. */
  undelivered(len: number): boolean {
    if ((this.endOfData && this.inHeader) || this.bodyLength === 0) return false;
    this.file = this.#host.fileGap(this.message.isOrig, this.file, this.bodyLength, len);
    if (this.#partial) this.#offset += len;
    if (this.#chunked !== Chunked.None) {
      if (this.#chunked === Chunked.ExpectData && this.#expectDataLength >= len) {
        this.bodyLength += len;
        this.#expectDataLength -= len;
        this.message.setPlainDelivery(this.#expectDataLength);
        if (this.#expectDataLength === 0) this.#chunked = Chunked.ExpectDataCrlf;
        return true;
      }
      return false;
    }
    if (this.contentLength >= 0) {
      if (this.#expectDataLength >= len) {
        this.bodyLength += len;
        this.#expectDataLength -= len;
        this.message.setPlainDelivery(this.#expectDataLength);
        if (this.#expectDataLength <= 0) this.endOfDataNow();
        return true;
      }
      return false;
    }
    return false;
  }

  /** `HTTP_Entity::EndOfData` then `MIME_Entity::EndOfData`. */
  endOfDataNow(): void {
    if (this.#zip !== undefined) {
      this.#zip.end();
      this.#zip = undefined;
      this.#encoding = Encoding.Identity;
    }
    if (this.endOfData) return;
    this.endOfData = true;
    if (this.inHeader) {
      this.#finishHeader();
      this.inHeader = false;
      this.#submitAllHeaders();
    } else {
      if (this.#child !== undefined) this.#endChild();
      this.#finishBase64();
    }
    this.message.endEntity(this);
  }

  #deliverBody(data: Uint8Array, trailingCrlf: boolean): void {
    if (this.#encoding !== Encoding.Identity) {
      this.#zip ??= new BodyInflater(
        (out) => this.#deliverBodyClear(out, false),
        (name, addl) => this.#host.weird(name, addl, "ZIP"),
        this.#host.maxInflatedBytes,
      );
      this.#zip.push(data);
    } else this.#deliverBodyClear(data, trailingCrlf);
  }

  #deliverBodyClear(data: Uint8Array, trailingCrlf: boolean): void {
    this.bodyLength += data.length + (trailingCrlf ? 2 : 0);
    this.#mimeDeliver(data, trailingCrlf);
  }

  /** `MIME_Entity::Deliver`. */
  #mimeDeliver(data: Uint8Array, trailingCrlf: boolean): void {
    if (this.inHeader) {
      if (data.length === 0 || data[0] === 0) {
        this.#finishHeader();
        this.inHeader = false;
        this.#submitAllHeaders();
        if (!this.endOfData) this.#beginBody();
      } else if (isLws(data[0]!)) this.#contHeader(data);
      else this.#newHeader(data);
      return;
    }
    this.#newDataLine(data, trailingCrlf);
  }

  #newHeader(data: Uint8Array): void {
    this.#finishHeader();
    this.#headerLines = [latin1String(data, 0, data.length)];
    this.#headerBytes = data.length;
  }

  #contHeader(data: Uint8Array): void {
    if (this.#headerLines === undefined) {
      let ws = 0;
      while (ws < data.length && isLws(data[ws]!)) ws++;
      if (ws < data.length) this.#newHeader(data.subarray(ws));
      return;
    }
    if (this.#headerBytes >= MAX_HEADER_BYTES) {
      this.#host.limitWeird("exceeded_mime_max_header_bytes", this.#headerBytes);
      return;
    }
    this.#headerLines.push(latin1String(data, 0, data.length));
    this.#headerBytes += data.length;
  }

  #finishHeader(): void {
    const lines = this.#headerLines;
    if (lines === undefined) return;
    this.#headerLines = undefined;
    const header = parseHeader(lines.join(""), lines.length);
    if (header === undefined) return;
    if (iequal(header.name, "content-type")) {
      const ct = parseContentType(header.value);
      if (ct !== undefined) {
        this.contentKind = ct.type === "MULTIPART"
          ? ContentKind.Multipart
          : ct.type === "MESSAGE"
          ? ContentKind.Message
          : ct.type === "TEXT"
          ? ContentKind.Text
          : ContentKind.Other;
        this.#boundary = ct.boundary;
        if (this.contentKind === ContentKind.Multipart && ct.boundary === undefined) {
          this.contentKind = ContentKind.Other;
        }
      }
    } else if (iequal(header.name, "content-transfer-encoding")) {
      const enc = valueToken(header.value);
      if (enc !== undefined) {
        this.#transfer = iequal(enc.token, "base64")
          ? Transfer.Base64
          : iequal(enc.token, "quoted-printable")
          ? Transfer.QuotedPrintable
          : Transfer.Other;
      }
    }
    this.#submitHeader(header);
  }

  /** `HTTP_Entity::SubmitHeader`. */
  #submitHeader(h: MimeHeader): void {
    const host = this.#host;
    if (this.depth === 0 && h.lines > 1) host.weird("HTTP_obsolete_line_folding", h.name);
    const name = h.name.toLowerCase();
    if (name === "content-length") {
      if (this.#chunked !== Chunked.None) host.weird("HTTP_content_length_and_chunked");
      const vt = valueToken(h.value);
      if (vt !== undefined) {
        const n = atoiN(vt.token, 10);
        if (n !== undefined && n >= 0) {
          if (n > 0 && vt.token.charCodeAt(0) === 48) {
            host.weird("HTTP_content_length_leading_zeros", vt.token);
          }
          this.contentLength = n;
          const exact = atoiExact(vt.token, 10);
          this.#exactSize = typeof exact === "bigint" ? exact : undefined;
          if (this.#partial && this.#rangeLength !== this.contentLength) {
            host.weird("HTTP_range_not_matching_len");
            if (this.#rangeLength > this.contentLength) this.contentLength = this.#rangeLength;
          }
          if (this.contentLength === 0 && this.#expect100) {
            host.weird("HTTP_content_length_0_and_expect_100_cont");
          }
        } else {
          host.weird("HTTP_bad_content_length", vt.token);
          this.contentLength = 0;
        }
      }
    } else if (name === "content-range" && host.replyCode() === 206) {
      if (this.#contentRange(h) === false) return;
    } else if (name === "transfer-encoding") {
      if (this.depth === 0) {
        const vt = valueToken(h.value);
        if (vt !== undefined && iequal(vt.token, "chunked") && host.transferVersion() === 11) {
          this.#chunked = Chunked.Before;
          if (vt.rest.length > 0) host.weird("HTTP_chunked_multi", vt.rest);
          if (this.contentLength >= 0) host.weird("HTTP_content_length_and_chunked");
        }
      } else host.weird("HTTP_nested_transfer_encoding_header");
    } else if (name === "content-encoding") {
      const vt = valueToken(h.value);
      if (vt !== undefined) {
        if (iequal(vt.token, "gzip") || iequal(vt.token, "x-gzip")) this.#encoding = Encoding.Gzip;
        if (iequal(vt.token, "deflate")) this.#encoding = Encoding.Deflate;
      }
    } else if (name === "expect") {
      const vt = valueToken(h.value);
      if (vt === undefined || !iequal(vt.token, "100-continue")) {
        host.weird("HTTP_expect_not_100_continue", vt?.token ?? "");
      }
      this.#expect100 = true;
      if (this.contentLength === 0) host.weird("HTTP_content_length_0_and_expect_100_cont");
    }
    host.header(this.message.isOrig, h);
  }

  /** A 206's `Content-Range`; false when it was not understood (the header raises no event then). */
  #contentRange(h: MimeHeader): boolean {
    const host = this.#host;
    if (this.#chunked !== Chunked.None) host.weird("HTTP_content_range_and_chunked");
    const vt = valueToken(h.value);
    const unit = vt?.token ?? "";
    const range = (vt?.rest ?? "").replaceAll(" ", "");
    if (unit !== "bytes") {
      host.weird("HTTP_content_range_unknown_byte_unit");
      return false;
    }
    const slash = range.indexOf("/");
    const dash = slash < 0 ? -1 : range.slice(0, slash).indexOf("-");
    if (slash < 0 || dash < 0) {
      host.weird("HTTP_content_range_cannot_parse");
      return false;
    }
    const f = atoiN(range.slice(0, dash), 10);
    const l = atoiN(range.slice(dash + 1, slash), 10);
    if (f === undefined || l === undefined) {
      host.weird("HTTP_content_range_cannot_parse", range);
      return false;
    }
    if (f < 0 || l < 0) {
      host.weird("HTTP_content_range_invalid", range);
      return false;
    }
    if (l < f) {
      host.weird("HTTP_non_positive_content_range", range);
      return false;
    }
    if (l - f > Number.MAX_SAFE_INTEGER - 1) {
      host.weird("HTTP_content_range_overflow", range);
      return false;
    }
    const len = l - f + 1;
    const instance = range.slice(slash + 1);
    if (instance !== "*") {
      const n = atoiN(instance, 10);
      if (n === undefined) {
        host.weird("HTTP_content_range_invalid_instance", range);
        this.#instanceLength = 0;
      } else {
        this.#instanceLength = n;
        const exact = atoiExact(instance, 10);
        this.#exactSize = typeof exact === "bigint" ? exact : undefined;
      }
    }
    this.#partial = true;
    this.#offset = f;
    this.#rangeLength = len;
    if (this.contentLength > 0) {
      if (this.contentLength !== this.#rangeLength) {
        host.weird("HTTP_range_not_matching_len");
        if (this.#rangeLength > this.contentLength) this.contentLength = this.#rangeLength;
      }
    } else this.contentLength = this.#rangeLength;
    return true;
  }

  /** `HTTP_Entity::SubmitAllHeaders`. */
  #submitAllHeaders(): void {
    const message = this.message;
    if (this.parent?.contentKind === ContentKind.Multipart) {
      message.content.suppressWeirds(true);
      message.content.setCrlfAsEol(false);
    }
    if (this.contentLength >= 0) message.setDeliverySize(this.contentLength);
    if (this.#chunked === Chunked.ExpectTrailer) {
      this.#chunked = Chunked.ExpectNothing;
      this.endOfDataNow();
      return;
    }
    if (this.expectBody === BodyExpectation.NotExpected) {
      this.endOfDataNow();
      return;
    }
    if (this.contentKind === ContentKind.Multipart || this.contentKind === ContentKind.Message) {
      if (this.#chunked !== Chunked.None) {
        this.#host.weird("HTTP_chunked_transfer_for_multipart_message");
      }
      if (this.depth === 0 && this.contentLength >= 0) {
        if (this.contentLength > 0) {
          this.#expectDataLength = this.contentLength;
          message.setDeliverySize(this.contentLength);
        } else this.endOfDataNow();
      }
    } else if (this.#chunked !== Chunked.None) this.#chunked = Chunked.ExpectSize;
    else if (this.contentLength >= 0) {
      if (this.contentLength > 0) {
        this.#expectDataLength = this.contentLength;
        message.setPlainDelivery(this.contentLength);
      } else this.endOfDataNow();
    } else if (this.#host.connectionClose() || this.#encoding !== Encoding.Identity) {
      this.#expectDataLength = UNTIL_CLOSE;
      message.setPlainDelivery(UNTIL_CLOSE);
    } else if (this.expectBody !== BodyExpectation.Expected) this.endOfDataNow();
  }

  #beginBody(): void {
    if (this.#transfer === Transfer.Base64) {
      this.#base64 = new Base64Decoder((name, addl) => this.#host.weird(name, addl, ""));
    }
    if (this.contentKind === ContentKind.Message) this.#beginChild();
  }

  /** `MIME_Entity::NewDataLine`. */
  #newDataLine(data: Uint8Array, trailingCrlf: boolean): void {
    if (this.contentKind === ContentKind.Multipart) {
      const b = this.#checkBoundary(data);
      if (b === BOUNDARY) {
        if (this.#child !== undefined) this.#endChild();
        if (!this.endOfData) this.#beginChild();
        return;
      }
      if (b === CLOSING_BOUNDARY) {
        if (this.#child !== undefined) this.#endChild();
        this.endOfDataNow();
        return;
      }
    }
    if (this.contentKind === ContentKind.Multipart || this.contentKind === ContentKind.Message) {
      this.#child?.deliver(data, trailingCrlf);
      return;
    }
    switch (this.#transfer) {
      case Transfer.Base64:
        this.#base64?.decode(data, (out) => this.#submitData(out));
        break;
      case Transfer.QuotedPrintable:
        this.#submitData(decodeQuotedPrintable(data));
        break;
      default:
        this.#decodeBinary(data, trailingCrlf);
    }
  }

  #decodeBinary(data: Uint8Array, trailingCrlf: boolean): void {
    const delayed = this.#delayCrlf;
    this.#delayCrlf = false;
    let crlfAfter = false;
    if (trailingCrlf) {
      // In a multipart part the last CRLF belongs to the boundary line.
      if (this.parent?.contentKind === ContentKind.Multipart) this.#delayCrlf = true;
      else crlfAfter = true;
    }
    if (!delayed && !crlfAfter) {
      if (data.length > 0) this.#submitData(data);
      return;
    }
    const out = new Uint8Array(data.length + (delayed ? 2 : 0) + (crlfAfter ? 2 : 0));
    let at = 0;
    if (delayed) {
      out[0] = 13;
      out[1] = 10;
      at = 2;
    }
    out.set(data, at);
    if (crlfAfter) {
      out[at + data.length] = 13;
      out[at + data.length + 1] = 10;
    }
    this.#submitData(out);
  }

  #finishBase64(): void {
    this.#base64?.finish((out) => this.#submitData(out));
    this.#base64 = undefined;
  }

  /** `HTTP_Entity::SubmitData`: entity data to file analysis. */
  #submitData(data: Uint8Array): void {
    if (data.length === 0) return;
    const host = this.#host;
    const isOrig = this.message.isOrig;
    if (this.#sendSize && this.#encoding !== Encoding.Identity) this.#sendSize = false;
    if (this.#partial) {
      if (this.#sendSize && this.#instanceLength > 0) {
        this.file = host.fileSize(isOrig, this.file, this.#exactSize ?? this.#instanceLength);
      }
      this.file = host.fileData(isOrig, this.file, data, this.#offset);
      this.#offset += data.length;
    } else {
      if (this.#sendSize && this.contentLength > 0) {
        this.file = host.fileSize(isOrig, this.file, this.#exactSize ?? this.contentLength);
      }
      this.file = host.fileData(isOrig, this.file, data, undefined);
    }
    this.#sendSize = false;
  }

  #checkBoundary(data: Uint8Array): number {
    const boundary = this.#boundary;
    if (boundary === undefined) return NOT_BOUNDARY;
    if (data.length < 2 || data[0] !== 45 || data[1] !== 45) return NOT_BOUNDARY;
    if (data.length - 2 < boundary.length) return NOT_BOUNDARY;
    for (let i = 0; i < boundary.length; i++) {
      if (data[2 + i] !== boundary.charCodeAt(i)) return NOT_BOUNDARY;
    }
    const after = 2 + boundary.length;
    return data.length - after >= 2 && data[after] === 45 && data[after + 1] === 45
      ? CLOSING_BOUNDARY
      : BOUNDARY;
  }

  #beginChild(): void {
    if (this.depth >= MAX_MIME_DEPTH) {
      this.#host.limitWeird("exceeded_mime_max_depth", this.depth);
      return;
    }
    this.#child = new Entity(this.message, this, BodyExpectation.Expected);
    this.message.beginEntity(this.#child);
  }

  #endChild(): void {
    const child = this.#child!;
    child.endOfDataNow();
    this.#child = undefined;
  }
}

/** `INT_MAX`: Zeek's "until the connection closes". */
const UNTIL_CLOSE = 2147483647;
const NOT_BOUNDARY = 0;
const BOUNDARY = 1;
const CLOSING_BOUNDARY = 2;

/** One HTTP message of one direction. */
export class HttpMessage {
  readonly host: MessageHost;
  readonly content: ContentLine;
  readonly isOrig: boolean;
  readonly startTime: number;
  readonly top: Entity;
  #current: Entity | undefined;
  bodyLength = 0;
  headerLength: number;
  finished = false;

  constructor(
    host: MessageHost,
    content: ContentLine,
    isOrig: boolean,
    expectBody: BodyExpectation,
    initHeaderLength: number,
    now: number,
  ) {
    this.host = host;
    this.content = content;
    this.isOrig = isOrig;
    this.startTime = now;
    this.headerLength = initHeaderLength;
    this.top = new Entity(this, undefined, expectBody);
    this.beginEntity(this.top);
  }

  /** The next line (`trailingCrlf`) or plain bytes of the message. */
  deliver(data: Uint8Array, trailingCrlf: boolean): void {
    this.top.deliver(data, trailingCrlf);
  }

  /** `HTTP_Message::Undelivered`: whether the gap lies inside a body (parsing goes on). */
  undelivered(len: number): boolean {
    return (this.#current ?? this.top).undelivered(len);
  }

  /** `HTTP_Message::Done`. */
  done(interrupted = false): void {
    if (this.finished) return;
    this.finished = true;
    this.top.endOfDataNow();
    if (this.isOrig || this.host.replyCode() !== 206) this.host.fileEnd(this.isOrig, this.top.file);
    this.host.messageDone(this.isOrig, interrupted, this.bodyLength);
  }

  beginEntity(entity: Entity): void {
    this.#current = entity;
    this.host.beginEntity(this.isOrig);
  }

  endEntity(entity: Entity): void {
    if (entity === this.top) {
      this.bodyLength += entity.bodyLength;
      this.headerLength += entity.headerLength;
    }
    this.host.endEntity(this.isOrig);
    this.#current = entity.parent;
    if (entity.parent?.contentKind === ContentKind.Multipart) {
      this.content.suppressWeirds(false);
      this.content.setCrlfAsEol(true);
    }
    if (entity === this.top) this.done();
    else if (this.isOrig || this.host.replyCode() !== 206) {
      this.host.fileEnd(this.isOrig, entity.file);
    }
  }

  setPlainDelivery(length: number): void {
    this.content.setPlainDelivery(length);
  }

  setDeliverySize(length: number): void {
    this.content.setDeliverySize(length);
  }
}

/** `DecodeQuotedPrintable` of one line (its CRLF added unless a soft line break). */
function decodeQuotedPrintable(data: Uint8Array): Uint8Array {
  let last = data.length - 1;
  while (last >= 0 && (data[last] === 9 || data[last] === 32)) last--;
  const out: number[] = [];
  let soft = false;
  for (let i = 0; i <= last; i++) {
    const c = data[i]!;
    if (c === 61) {
      if (i === last) soft = true;
      else {
        const a = i + 2 < data.length ? hexValue(data[i + 1]!) : -1;
        const b = i + 2 < data.length ? hexValue(data[i + 2]!) : -1;
        if (a >= 0 && b >= 0) {
          out.push((a << 4) + b);
          i += 2;
        } else out.push(c);
      }
    } else out.push(c);
  }
  if (!soft) out.push(13, 10);
  return Uint8Array.from(out);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
