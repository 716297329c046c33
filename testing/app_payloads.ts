/**
 * Application messages for the trace generator: DNS over UDP and over TCP
 * (with its two-byte length prefix), HTTP/1.1 with keep-alive, and TLS 1.2
 * or 1.3 handshakes followed by application-data records. Each flow gets an
 * `AppConversation` that hands the generator one burst at a time: the bytes
 * one side sends before the other answers, and where the first TCP segment
 * ends when a message is deliberately split. The generator cuts a burst into
 * segments, so segment boundaries follow the messages.
 *
 * Fixed text, header blocks and record skeletons are encoded once when the
 * module loads, and bursts reuse one growable buffer per conversation: per
 * message only names, numbers, lengths and random bytes are written, since a
 * benchmark trace holds millions of packets.
 *
 * HTTP-heavy traffic (`HttpTraffic`) draws how many requests a connection
 * carries, whether it says `Connection: close`, and bodies from empty to
 * megabytes, some gzip-encoded or chunked; a body is a view of the shared
 * material of `http_bodies.ts`, placed into the burst without a copy.
 *
 * TLS-heavy traffic (`TlsTraffic`) mixes full TLS 1.2 and 1.3 handshakes
 * with abbreviated TLS 1.2 ones that resume a session by its id or by a
 * session ticket, and gives some connections a long encrypted stream; the
 * ciphertext is views of shared random bytes behind record headers, so a
 * multi-megabyte stream costs a header per 16 KiB record to build.
 *
 * @module
 */

import { ByteWriter } from "../zeek/mod.ts";
import {
  gzipBody,
  KIND_CSS,
  KIND_HTML,
  KIND_JS,
  KIND_JSON,
  KIND_PNG,
  pixelBytes,
  textBody,
} from "./http_bodies.ts";

/** Where the builders draw their randomness (the generator's seeded stream, so a seed fixes the bytes). */
export interface AppRandom {
  /** An integer in `0 … n-1`. */
  int(n: number): number;
  /** A number in `[0, 1)`. */
  float(): number;
  /** Writes `len` random bytes at `buf[at]`. */
  fill(buf: Uint8Array, at: number, len: number): void;
}

/** The application a flow's server port selects. */
export type ApplicationName = "dns" | "http" | "tls";

/** What a flow carries: random bytes, or one application's messages. */
export const APP_NONE = 0;
export const APP_DNS = 1;
export const APP_HTTP = 2;
export const APP_TLS = 3;

/** The name `FlowTruth.application` gives an `APP_*` value. */
export function applicationName(app: number): ApplicationName | null {
  return app === APP_DNS ? "dns" : app === APP_HTTP ? "http" : app === APP_TLS ? "tls" : null;
}

/**
 * The project's byte writer (`zeek/bytes.ts`) with what building
 * application messages adds: 24-bit fields, random bytes and text, ASCII
 * numbers, and patches for lengths known only later.
 */
export class MessageWriter extends ByteWriter {
  writeUint24(v: number): void {
    this.setUint24At(this.claim(3), v);
  }

  writeRandom(r: AppRandom, n: number): void {
    const at = this.claim(n);
    r.fill(this.buffer, at, n);
  }

  /** `n` in ASCII decimal. */
  writeDecimal(n: number): void {
    if (n >= 10) this.writeDecimal(Math.floor(n / 10));
    this.writeUint8(48 + (n % 10));
  }

  /** `n` in lowercase ASCII hex, no leading zeros. */
  writeHex(n: number): void {
    if (n >= 16) this.writeHex(Math.floor(n / 16));
    this.writeUint8(HEX_DIGITS[n % 16]!);
  }

  /** `n` random characters of `alphabet`. */
  writeText(r: AppRandom, alphabet: Uint8Array, n: number): void {
    const at = this.claim(n);
    const b = this.buffer;
    for (let i = 0; i < n; i++) b[at + i] = alphabet[r.int(alphabet.length)]!;
  }

  setUint16At(at: number, v: number): void {
    const b = this.buffer;
    b[at] = v >>> 8;
    b[at + 1] = v & 0xff;
  }

  setUint24At(at: number, v: number): void {
    const b = this.buffer;
    b[at] = (v >>> 16) & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = v & 0xff;
  }
}

/**
 * One side's bytes until the other side answers: what was written to
 * `data`, with views of shared bodies (`append`) placed between its bytes
 * where they were appended, so a megabyte body is sent without being
 * copied into the burst first.
 */
export class Burst {
  readonly data = new MessageWriter(16384);
  fromClient = true;
  /** Where the first TCP segment ends when a message is split on purpose; 0 cuts at the MSS only. */
  firstCut = 0;
  /** Application messages (DNS messages, HTTP requests or responses, TLS records) in the burst. */
  messages = 0;
  /** The burst in pieces once a view is appended: a view, or (null) `data` from `#starts[i]`. */
  readonly #sources: (Uint8Array | null)[] = [];
  readonly #starts: number[] = [];
  readonly #lengths: number[] = [];
  /** `data`'s bytes up to here are in the pieces; the rest follow the last piece. */
  #sealed = 0;
  #viewBytes = 0;
  /** The piece the last copy ended in and where it starts in the burst, as copies run in order. */
  #piece = 0;
  #pieceAt = 0;

  start(fromClient: boolean): void {
    this.data.reset();
    this.fromClient = fromClient;
    this.firstCut = 0;
    this.messages = 0;
    this.#sources.length = 0;
    this.#starts.length = 0;
    this.#lengths.length = 0;
    this.#sealed = 0;
    this.#viewBytes = 0;
    this.#piece = 0;
    this.#pieceAt = 0;
  }

  /** Bytes in the burst. */
  get length(): number {
    return this.data.length + this.#viewBytes;
  }

  /** Adds `view` after what was written so far, without copying: it must not change until the burst is sent. */
  append(view: Uint8Array): void {
    if (view.length === 0) return;
    const written = this.data.length;
    if (written > this.#sealed) this.#push(null, this.#sealed, written - this.#sealed);
    this.#sealed = written;
    this.#push(view, 0, view.length);
    this.#viewBytes += view.length;
  }

  #push(source: Uint8Array | null, start: number, length: number): void {
    this.#sources.push(source);
    this.#starts.push(start);
    this.#lengths.push(length);
  }

  /** Copies the burst's bytes `from … from+len-1` to `buf[at]`. */
  copyTo(buf: Uint8Array, at: number, from: number, len: number): void {
    const pieces = this.#sources.length;
    if (pieces === 0) {
      buf.set(this.data.buffer.subarray(from, from + len), at);
      return;
    }
    if (from < this.#pieceAt) {
      this.#piece = 0;
      this.#pieceAt = 0;
    }
    let i = this.#piece;
    let pieceAt = this.#pieceAt;
    while (len > 0) {
      if (i > pieces) throw new RangeError(`Cannot copy past the end of a burst of ${this.length}`);
      const source = i < pieces ? this.#sources[i]! : null;
      const start = i < pieces ? this.#starts[i]! : this.#sealed;
      const length = i < pieces ? this.#lengths[i]! : this.data.length - this.#sealed;
      const skip = from - pieceAt;
      if (skip < length) {
        const n = length - skip < len ? length - skip : len;
        const bytes = source ?? this.data.buffer;
        buf.set(bytes.subarray(start + skip, start + skip + n), at);
        at += n;
        from += n;
        len -= n;
        if (len === 0) break;
      }
      pieceAt += length;
      i++;
    }
    this.#piece = i;
    this.#pieceAt = pieceAt;
  }
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const HEX_DIGITS = ascii("0123456789abcdef");
const TOKEN = ascii("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
const CRLF = ascii("\r\n");

function pick<T>(r: AppRandom, list: readonly T[]): T {
  return list[r.int(list.length)]!;
}

const DNS_A = 1;
const DNS_CNAME = 5;
const DNS_SOA = 6;
const DNS_PTR = 12;
const DNS_MX = 15;
const DNS_TXT = 16;
const DNS_AAAA = 28;
const DNS_OPT = 41;

/** `name` in DNS wire form: length-prefixed labels and the root. */
function wireName(name: string): Uint8Array {
  return new Uint8Array([...name.split(".").flatMap((l) => [l.length, ...ascii(l)]), 0]);
}

/** Query types in rough proportion to what resolvers see. */
const QTYPES = [
  DNS_A,
  DNS_A,
  DNS_A,
  DNS_A,
  DNS_AAAA,
  DNS_AAAA,
  DNS_AAAA,
  DNS_MX,
  DNS_TXT,
  DNS_PTR,
];
const HOST_WORDS = ["host", "www", "api", "mail", "cdn", "static", "login", "img", "app", "edge"]
  .map(ascii);
const SUB_WORDS = ["eu-west", "us-east", "internal", "prod", "svc", "lb"].map(ascii);
const ZONE_WORDS = ["example", "shop", "cloud", "news", "corp", "media", "travel", "bank"].map(
  ascii,
);
const TLDS = ["com", "net", "org", "io", "de"].map(ascii);
const CDN_ZONE = wireName("edgesuite.example.net");
const TTLS = [30, 60, 300, 600, 3600, 14400, 86400];
const LABEL_E = ascii("e");
const LABEL_A = ascii("a");
const LABEL_NS1 = ascii("ns1");
const LABEL_HOSTMASTER = ascii("hostmaster");
const LABEL_MX = ascii("mx");
const LABEL_HOST = ascii("host");
const NO_WORD = new Uint8Array(0);
const IN_ADDR_ARPA = wireName("in-addr.arpa");
const PTR_TARGET_ZONE = wireName("isp.example.net");
/** TXT strings: fixed text, and prefixes a random token of the given length follows. */
const TXT_STRINGS: readonly (readonly [Uint8Array, number])[] = [
  [ascii("v=spf1 include:_spf.example.com ~all"), 0],
  [ascii("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"), 0],
  [ascii("site-verification="), 43],
  [ascii("MS=ms"), 8],
  [ascii("v=DMARC1; p=none; rua=mailto:dmarc@example.com"), 0],
];

/** A question the client asked, kept until the server answers it. */
class DnsQuestion {
  id = 0;
  qtype = 0;
  edns = false;
  udpSize = 0;
  dnssecOk = false;
  /** The name in wire form, and where its zone (the last two labels) starts. */
  readonly name = new MessageWriter(256);
  zoneAt = 0;
}

/** A label of `word` followed by `number` in decimal (none when negative). */
function writeLabel(w: MessageWriter, word: Uint8Array, number: number): void {
  const at = w.length;
  w.writeUint8(0);
  w.writeBytes(word);
  if (number >= 0) w.writeDecimal(number);
  w.buffer[at] = w.length - at - 1;
}

function newQuestion(r: AppRandom, q: DnsQuestion): void {
  q.id = r.int(65536);
  q.qtype = pick(r, QTYPES);
  q.edns = r.float() < 0.4;
  q.udpSize = r.float() < 0.5 ? 1232 : 4096;
  q.dnssecOk = r.float() < 0.3;
  const w = q.name;
  w.reset();
  if (q.qtype === DNS_PTR) {
    for (let i = 0; i < 4; i++) writeLabel(w, NO_WORD, i === 3 ? 192 : r.int(256));
    q.zoneAt = w.length;
    w.writeBytes(IN_ADDR_ARPA);
    return;
  }
  if (q.qtype !== DNS_MX) {
    writeLabel(w, pick(r, HOST_WORDS), r.float() < 0.7 ? r.int(10000) : -1);
    if (r.float() < 0.25) writeLabel(w, pick(r, SUB_WORDS), -1);
  }
  q.zoneAt = w.length;
  writeLabel(w, pick(r, ZONE_WORDS), r.float() < 0.6 ? r.int(1000) : -1);
  writeLabel(w, pick(r, TLDS), -1);
  w.writeUint8(0);
}

function writeDnsQuery(w: MessageWriter, q: DnsQuestion): void {
  w.writeUint16(q.id);
  w.writeUint16(0x0100); // RD
  w.writeUint16(1);
  w.writeUint16(0);
  w.writeUint16(0);
  w.writeUint16(q.edns ? 1 : 0);
  w.writeBytes(q.name.bytes());
  w.writeUint16(q.qtype);
  w.writeUint16(1);
  if (q.edns) writeOpt(w, q);
}

function writeOpt(w: MessageWriter, q: DnsQuestion): void {
  w.writeUint8(0);
  w.writeUint16(DNS_OPT);
  w.writeUint16(q.udpSize);
  w.writeUint32(q.dnssecOk ? 0x8000 : 0);
  w.writeUint16(0);
}

/** Writes a record's owner (a compression pointer), type, class, TTL; returns where RDLENGTH is. */
function writeRecordHead(w: MessageWriter, owner: number, type: number, ttl: number): number {
  w.writeUint16(0xc000 | owner);
  w.writeUint16(type);
  w.writeUint16(1);
  w.writeUint32(ttl);
  const at = w.length;
  w.writeUint16(0);
  return at;
}

function endRecord(w: MessageWriter, rdlenAt: number): void {
  w.setUint16At(rdlenAt, w.length - rdlenAt - 2);
}

/** The answer to `q`, starting at `w.length`; compression pointers are relative to that start. */
function writeDnsResponse(w: MessageWriter, r: AppRandom, q: DnsQuestion): void {
  const base = w.length;
  const nx = q.qtype !== DNS_PTR && r.float() < 0.08;
  w.writeUint16(q.id);
  w.writeUint16(0x8180 | (nx ? 3 : 0)); // QR, RD, RA; rcode NXDOMAIN
  w.writeUint16(1);
  const countsAt = w.length;
  w.writeUint16(0);
  w.writeUint16(0);
  w.writeUint16(q.edns ? 1 : 0);
  w.writeBytes(q.name.bytes());
  w.writeUint16(q.qtype);
  w.writeUint16(1);
  const qname = 12;
  const zone = 12 + q.zoneAt;
  const ttl = pick(r, TTLS);
  let answers = 0;
  let authority = 0;
  if (nx) {
    const at = writeRecordHead(w, zone, DNS_SOA, 3600);
    writeLabel(w, LABEL_NS1, -1);
    w.writeUint16(0xc000 | zone);
    writeLabel(w, LABEL_HOSTMASTER, -1);
    w.writeUint16(0xc000 | zone);
    w.writeUint32(2023000000 + r.int(1000000));
    w.writeUint32(7200);
    w.writeUint32(3600);
    w.writeUint32(1209600);
    w.writeUint32(300);
    endRecord(w, at);
    authority = 1;
  } else if (q.qtype === DNS_A || q.qtype === DNS_AAAA) {
    let owner = qname;
    const chain = r.float() < 0.3 ? 1 + r.int(2) : 0;
    let cdnZone = 0;
    for (let i = 0; i < chain; i++) {
      const at = writeRecordHead(w, owner, DNS_CNAME, ttl);
      owner = w.length - base;
      if (i === 0) {
        writeLabel(w, LABEL_E, r.int(100000));
        cdnZone = w.length - base;
        w.writeBytes(CDN_ZONE);
      } else {
        writeLabel(w, LABEL_A, r.int(1000));
        w.writeUint16(0xc000 | cdnZone);
      }
      endRecord(w, at);
      answers++;
    }
    const n = 1 + r.int(3);
    for (let i = 0; i < n; i++) {
      const at = writeRecordHead(w, owner, q.qtype, ttl);
      if (q.qtype === DNS_A) {
        w.writeUint8(93 + r.int(100));
        w.writeRandom(r, 3);
      } else {
        w.writeUint32(0x20010db8);
        w.writeRandom(r, 12);
      }
      endRecord(w, at);
      answers++;
    }
  } else if (q.qtype === DNS_MX) {
    const n = 1 + r.int(3);
    for (let i = 0; i < n; i++) {
      const at = writeRecordHead(w, qname, DNS_MX, ttl);
      w.writeUint16(10 * (i + 1));
      writeLabel(w, LABEL_MX, i + 1);
      w.writeUint16(0xc000 | zone);
      endRecord(w, at);
      answers++;
    }
  } else if (q.qtype === DNS_TXT) {
    const n = 1 + r.int(2);
    for (let i = 0; i < n; i++) {
      const at = writeRecordHead(w, qname, DNS_TXT, ttl);
      const strings = 1 + r.int(3);
      for (let s = 0; s < strings; s++) {
        const lenAt = w.length;
        w.writeUint8(0);
        const [text, token] = pick(r, TXT_STRINGS);
        w.writeBytes(text);
        w.writeText(r, TOKEN, token);
        w.buffer[lenAt] = w.length - lenAt - 1;
      }
      endRecord(w, at);
      answers++;
    }
  } else {
    const at = writeRecordHead(w, qname, DNS_PTR, ttl);
    const labelAt = w.length;
    w.writeUint8(0);
    w.writeBytes(LABEL_HOST);
    for (let i = 0; i < 4; i++) {
      w.writeUint8(45);
      w.writeDecimal(r.int(256));
    }
    w.buffer[labelAt] = w.length - labelAt - 1;
    w.writeBytes(PTR_TARGET_ZONE);
    endRecord(w, at);
    answers++;
  }
  w.setUint16At(countsAt, answers);
  w.setUint16At(countsAt + 2, authority);
  if (q.edns) writeOpt(w, q);
}

const KINDS = [KIND_HTML, KIND_HTML, KIND_JSON, KIND_JSON, KIND_PNG, KIND_PNG, KIND_JS, KIND_CSS];
/** The kinds a gzip response carries: servers compress text, not images. */
const TEXT_KINDS = [KIND_HTML, KIND_HTML, KIND_JSON, KIND_JSON, KIND_JS, KIND_CSS];

const GET = ascii("GET ");
const PATHS: readonly (readonly [Uint8Array, Uint8Array])[][] = [
  [[ascii("/"), ascii("")], [ascii("/news/article-"), ascii(".html")], [
    ascii("/products?ref=home&id="),
    ascii(""),
  ]],
  [[ascii("/api/v1/items?page=2&id="), ascii("")], [
    ascii("/api/v2/users/"),
    ascii("/feed?limit=20"),
  ]],
  [[ascii("/img/photo-"), ascii(".png")], [ascii("/static/icons/icon-"), ascii(".png?v=3")]],
  [[ascii("/static/js/app."), ascii(".js")]],
  [[ascii("/static/css/site."), ascii(".css")]],
];
const REQUEST_MIDDLE = ascii(" HTTP/1.1\r\nHost: ");
const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
  "curl/8.4.0",
  "python-requests/2.31.0",
].map((ua) => ascii(`\r\nUser-Agent: ${ua}\r\nAccept: `));
const ACCEPTS = [
  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "application/json",
  "image/avif,image/webp,image/png,*/*;q=0.8",
  "*/*",
  "text/css,*/*;q=0.1",
].map(ascii);
const REQUEST_TAIL = ascii(
  "\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: keep-alive\r\n",
);
const IF_NONE_MATCH = ascii('If-None-Match: "');
const QUOTE_CRLF = ascii('"\r\n');
const STATUS_200 = ascii("HTTP/1.1 200 OK\r\n");
const STATUS_304 = ascii("HTTP/1.1 304 Not Modified\r\n");
const STATUS_404 = ascii("HTTP/1.1 404 Not Found\r\n");
const RESPONSE_HEAD = ascii("Date: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: nginx/1.24.0\r\n");
const CONTENT_TYPES = [
  "text/html; charset=utf-8",
  "application/json",
  "image/png",
  "application/javascript",
  "text/css",
].map((t) => ascii(`Content-Type: ${t}\r\n`));
const CONTENT_LENGTH = ascii("Content-Length: ");
const CHUNKED = ascii("Transfer-Encoding: chunked\r\n");
const CACHE_ETAG = ascii('Cache-Control: max-age=3600\r\nETag: "');
const KEEP_ALIVE = ascii("Connection: keep-alive\r\n\r\n");
const CLOSE = ascii("Connection: close\r\n\r\n");
const REQUEST_TAIL_CLOSE = ascii(
  "\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: close\r\n",
);
const GZIP_ENCODING = ascii("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
const LAST_CHUNK = ascii("0\r\n\r\n");
const HOST_WWW = ascii("www.");

/** Body sizes per kind: smallest and largest, in bytes. */
const BODY_SIZES = [[800, 16000], [60, 3000], [300, 24000], [1000, 20000], [400, 8000]] as const;
const BODY_MAX = 24000;

function repeatText(head: string, item: (i: number) => string, tail: string): Uint8Array {
  let s = head;
  for (let i = 1; s.length < BODY_MAX + tail.length; i++) s += item(i);
  return ascii(s + tail);
}

/** Bodies are prefixes of these, so a response costs one copy rather than text building. */
const BODIES = [
  repeatText(
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Example shop</title>' +
      '<link rel="stylesheet" href="/static/css/site.css"></head>\n<body>\n',
    (i) =>
      `<div class="item"><h2>Item ${i}</h2><p>Lorem ipsum dolor sit amet, consectetur ` +
      `adipiscing elit, sed do eiusmod tempor.</p><a href="/products?id=${i}">more</a></div>\n`,
    "</body></html>\n",
  ),
  repeatText(
    '{"items":[',
    (i) => `{"id":${i},"name":"item-${i}","price":${i % 97}.99,"tags":["new","sale"]},`,
    "{}]}",
  ),
  new Uint8Array(0),
  repeatText(
    '(function(){"use strict";',
    (i) => `function f${i}(a,b){return a.map(function(x){return x*${i}+b;});}`,
    "})();\n",
  ),
  repeatText("", (i) => `.c-${i}{margin:0;padding:4px 8px;color:#333;font-size:${i % 20}px}\n`, ""),
];
/** PNG signature and an IHDR chunk (256 × 256 RGBA). */
const PNG_HEAD = hexBytes(
  `89504e470d0a1a0a 0000000d 49484452 00000100 00000100 08 06 00 00 00 5c72a866`,
);
const PNG_IDAT = ascii("IDAT");
const PNG_IEND = hexBytes(`00000000 49454e44 ae426082`);

function writeHttpRequest(
  w: MessageWriter,
  r: AppRandom,
  host: MessageWriter,
  kind: number,
  etag: number,
  tail = REQUEST_TAIL,
): void {
  const [before, after] = pick(r, PATHS[kind]!);
  w.writeBytes(GET);
  w.writeBytes(before);
  if (kind === KIND_JS || kind === KIND_CSS) w.writeHex(r.int(0x10000000));
  else if (before.length > 1) w.writeDecimal(r.int(100000));
  w.writeBytes(after);
  w.writeBytes(REQUEST_MIDDLE);
  w.writeBytes(host.bytes());
  w.writeBytes(pick(r, USER_AGENTS));
  w.writeBytes(ACCEPTS[kind]!);
  w.writeBytes(tail);
  if (etag !== 0) {
    w.writeBytes(IF_NONE_MATCH);
    w.writeHex(etag);
    w.writeBytes(QUOTE_CRLF);
  }
  w.writeBytes(CRLF);
}

function writeHttpResponse(w: MessageWriter, r: AppRandom, kind: number, etag: number): void {
  if (etag !== 0) {
    w.writeBytes(STATUS_304);
    w.writeBytes(RESPONSE_HEAD);
    w.writeBytes(CACHE_ETAG);
    w.writeHex(etag);
    w.writeBytes(QUOTE_CRLF);
    w.writeBytes(KEEP_ALIVE);
    return;
  }
  const missing = r.float() < 0.03;
  if (missing) kind = KIND_HTML;
  const [min, max] = BODY_SIZES[kind]!;
  const size = missing ? 150 + r.int(200) : min + r.int(max - min + 1);
  const chunked = kind !== KIND_PNG && r.float() < 0.2;
  w.writeBytes(missing ? STATUS_404 : STATUS_200);
  w.writeBytes(RESPONSE_HEAD);
  w.writeBytes(CONTENT_TYPES[kind]!);
  if (chunked) w.writeBytes(CHUNKED);
  else {
    w.writeBytes(CONTENT_LENGTH);
    w.writeDecimal(size);
    w.writeBytes(CRLF);
  }
  w.writeBytes(CACHE_ETAG);
  w.writeHex(1 + r.int(0x7fffffff));
  w.writeBytes(QUOTE_CRLF);
  w.writeBytes(KEEP_ALIVE);
  if (kind === KIND_PNG) {
    // One IDAT chunk of random bytes (its CRC too: nothing here inflates it) and IEND.
    const data = size - PNG_HEAD.length - 12 - PNG_IEND.length;
    w.writeBytes(PNG_HEAD);
    w.writeUint32(data);
    w.writeBytes(PNG_IDAT);
    w.writeRandom(r, data + 4);
    w.writeBytes(PNG_IEND);
    return;
  }
  const body = BODIES[kind]!;
  if (!chunked) {
    w.writeBytes(body.subarray(0, size));
    return;
  }
  for (let at = 0; at < size;) {
    const n = Math.min(size - at, 1024 + r.int(7168));
    w.writeHex(n);
    w.writeBytes(CRLF);
    w.writeBytes(body.subarray(at, at + n));
    w.writeBytes(CRLF);
    at += n;
  }
  w.writeBytes(LAST_CHUNK);
}

/**
 * How HTTP flows behave in an HTTP-heavy trace, every field given (the
 * generator's `HttpOptions` with their defaults filled in).
 */
export interface HttpTraffic {
  /** Most requests on one connection; 1 is one request per connection. */
  readonly requestsPerConnection: number;
  /** Share of connections with one request and `Connection: close` whatever the above. */
  readonly oneRequestShare: number;
  /** Largest response body, bytes. */
  readonly bodyMax: number;
  /** Share of responses to unconditional requests sent gzip-encoded. */
  readonly gzipShare: number;
  /** Share of responses other than images sent chunked. */
  readonly chunkedShare: number;
}

/** Share of requests that are conditional (answered 304, no body), as in the default traffic. */
const CONDITIONAL_SHARE = 0.15;
/** Share of responses to unconditional requests that are 404 (a small HTML body). */
const NOT_FOUND_SHARE = 0.03;
/** Share of bodies that are empty (`Content-Length: 0`, or only the last chunk). */
const EMPTY_BODY_SHARE = 0.05;
/**
 * Share of bodies drawn from the large range, `BODY_MAX … bodyMax`, evenly
 * on a log scale; the rest have the default traffic's sizes. With 1 MiB
 * bodies a response averages about 30 KB, as the HTTP Archive's pages do
 * (about 2 MB in some 70 responses), and most of the bytes are in the few
 * large ones.
 */
const LARGE_BODY_SHARE = 0.1;
/** An image body shorter than this (signature, IHDR, IDAT head, IEND) is sent empty. */
const PNG_MIN = 64;

/** A body size for `kind`: many small, some empty, some large, none above `bodyMax`. */
function heavyBodySize(r: AppRandom, kind: number, bodyMax: number): number {
  const u = r.float();
  if (u < EMPTY_BODY_SHARE) return 0;
  if (u < EMPTY_BODY_SHARE + LARGE_BODY_SHARE && bodyMax > BODY_MAX) {
    return Math.floor(BODY_MAX * (bodyMax / BODY_MAX) ** r.float());
  }
  const [min, max] = BODY_SIZES[kind]!;
  const size = min + r.int(max - min + 1);
  return size < bodyMax ? size : bodyMax;
}

/**
 * An HTTP-heavy response: its head written to the burst, its body appended
 * as views of the shared bodies (`http_bodies.ts`), gzip-encoded or
 * chunked as asked.
 */
function writeHeavyResponse(
  b: Burst,
  r: AppRandom,
  h: HttpTraffic,
  kind: number,
  etag: number,
  gzip: boolean,
  close: boolean,
): void {
  const w = b.data;
  const connection = close ? CLOSE : KEEP_ALIVE;
  if (etag !== 0) {
    w.writeBytes(STATUS_304);
    w.writeBytes(RESPONSE_HEAD);
    w.writeBytes(CACHE_ETAG);
    w.writeHex(etag);
    w.writeBytes(QUOTE_CRLF);
    w.writeBytes(connection);
    return;
  }
  const missing = !gzip && r.float() < NOT_FOUND_SHARE;
  if (missing) kind = KIND_HTML;
  let size = missing ? 150 + r.int(200) : heavyBodySize(r, kind, h.bodyMax);
  if (kind === KIND_PNG && size < PNG_MIN) size = 0;
  const chunked = kind !== KIND_PNG && r.float() < h.chunkedShare;
  const body = kind === KIND_PNG ? null : gzip ? gzipBody(kind, size) : textBody(kind, size);
  w.writeBytes(missing ? STATUS_404 : STATUS_200);
  w.writeBytes(RESPONSE_HEAD);
  w.writeBytes(CONTENT_TYPES[kind]!);
  if (gzip) w.writeBytes(GZIP_ENCODING);
  if (chunked) w.writeBytes(CHUNKED);
  else {
    w.writeBytes(CONTENT_LENGTH);
    w.writeDecimal(body === null ? size : body.length);
    w.writeBytes(CRLF);
  }
  w.writeBytes(CACHE_ETAG);
  w.writeHex(1 + r.int(0x7fffffff));
  w.writeBytes(QUOTE_CRLF);
  w.writeBytes(connection);
  if (body === null) {
    if (size === 0) return;
    // One IDAT chunk of random bytes (its CRC too: nothing here inflates it) and IEND.
    const data = size - PNG_HEAD.length - 12 - PNG_IEND.length;
    w.writeBytes(PNG_HEAD);
    w.writeUint32(data);
    w.writeBytes(PNG_IDAT);
    b.append(pixelBytes(data + 4));
    w.writeBytes(PNG_IEND);
    return;
  }
  if (!chunked) {
    b.append(body);
    return;
  }
  for (let at = 0; at < body.length;) {
    const n = Math.min(body.length - at, 1024 + r.int(15360));
    w.writeHex(n);
    w.writeBytes(CRLF);
    b.append(body.subarray(at, at + n));
    w.writeBytes(CRLF);
    at += n;
  }
  w.writeBytes(LAST_CHUNK);
}

const TLS_HANDSHAKE = 0x16;
const TLS_APPLICATION_DATA = 0x17;

/** The largest ciphertext of one record: 2^14 plus an AEAD's tag and nonce. */
const TLS_RECORD_MAX = 16384 + 24;

function hexBytes(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `bytes` behind a 16-bit length. */
function withLength(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 2);
  out[0] = bytes.length >>> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

/** Cipher suites (TLS 1.3 first, then ECDHE and RSA ones) and the null compression method. */
const CH_CIPHERS = hexBytes(`
  001e 1301 1302 1303 c02b c02f c02c c030 cca9 cca8 c013 c014 009c 009d 002f 0035
  01 00`);
/**
 * Every ClientHello extension after server_name, the key share last so its
 * 32 random bytes go at the end: extended_master_secret, renegotiation_info,
 * supported_groups, ec_point_formats, then the session ticket (empty, or
 * the ticket a resuming client offers), then ALPN (h2, http/1.1),
 * signature_algorithms, supported_versions (1.3, 1.2), psk_key_exchange_modes,
 * key_share (x25519).
 */
const CH_EXTENSIONS_HEAD = hexBytes(`
  0017 0000
  ff01 0001 00
  000a 0008 0006 001d 0017 0018
  000b 0002 01 00`);
const EMPTY_SESSION_TICKET = hexBytes(`0023 0000`);
const CH_EXTENSIONS_TAIL = hexBytes(`
  0010 000e 000c 02 6832 08 687474702f312e31
  000d 0012 0010 0403 0804 0401 0503 0805 0501 0806 0601
  002b 0005 04 0304 0303
  002d 0002 01 01
  0033 0026 0024 001d 0020`);
/** renegotiation_info, ec_point_formats, extended_master_secret, ALPN (http/1.1). */
const SH12_EXTENSIONS = withLength(hexBytes(`
  ff01 0001 00 000b 0002 01 00 0017 0000 0010 000b 0009 08 687474702f312e31`));
/** The same and an empty session_ticket: the server will send a NewSessionTicket. */
const SH12_TICKET_EXTENSIONS = withLength(hexBytes(`
  ff01 0001 00 000b 0002 01 00 0017 0000 0023 0000 0010 000b 0009 08 687474702f312e31`));
/** supported_versions (1.3) and key_share (x25519), its 32 random bytes to follow. */
const SH13_EXTENSIONS_HEAD = hexBytes(`002e 002b 0002 0304 0033 0024 001d 0020`);
const CCS_RECORD = hexBytes(`14 0303 0001 01`);
const SERVER_HELLO_DONE = hexBytes(`16 0303 0004 0e 000000`);
const SNI_WORDS = ["www", "api", "login", "cdn", "static", "accounts", "mail"].map(ascii);

/**
 * A real chain, so certificate parsers have something to parse: a leaf for
 * www.example.com (and *.example.com, *.example.net) valid Sep 2023 – Sep
 * 2024, around the generator's default start time, and the self-signed
 * "Example Test CA" that issued it. Made once with openssl for these traces;
 * no private key is kept.
 */
const CERT_CHAIN = [[
  "MIIDqjCCApKgAwIBAgICEAEwDQYJKoZIhvcNAQELBQAwPzELMAkGA1UEBhMCVVMxFjAUBgNVBAoMDUV4YW1wbGUgVH",
  "J1c3QxGDAWBgNVBAMMD0V4YW1wbGUgVGVzdCBDQTAeFw0yMzA5MDEwMDAwMDBaFw0yNDA5MDEwMDAwMDBaMD4xCzAJ",
  "BgNVBAYTAlVTMRUwEwYDVQQKDAxFeGFtcGxlIFNob3AxGDAWBgNVBAMMD3d3dy5leGFtcGxlLmNvbTCCASIwDQYJKo",
  "ZIhvcNAQEBBQADggEPADCCAQoCggEBAOeTwb4wknv0KhSMB3giZOP3WMEqv6Fl9MEXLFruzomQE9ino17rkLPvY0wl",
  "7/kaDEMIGZXDVxXfTzrrj+J2PsFylI3IFEQ6VzFZDM6xlbuWOCMbBpPkWYH4UTHeiTZUBSJfFlM9yG80RN7j33ZrzF",
  "A593R8/UZC5kW2hTRlj+5FtIamLylYQniG9oC2pz4L3yMD5nF8jMwp9i/VrcROaVmv5izbs1KfCBYsBrt5xUPJ1axc",
  "UOxFEIGsNJQy89PS106kG+i1auHtTIF3EJtP0kmHHUi76z7IMfweLnpFhrw1H+ZGqrK4FjcfEC9pyEvNIHUO70pj2a",
  "X+G6413KD9W9MCAwEAAaOBsDCBrTAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEF",
  "BQcDATA4BgNVHREEMTAvgg93d3cuZXhhbXBsZS5jb22CDSouZXhhbXBsZS5jb22CDSouZXhhbXBsZS5uZXQwHwYDVR",
  "0jBBgwFoAUVuUixakzsbJW9OKbfcbVe9gefEgwHQYDVR0OBBYEFPj5MYpEV308MPiiTqchiSA+isb+MA0GCSqGSIb3",
  "DQEBCwUAA4IBAQA0BHMZflU6LaTJqhsqTF9v+aVKbrsbroQetbVeUHQSkSZoco5z5zdGCJEgr1GcNwWziUBDyucvQK",
  "SGn4dLXeeDJRgFvvcjPxs29oab+uYhVDq0tXhfE8GDQ+C30T39XVxWT1i7CwmUE858ZD1dDKWY1sWUk4Ga7iVLs10P",
  "KttpIdpL3T+kBWLbX/8dBmxet4LddpL/uxeLb+Ao0JY++Tqoly4PxWhZG+SIjGrNCHMHFjqdlvS+Hdqu7/dlCylvN+",
  "gUry9M+OWh+73wMvShbsYn6BHHxj7VgjGoGR10jLRJsvupzrWPDMH6bSqVqtQK8AWkRTLy7W9wAybdHLxm8DL/",
], [
  "MIIDPDCCAiSgAwIBAgICEAAwDQYJKoZIhvcNAQELBQAwPzELMAkGA1UEBhMCVVMxFjAUBgNVBAoMDUV4YW1wbGUgVH",
  "J1c3QxGDAWBgNVBAMMD0V4YW1wbGUgVGVzdCBDQTAeFw0yMzAxMDEwMDAwMDBaFw0zMzAxMDEwMDAwMDBaMD8xCzAJ",
  "BgNVBAYTAlVTMRYwFAYDVQQKDA1FeGFtcGxlIFRydXN0MRgwFgYDVQQDDA9FeGFtcGxlIFRlc3QgQ0EwggEiMA0GCS",
  "qGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC4oxcqhEfuAq09Hkp5oVOlGnRHgyx44iZ4FNd3eWRuhmO7ebr8R4LGyaSN",
  "sBUbUAsB55DRHIKMXZayMKkUUSh6yP7ZOfrA3+6r0S+9fnKPpXZmu85RZP66xC9KehYt6gTOaQT/bsiy2sHZ+xSoiH",
  "lFtbl90OlMqWCpW+4QEVUnO0eWFo28WCJMBCujINb6DbI7se1iPOevH+fNms+NGC3jD4csb/zUDQYDRMc70ZRtk/vV",
  "/eGdlbHWt+3qYjJ4d8jewB4YOFXi43eCpLXw3hXvSoFnQ/06gPJoAEJJwhvr4CAT4wVFq4cyFxDk5Eo9wrtSS469er",
  "1jRp4ApA/yCWJfAgMBAAGjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBRW5SLF",
  "qTOxslb04pt9xtV72B58SDANBgkqhkiG9w0BAQsFAAOCAQEAfvRUDFhAfq+9s5uK+pvZW+GsypJNxY+cqwmgaB6aV3",
  "4XHyJEUpzr8BSzrWjiu10jxmk9BgDt+lFGuZ/gyRBYFyu3RRsjyAioLEjT0bbIerxhca94SBiUGbl0c1rDHjjJTAU2",
  "DICy2LJ5YZ9o+JxmH19alqyOYN2NzteL/qJGR8FAjI6NQx/yhPW5roL9i+Ds94iNQiFsCJoxb0HZs1qWhqimSwKpg8",
  "25nBoJdJ9ub4LOMa7/9T2eH/jZo9bSgW9bIaIQdYm2q43BAw+724uYeXQhV30jirK/9D01ihnVXaOvVJzcxroKbcig",
  "V2V9fEd9tO+XROI2JIxyj3CMSSE2kQ==",
]].map((parts) => Uint8Array.from(atob(parts.join("")), (c) => c.charCodeAt(0)));

/** Starts a record of `type`; returns where its length goes. */
function recordStart(w: MessageWriter, type: number, version = 0x0303): number {
  w.writeUint8(type);
  w.writeUint16(version);
  const at = w.length;
  w.writeUint16(0);
  return at;
}

function recordEnd(w: MessageWriter, lenAt: number): void {
  w.setUint16At(lenAt, w.length - lenAt - 2);
}

/** Starts a handshake message; returns where its 24-bit length goes. */
function handshakeStart(w: MessageWriter, type: number): number {
  w.writeUint8(type);
  const at = w.length;
  w.writeUint24(0);
  return at;
}

function handshakeEnd(w: MessageWriter, lenAt: number): void {
  w.setUint24At(lenAt, w.length - lenAt - 3);
}

/** A record of `len` random bytes (ciphertext). */
function writeOpaqueRecord(w: MessageWriter, r: AppRandom, type: number, len: number): void {
  w.writeUint8(type);
  w.writeUint16(0x0303);
  w.writeUint16(len);
  w.writeRandom(r, len);
}

/** Application data of `total` bytes as records of at most `TLS_RECORD_MAX`; returns the records. */
function writeAppData(w: MessageWriter, r: AppRandom, total: number): number {
  let records = 0;
  while (total > 0) {
    const n = Math.min(total, TLS_RECORD_MAX);
    writeOpaqueRecord(w, r, TLS_APPLICATION_DATA, n);
    total -= n;
    records++;
  }
  return records;
}

/**
 * A ClientHello with a random 32-byte session id and an empty session
 * ticket extension, or (`ticket` > 0) an empty session id and a session
 * ticket of `ticket` random bytes, as a client resuming by ticket sends
 * it; returns where the session id starts.
 */
function writeClientHello(w: MessageWriter, r: AppRandom, sni: MessageWriter, ticket = 0): number {
  // Record version 1.0 in a ClientHello, as clients send it for middleboxes' sake.
  const rec = recordStart(w, TLS_HANDSHAKE, 0x0301);
  const hs = handshakeStart(w, 1);
  w.writeUint16(0x0303);
  w.writeRandom(r, 32);
  const idAt = w.length + 1;
  if (ticket > 0) w.writeUint8(0);
  else {
    w.writeUint8(32);
    w.writeRandom(r, 32);
  }
  w.writeBytes(CH_CIPHERS);
  const extAt = w.length;
  w.writeUint16(0);
  w.writeUint16(0);
  w.writeUint16(sni.length + 5);
  w.writeUint16(sni.length + 3);
  w.writeUint8(0);
  w.writeUint16(sni.length);
  w.writeBytes(sni.bytes());
  w.writeBytes(CH_EXTENSIONS_HEAD);
  if (ticket > 0) {
    w.writeUint16(0x0023);
    w.writeUint16(ticket);
    w.writeRandom(r, ticket);
  } else w.writeBytes(EMPTY_SESSION_TICKET);
  w.writeBytes(CH_EXTENSIONS_TAIL);
  w.writeRandom(r, 32);
  w.setUint16At(extAt, w.length - extAt - 2);
  handshakeEnd(w, hs);
  recordEnd(w, rec);
  return idAt;
}

function writeServerHello(w: MessageWriter, r: AppRandom, tls13: boolean): void {
  const rec = recordStart(w, TLS_HANDSHAKE);
  const hs = handshakeStart(w, 2);
  w.writeUint16(0x0303);
  w.writeRandom(r, 32);
  w.writeUint8(32);
  w.writeRandom(r, 32);
  w.writeUint16(tls13 ? 0x1301 : 0xc02f);
  w.writeUint8(0);
  if (tls13) {
    w.writeBytes(SH13_EXTENSIONS_HEAD);
    w.writeRandom(r, 32);
  } else w.writeBytes(SH12_EXTENSIONS);
  handshakeEnd(w, hs);
  recordEnd(w, rec);
}

/**
 * The ServerHello of an abbreviated TLS 1.2 handshake: the client's
 * session id echoed (resumption by id), or, when `sessionId` is empty
 * (resumption by ticket), an empty one and the session_ticket extension.
 */
function writeResumingServerHello(w: MessageWriter, r: AppRandom, sessionId: Uint8Array): void {
  const rec = recordStart(w, TLS_HANDSHAKE);
  const hs = handshakeStart(w, 2);
  w.writeUint16(0x0303);
  w.writeRandom(r, 32);
  w.writeUint8(sessionId.length);
  w.writeBytes(sessionId);
  w.writeUint16(0xc02f);
  w.writeUint8(0);
  w.writeBytes(sessionId.length > 0 ? SH12_EXTENSIONS : SH12_TICKET_EXTENSIONS);
  handshakeEnd(w, hs);
  recordEnd(w, rec);
}

/** TLS 1.2 server flight: ServerHello, Certificate (leaf and CA), ServerKeyExchange, ServerHelloDone. */
function writeServerFlight12(w: MessageWriter, r: AppRandom): number {
  writeServerHello(w, r, false);
  const rec = recordStart(w, TLS_HANDSHAKE);
  const hs = handshakeStart(w, 11);
  const listAt = w.length;
  w.writeUint24(0);
  for (const der of CERT_CHAIN) {
    w.writeUint24(der.length);
    w.writeBytes(der);
  }
  w.setUint24At(listAt, w.length - listAt - 3);
  handshakeEnd(w, hs);
  recordEnd(w, rec);
  const ske = recordStart(w, TLS_HANDSHAKE);
  const skeHs = handshakeStart(w, 12);
  w.writeUint8(3); // named_curve
  w.writeUint16(0x001d);
  w.writeUint8(32);
  w.writeRandom(r, 32);
  w.writeUint16(0x0804);
  w.writeUint16(256);
  w.writeRandom(r, 256);
  handshakeEnd(w, skeHs);
  recordEnd(w, ske);
  w.writeBytes(SERVER_HELLO_DONE);
  return 4;
}

/** TLS 1.3 server flight: ServerHello, the compatibility ChangeCipherSpec, and the encrypted rest. */
function writeServerFlight13(w: MessageWriter, r: AppRandom): number {
  writeServerHello(w, r, true);
  w.writeBytes(CCS_RECORD);
  writeOpaqueRecord(w, r, TLS_APPLICATION_DATA, 2500 + r.int(2500));
  writeOpaqueRecord(w, r, TLS_APPLICATION_DATA, 53);
  return 4;
}

/** TLS 1.2 client: ClientKeyExchange, ChangeCipherSpec, Finished (encrypted). */
function writeClientFinish12(w: MessageWriter, r: AppRandom): number {
  const rec = recordStart(w, TLS_HANDSHAKE);
  const hs = handshakeStart(w, 16);
  w.writeUint8(32);
  w.writeRandom(r, 32);
  handshakeEnd(w, hs);
  recordEnd(w, rec);
  w.writeBytes(CCS_RECORD);
  writeOpaqueRecord(w, r, TLS_HANDSHAKE, 40);
  return 3;
}

/** TLS 1.2 server: NewSessionTicket, ChangeCipherSpec, Finished (encrypted). */
function writeServerFinish12(w: MessageWriter, r: AppRandom): number {
  const rec = recordStart(w, TLS_HANDSHAKE);
  const hs = handshakeStart(w, 4);
  w.writeUint32(7200);
  w.writeUint16(192);
  w.writeRandom(r, 192);
  handshakeEnd(w, hs);
  recordEnd(w, rec);
  w.writeBytes(CCS_RECORD);
  writeOpaqueRecord(w, r, TLS_HANDSHAKE, 40);
  return 3;
}

/**
 * Resumption by session id, the server's flight: ServerHello (the id
 * echoed), ChangeCipherSpec, Finished (encrypted); no Certificate, no
 * key exchange.
 */
function writeServerResumeById(w: MessageWriter, r: AppRandom, sessionId: Uint8Array): number {
  writeResumingServerHello(w, r, sessionId);
  w.writeBytes(CCS_RECORD);
  writeOpaqueRecord(w, r, TLS_HANDSHAKE, 40);
  return 3;
}

/**
 * Resumption by session ticket, the server's flight: ServerHello (empty
 * session id), NewSessionTicket (a fresh ticket), ChangeCipherSpec,
 * Finished (encrypted).
 */
function writeServerResumeByTicket(w: MessageWriter, r: AppRandom): number {
  writeResumingServerHello(w, r, NO_SESSION_ID);
  return 1 + writeServerFinish12(w, r);
}

/** The client's end of an abbreviated handshake: ChangeCipherSpec, Finished (encrypted). */
function writeClientResumeFinish(w: MessageWriter, r: AppRandom): number {
  w.writeBytes(CCS_RECORD);
  writeOpaqueRecord(w, r, TLS_HANDSHAKE, 40);
  return 2;
}

/** The handshakes of TLS flows, as `FlowTruth.tlsHandshake` names them. */
export type TlsHandshake = "full-1.2" | "full-1.3" | "resumed-id" | "resumed-ticket";

const HS_FULL_12 = 0;
const HS_FULL_13 = 1;
const HS_RESUMED_ID = 2;
const HS_RESUMED_TICKET = 3;
const HANDSHAKE_NAMES: readonly TlsHandshake[] = [
  "full-1.2",
  "full-1.3",
  "resumed-id",
  "resumed-ticket",
];
const NO_SESSION_ID = new Uint8Array(0);
/** The session ticket a resuming client offers, as long as the ones servers here issue. */
const TICKET_LENGTH = 192;

/**
 * How TLS flows behave in a TLS-heavy trace, every field given (the
 * generator's `TlsOptions` with their defaults filled in).
 */
export interface TlsTraffic {
  /** Share of connections with a full TLS 1.3 handshake. */
  readonly tls13Share: number;
  /** Share of connections that resume a TLS 1.2 session by its session id. */
  readonly sessionIdShare: number;
  /** Share of connections that resume a TLS 1.2 session by a session ticket; full TLS 1.2 gets the rest. */
  readonly ticketShare: number;
  /** Most request/response exchanges on one connection: 1 … N, evenly drawn. */
  readonly exchangesPerConnection: number;
  /** Share of connections whose last response is a long encrypted stream. */
  readonly streamShare: number;
  /** Longest stream, bytes; streams spread evenly on a log scale from 256 KiB (or this, if less). */
  readonly streamMax: number;
}

/** The shortest long stream, unless `streamMax` is shorter. */
const STREAM_MIN = 256 * 1024;
/** Ciphertext is a view of the shared random bytes starting anywhere in this span. */
const CIPHERTEXT_SPAN = 1024 * 1024;

/** `len` bytes of ciphertext: a view of shared random bytes (the images' pixels), drawn at random. */
function ciphertext(r: AppRandom, len: number): Uint8Array {
  const at = r.int(CIPHERTEXT_SPAN);
  return pixelBytes(CIPHERTEXT_SPAN + TLS_RECORD_MAX).subarray(at, at + len);
}

/**
 * Application data of `total` bytes as records of at most
 * `TLS_RECORD_MAX`, each a header written to the burst and its ciphertext
 * appended as a view; returns the records.
 */
function appendAppData(b: Burst, r: AppRandom, total: number): number {
  const w = b.data;
  let records = 0;
  while (total > 0) {
    const n = total < TLS_RECORD_MAX ? total : TLS_RECORD_MAX;
    w.writeUint8(TLS_APPLICATION_DATA);
    w.writeUint16(0x0303);
    w.writeUint16(n);
    b.append(ciphertext(r, n));
    total -= n;
    records++;
  }
  return records;
}

/** A long stream's length: from `STREAM_MIN` to `streamMax`, evenly on a log scale. */
function streamLength(r: AppRandom, streamMax: number): number {
  if (streamMax <= STREAM_MIN) return streamMax;
  return Math.floor(STREAM_MIN * (streamMax / STREAM_MIN) ** r.float());
}

/**
 * What one flow says at the application layer, a burst at a time. A flow
 * keeps asking `next` until it returns false; `budgetSpent` tells the
 * conversation the flow has used its share of packets, and it ends at the
 * next point where a client would start a new exchange (after at least one
 * complete exchange, so every flow carries a whole request and its answer).
 */
export class AppConversation {
  readonly burst = new Burst();
  app = APP_NONE;
  tcp = false;
  #phase = 0;
  #exchanges = 0;
  readonly #questions = [new DnsQuestion(), new DnsQuestion()];
  #pending = 0;
  readonly #host = new MessageWriter(64);
  #kind = 0;
  #etag = 0;
  #tls13 = false;
  /** HTTP-heavy traffic: its settings (null for the default traffic), requests, and what this flow does. */
  #heavy: HttpTraffic | null = null;
  #requests = 0;
  #gzip = false;
  #close = false;
  /** TLS: the handshake, and the session id a client resuming by id offered. */
  #handshake = HS_FULL_12;
  readonly #sessionId = new Uint8Array(32);
  /** TLS-heavy traffic: its settings (null for the default traffic), and this flow's long stream (0: none). */
  #tlsHeavy: TlsTraffic | null = null;
  #stream = 0;

  /**
   * Prepares the conversation for a new flow (conversations are reused
   * across flows); with `http`, an HTTP flow is HTTP-heavy traffic, and
   * with `tls` a TLS flow is TLS-heavy traffic.
   */
  reset(
    r: AppRandom,
    app: number,
    tcp: boolean,
    http: HttpTraffic | null = null,
    tls: TlsTraffic | null = null,
  ): void {
    this.app = app;
    this.tcp = tcp;
    this.#phase = 0;
    this.#exchanges = 0;
    this.#pending = 0;
    if (app === APP_HTTP || app === APP_TLS) {
      const h = this.#host;
      h.reset();
      h.writeBytes(app === APP_HTTP ? HOST_WWW : pick(r, SNI_WORDS));
      if (app === APP_TLS) h.writeUint8(46);
      h.writeBytes(pick(r, ZONE_WORDS));
      h.writeDecimal(r.int(1000));
      h.writeUint8(46);
      h.writeBytes(pick(r, TLDS));
    }
    this.#tls13 = app === APP_TLS && r.float() < 0.6;
    // Drawn after everything the default traffic draws, so without `http` a seed gives the same bytes.
    this.#heavy = app === APP_HTTP ? http : null;
    this.#close = false;
    if (this.#heavy !== null) {
      const n = this.#heavy.requestsPerConnection;
      this.#close = n === 1 || r.float() < this.#heavy.oneRequestShare;
      this.#requests = this.#close ? 1 : 1 + r.int(n);
    }
    this.#handshake = this.#tls13 ? HS_FULL_13 : HS_FULL_12;
    this.#tlsHeavy = app === APP_TLS ? tls : null;
    this.#stream = 0;
    if (this.#tlsHeavy !== null) {
      const t = this.#tlsHeavy;
      const u = r.float();
      this.#handshake = u < t.tls13Share
        ? HS_FULL_13
        : u < t.tls13Share + t.sessionIdShare
        ? HS_RESUMED_ID
        : u < t.tls13Share + t.sessionIdShare + t.ticketShare
        ? HS_RESUMED_TICKET
        : HS_FULL_12;
      this.#tls13 = this.#handshake === HS_FULL_13;
      this.#requests = 1 + r.int(t.exchangesPerConnection);
      if (r.float() < t.streamShare) this.#stream = streamLength(r, t.streamMax);
    }
  }

  /** The handshake of a TLS flow; null for other applications. */
  get tlsHandshake(): TlsHandshake | null {
    return this.app === APP_TLS ? HANDSHAKE_NAMES[this.#handshake]! : null;
  }

  /** True when the server closes the connection (after a `Connection: close` exchange). */
  get serverCloses(): boolean {
    return this.#close;
  }

  /**
   * Full segments a receiver takes before it sends a pure ACK (delayed ACK,
   * RFC 1122's every second segment) in HTTP-heavy and TLS-heavy traffic; 0 elsewhere,
   * where the next burst carries the ACK.
   */
  get ackEvery(): number {
    return this.#heavy === null && this.#tlsHeavy === null ? 0 : 2;
  }

  /** Fills `burst` with what comes next; false when the conversation is over. */
  next(r: AppRandom, budgetSpent: boolean): boolean {
    if (this.app === APP_DNS) return this.#dns(r, budgetSpent);
    if (this.app === APP_HTTP) return this.#http(r, budgetSpent);
    return this.#tls(r, budgetSpent);
  }

  #dns(r: AppRandom, budgetSpent: boolean): boolean {
    const b = this.burst;
    const w = b.data;
    if (this.#phase === 0) {
      if (this.tcp && budgetSpent && this.#exchanges > 0) return false;
      b.start(true);
      // Over TCP a client sometimes pipelines two queries in one segment.
      const count = this.tcp && r.float() < 0.2 ? 2 : 1;
      for (let i = 0; i < count; i++) {
        const q = this.#questions[i]!;
        newQuestion(r, q);
        const lenAt = this.#lengthPrefix(w);
        writeDnsQuery(w, q);
        this.#endPrefix(w, lenAt);
      }
      this.#pending = count;
      b.messages = count;
      this.#phase = 1;
    } else {
      b.start(false);
      let firstEnd = 0;
      for (let i = 0; i < this.#pending; i++) {
        const lenAt = this.#lengthPrefix(w);
        writeDnsResponse(w, r, this.#questions[i]!);
        this.#endPrefix(w, lenAt);
        if (i === 0) firstEnd = w.length;
      }
      b.messages = this.#pending;
      // Two answers sometimes go in separate segments.
      if (this.#pending === 2 && r.float() < 0.5) b.firstCut = firstEnd;
      this.#phase = 0;
      this.#exchanges++;
    }
    // A message split across two segments, sometimes right after its length prefix.
    if (this.tcp && b.firstCut === 0 && r.float() < 0.15) {
      b.firstCut = r.float() < 0.3 ? 2 : 1 + r.int(w.length - 1);
    }
    return true;
  }

  #lengthPrefix(w: MessageWriter): number {
    if (!this.tcp) return -1;
    w.writeUint16(0);
    return w.length - 2;
  }

  #endPrefix(w: MessageWriter, at: number): void {
    if (at >= 0) w.setUint16At(at, w.length - at - 2);
  }

  #http(r: AppRandom, budgetSpent: boolean): boolean {
    if (this.#heavy !== null) return this.#heavyHttp(r, this.#heavy);
    const b = this.burst;
    if (this.#phase === 0) {
      if (budgetSpent && this.#exchanges > 0) return false;
      b.start(true);
      this.#kind = pick(r, KINDS);
      // A conditional request the server answers with 304 and no body.
      this.#etag = r.float() < 0.15 ? 1 + r.int(0x7fffffff) : 0;
      writeHttpRequest(b.data, r, this.#host, this.#kind, this.#etag);
      this.#phase = 1;
    } else {
      b.start(false);
      writeHttpResponse(b.data, r, this.#kind, this.#etag);
      this.#phase = 0;
      this.#exchanges++;
    }
    b.messages = 1;
    return true;
  }

  /** HTTP-heavy traffic: as many exchanges as drawn at `reset`, whatever the packet budget. */
  #heavyHttp(r: AppRandom, h: HttpTraffic): boolean {
    const b = this.burst;
    if (this.#phase === 0) {
      if (this.#exchanges >= this.#requests) return false;
      b.start(true);
      this.#etag = r.float() < CONDITIONAL_SHARE ? 1 + r.int(0x7fffffff) : 0;
      this.#gzip = this.#etag === 0 && r.float() < h.gzipShare;
      this.#kind = pick(r, this.#gzip ? TEXT_KINDS : KINDS);
      const tail = this.#close ? REQUEST_TAIL_CLOSE : REQUEST_TAIL;
      writeHttpRequest(b.data, r, this.#host, this.#kind, this.#etag, tail);
      this.#phase = 1;
    } else {
      b.start(false);
      writeHeavyResponse(b, r, h, this.#kind, this.#etag, this.#gzip, this.#close);
      this.#phase = 0;
      this.#exchanges++;
    }
    b.messages = 1;
    return true;
  }

  #tls(r: AppRandom, budgetSpent: boolean): boolean {
    const b = this.burst;
    const w = b.data;
    const phase = this.#phase;
    const handshake = this.#handshake;
    const heavy = this.#tlsHeavy;
    // 0 ClientHello, 1 server flight, 2 client finish, 3 (full 1.2) server finish, then data.
    const dataPhase = handshake === HS_FULL_12 ? 4 : 3;
    if (phase >= dataPhase && (phase - dataPhase) % 2 === 0) {
      // TLS-heavy flows run their drawn exchanges, whatever the packet budget.
      if (heavy !== null ? this.#exchanges >= this.#requests : budgetSpent && this.#exchanges > 0) {
        return false;
      }
    }
    const fromClient = phase < dataPhase ? phase % 2 === 0 : (phase - dataPhase) % 2 === 0;
    b.start(fromClient);
    if (phase === 0) {
      const ticket = handshake === HS_RESUMED_TICKET ? TICKET_LENGTH : 0;
      const idAt = writeClientHello(w, r, this.#host, ticket);
      if (handshake === HS_RESUMED_ID) this.#sessionId.set(w.buffer.subarray(idAt, idAt + 32));
      b.messages = 1;
    } else if (phase === 1) {
      b.messages = handshake === HS_FULL_13
        ? writeServerFlight13(w, r)
        : handshake === HS_FULL_12
        ? writeServerFlight12(w, r)
        : handshake === HS_RESUMED_ID
        ? writeServerResumeById(w, r, this.#sessionId)
        : writeServerResumeByTicket(w, r);
    } else if (phase === 2) {
      if (handshake === HS_FULL_13) {
        w.writeBytes(CCS_RECORD);
        writeOpaqueRecord(w, r, TLS_APPLICATION_DATA, 53);
        b.messages = 2;
      } else if (handshake === HS_FULL_12) b.messages = writeClientFinish12(w, r);
      else b.messages = writeClientResumeFinish(w, r);
    } else if (phase === 3 && handshake === HS_FULL_12) {
      b.messages = writeServerFinish12(w, r);
    } else if (heavy !== null) {
      const last = this.#exchanges === this.#requests - 1;
      const size = fromClient
        ? 80 + r.int(800)
        : last && this.#stream > 0
        ? this.#stream
        : 300 + r.int(r.float() < 0.2 ? 40000 : 6000);
      b.messages = appendAppData(b, r, size);
      if (!fromClient) this.#exchanges++;
    } else if (fromClient) {
      b.messages = writeAppData(w, r, 80 + r.int(800));
    } else {
      b.messages = writeAppData(w, r, 300 + r.int(r.float() < 0.2 ? 40000 : 6000));
      this.#exchanges++;
    }
    this.#phase = phase + 1;
    return true;
  }
}
