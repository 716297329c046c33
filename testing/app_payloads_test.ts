import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  CHECKSUM_BAD,
  DecodedPacket,
  formatAddress,
  openPcapFile,
  OUTCOME_IP,
  PacketDecoder,
} from "../capture/mod.ts";
import { analyzeTrace } from "../mod/trace/mod.ts";
import { type FlowTruth, generateTrace, generateTraceBytes, type TraceTruth } from "./mod.ts";

const OPTIONS = {
  flows: 600,
  packetsPerFlow: 10,
  ipv6Share: 0.3,
  vlanShare: 0.2,
  applications: true,
  seed: 11,
};

/** One direction of a flow: its payloads in order, each segment's length, and its pure ACKs. */
interface Side {
  payloads: Uint8Array[];
  segments: number[];
  nextSeq: number | undefined;
  pureAcks: number;
}

interface SeenFlow {
  client: string;
  proto: number;
  serverPort: number;
  fromClient: Side;
  fromServer: Side;
  /** UDP datagrams in trace order, with their direction. */
  datagrams: { fromClient: boolean; payload: Uint8Array }[];
  clientDatagrams: number;
  serverDatagrams: number;
  clientIpBytes: number;
  serverIpBytes: number;
  /** Which side sent the first FIN. */
  firstFin: "client" | "server" | undefined;
}

const newSide = (): Side => ({ payloads: [], segments: [], nextSeq: undefined, pureAcks: 0 });

/** A side's payloads as one stream. */
function joined(side: Side): Uint8Array {
  const out = new Uint8Array(side.segments.reduce((n, len) => n + len, 0));
  let at = 0;
  for (const p of side.payloads) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Decodes a generated trace and gathers each flow's payloads by direction, checking TCP sequence. */
async function readFlows(
  bytes: Uint8Array,
  truth: TraceTruth,
): Promise<Map<string, SeenFlow>> {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  await Deno.writeFile(path, bytes);
  try {
    await using source = await openPcapFile(path);
    const decoder = new PacketDecoder();
    const d = new DecodedPacket();
    const clients = new Set(truth.flows.map((f) => f.client));
    const flows = new Map<string, SeenFlow>();
    for (let batch = await source.next(); batch !== null; batch = await source.next()) {
      for (let i = 0; i < batch.count; i++) {
        assert.equal(decoder.decode(batch, i, d), OUTCOME_IP);
        assert.notEqual(d.ipChecksum, CHECKSUM_BAD);
        assert.notEqual(d.l4Checksum, CHECKSUM_BAD);
        const src = formatAddress(d.addr, 0);
        const fromClient = clients.has(src);
        const client = fromClient ? src : formatAddress(d.addr, 4);
        let f = flows.get(client);
        if (f === undefined) {
          f = {
            client,
            proto: d.proto,
            serverPort: fromClient ? d.dstPort : d.srcPort,
            fromClient: newSide(),
            fromServer: newSide(),
            datagrams: [],
            clientDatagrams: 0,
            serverDatagrams: 0,
            clientIpBytes: 0,
            serverIpBytes: 0,
            firstFin: undefined,
          };
          flows.set(client, f);
        }
        if (fromClient) {
          f.clientDatagrams++;
          f.clientIpBytes += d.ipTotalLen;
        } else {
          f.serverDatagrams++;
          f.serverIpBytes += d.ipTotalLen;
        }
        const payload = batch.data.slice(d.payloadOffset, d.payloadOffset + d.payloadLen);
        if (d.proto === 17) f.datagrams.push({ fromClient, payload });
        if (d.proto !== 6) continue;
        const side = fromClient ? f.fromClient : f.fromServer;
        if (side.nextSeq !== undefined) assert.equal(d.tcpSeq, side.nextSeq, "in-order sequence");
        side.nextSeq = (d.tcpSeq + d.payloadLen + ((d.tcpFlags & 0x03) !== 0 ? 1 : 0)) >>> 0;
        if ((d.tcpFlags & 0x01) !== 0) f.firstFin ??= fromClient ? "client" : "server";
        if (d.payloadLen > 0) {
          side.payloads.push(payload);
          side.segments.push(d.payloadLen);
        } else if (d.tcpFlags === 0x10) side.pureAcks++;
      }
    }
    return flows;
  } finally {
    await Deno.remove(path);
  }
}

/** A minimal DNS reader: enough to prove a message is well formed. */
class DnsReader {
  at = 0;
  constructor(readonly m: Uint8Array) {}

  u8(): number {
    assert.ok(this.at < this.m.length, "DNS message ends early");
    return this.m[this.at++]!;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  u32(): number {
    return ((this.u16() << 16) | this.u16()) >>> 0;
  }

  /** A name at the cursor, following compression pointers backwards only. */
  name(): string {
    const labels: string[] = [];
    let at = this.at;
    let jumped = false;
    for (let hops = 0; hops < 32; hops++) {
      const len = this.m[at]!;
      assert.ok(at < this.m.length, "name runs past the message");
      if (len === 0) {
        if (!jumped) this.at = at + 1;
        return labels.join(".");
      }
      if ((len & 0xc0) === 0xc0) {
        const target = ((len & 0x3f) << 8) | this.m[at + 1]!;
        assert.ok(target < at, `pointer ${target} points backwards`);
        assert.ok(target >= 12, "pointer into the header");
        if (!jumped) this.at = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      assert.ok(len <= 63, `label length ${len}`);
      const label = new TextDecoder().decode(this.m.subarray(at + 1, at + 1 + len));
      assert.match(label, /^[a-z0-9-]+$/, "label text");
      labels.push(label);
      at += 1 + len;
    }
    assert.fail("too many compression hops");
  }
}

interface DnsMessage {
  id: number;
  flags: number;
  question: string;
  qtype: number;
  answers: number;
  authority: number;
  additional: number;
  names: string[];
}

/** Walks header, question and every record; every byte must be accounted for. */
function parseDns(m: Uint8Array): DnsMessage {
  const r = new DnsReader(m);
  const id = r.u16();
  const flags = r.u16();
  assert.equal(r.u16(), 1, "one question");
  const answers = r.u16();
  const authority = r.u16();
  const additional = r.u16();
  const question = r.name();
  const qtype = r.u16();
  assert.equal(r.u16(), 1, "class IN");
  const names: string[] = [];
  for (let i = 0; i < answers + authority + additional; i++) {
    const owner = r.name();
    const type = r.u16();
    const klass = r.u16();
    const ttl = r.u32();
    const rdlen = r.u16();
    const end = r.at + rdlen;
    if (type === 41) {
      assert.equal(owner, "", "OPT owned by the root");
      assert.ok(klass >= 512, "OPT carries the UDP size");
    } else {
      assert.equal(klass, 1);
      assert.ok(ttl > 0, "a TTL");
    }
    if (type === 1 || type === 28) {
      assert.equal(rdlen, type === 1 ? 4 : 16);
      r.at = end;
    } else if (type === 5 || type === 12) names.push(r.name());
    else if (type === 15) {
      r.u16();
      names.push(r.name());
    } else if (type === 6) {
      names.push(r.name(), r.name());
      for (let k = 0; k < 5; k++) r.u32();
    } else if (type === 16) {
      assert.ok(rdlen > 0);
      for (let s = r.at; s < end; s += 1 + m[s]!);
      r.at = end;
    } else r.at = end;
    assert.equal(r.at, end, `record of type ${type} fills its RDLENGTH`);
  }
  assert.equal(r.at, m.length, "the message ends with its last record");
  return { id, flags, question, qtype, answers, authority, additional, names };
}

/** Checks a query and its response belong together. */
function checkExchange(q: DnsMessage, a: DnsMessage): void {
  assert.equal(q.flags, 0x0100, "a query with RD");
  assert.equal(q.answers + q.authority, 0);
  assert.equal(a.flags & 0xfff0, 0x8180, "a response with QR, RD, RA");
  assert.equal(a.id, q.id, "the response echoes the id");
  assert.equal(a.question, q.question, "and the question");
  assert.equal(a.qtype, q.qtype);
  assert.match(q.question, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
  if ((a.flags & 0xf) === 3) assert.equal(a.authority, 1, "NXDOMAIN carries an SOA");
  else assert.ok(a.answers > 0, "an answer");
}

/** Splits a DNS-over-TCP stream at its length prefixes. */
function tcpMessages(stream: Uint8Array): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let at = 0; at < stream.length;) {
    const len = (stream[at]! << 8) | stream[at + 1]!;
    out.push({ start: at + 2, end: at + 2 + len });
    at += 2 + len;
    assert.ok(at <= stream.length, "a length prefix runs past the stream");
  }
  return out;
}

const text = new TextDecoder();

interface HttpMessage {
  /** The start line and the header lines. */
  lines: string[];
  /** Header values by lowercase name. */
  headers: Map<string, string>;
  /** The body as sent (chunks joined, still encoded). */
  body: Uint8Array;
}

/** Reads HTTP messages off a stream: head lines, then a body by Content-Length or chunks. */
function httpMessages(stream: Uint8Array, requests: boolean): HttpMessage[] {
  const out: HttpMessage[] = [];
  let at = 0;
  while (at < stream.length) {
    const headEnd = findCrlfCrlf(stream, at);
    assert.ok(headEnd > 0, "a header block ends with an empty line");
    const lines = text.decode(stream.subarray(at, headEnd)).split("\r\n");
    at = headEnd + 4;
    const message: HttpMessage = { lines, headers: new Map(), body: new Uint8Array(0) };
    out.push(message);
    if (requests) {
      assert.match(lines[0]!, /^GET \/[!-~]* HTTP\/1\.1$/);
    } else assert.match(lines[0]!, /^HTTP\/1\.1 (200 OK|304 Not Modified|404 Not Found)$/);
    const headers = message.headers;
    for (const line of lines.slice(1)) {
      const m = line.match(/^([A-Za-z-]+): ([ -~]+)$/);
      assert.ok(m, `a header line: ${JSON.stringify(line)}`);
      headers.set(m[1]!.toLowerCase(), m[2]!);
    }
    if (requests) {
      for (const h of ["host", "user-agent", "accept"]) assert.ok(headers.has(h), h);
      continue;
    }
    const length = headers.get("content-length");
    if (headers.get("transfer-encoding") === "chunked") {
      const chunks: Uint8Array[] = [];
      for (;;) {
        const lineEnd = findCrlf(stream, at);
        const size = parseInt(text.decode(stream.subarray(at, lineEnd)), 16);
        assert.ok(Number.isInteger(size), "a chunk size");
        chunks.push(stream.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size;
        if (size === 0) {
          assert.equal(text.decode(stream.subarray(at, at + 2)), "\r\n");
          at += 2;
          break;
        }
        assert.equal(text.decode(stream.subarray(at, at + 2)), "\r\n", "a chunk ends");
        at += 2;
      }
      message.body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      chunks.reduce((n, c) => (message.body.set(c, n), n + c.length), 0);
    } else if (length !== undefined) {
      assert.ok(headers.has("content-type"));
      message.body = stream.subarray(at, at + Number(length));
      at += Number(length);
    } else assert.match(lines[0]!, / 304 /, "only a 304 has no body");
    assert.ok(at <= stream.length, "a body runs past the stream");
  }
  return out;
}

function findCrlf(b: Uint8Array, from: number): number {
  for (let i = from; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

function findCrlfCrlf(b: Uint8Array, from: number): number {
  for (let i = findCrlf(b, from); i >= 0; i = findCrlf(b, i + 1)) {
    if (b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** Walks TLS records; returns each record's type and body. */
function tlsRecords(stream: Uint8Array): { type: number; body: Uint8Array }[] {
  const out: { type: number; body: Uint8Array }[] = [];
  for (let at = 0; at < stream.length;) {
    const type = stream[at]!;
    const version = (stream[at + 1]! << 8) | stream[at + 2]!;
    const len = (stream[at + 3]! << 8) | stream[at + 4]!;
    assert.ok(type >= 20 && type <= 23, `record type ${type}`);
    assert.ok(version === 0x0303 || (version === 0x0301 && out.length === 0), `version ${version}`);
    assert.ok(len > 0 && len <= 16384 + 256, `record length ${len}`);
    out.push({ type, body: stream.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
    assert.ok(at <= stream.length, "a record runs past the stream");
  }
  return out;
}

/** The extensions of a ClientHello body, by type. */
function clientHelloExtensions(hello: Uint8Array): Map<number, Uint8Array> {
  assert.equal(hello[0], 1, "a ClientHello");
  assert.equal((hello[1]! << 16) | (hello[2]! << 8) | hello[3]!, hello.length - 4);
  let at = 4 + 2 + 32;
  at += 1 + hello[at]!;
  at += 2 + ((hello[at]! << 8) | hello[at + 1]!);
  at += 1 + hello[at]!;
  const end = at + 2 + ((hello[at]! << 8) | hello[at + 1]!);
  assert.equal(end, hello.length, "extensions fill the hello");
  const out = new Map<number, Uint8Array>();
  for (at += 2; at < end;) {
    const type = (hello[at]! << 8) | hello[at + 1]!;
    const len = (hello[at + 2]! << 8) | hello[at + 3]!;
    out.set(type, hello.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  assert.equal(at, end);
  return out;
}

let cached: Promise<{ truth: TraceTruth; flows: Map<string, SeenFlow> }> | undefined;

/** One trace for every test in this file. */
function trace(): Promise<{ truth: TraceTruth; flows: Map<string, SeenFlow> }> {
  cached ??= (async () => {
    const { bytes, truth } = await generateTraceBytes(OPTIONS);
    return { truth, flows: await readFlows(bytes, truth) };
  })();
  return cached;
}

function flowsOf(
  truth: TraceTruth,
  flows: Map<string, SeenFlow>,
  app: FlowTruth["application"],
  proto: "tcp" | "udp",
): [FlowTruth, SeenFlow][] {
  const out = truth.flows.filter((t) => t.application === app && t.proto === proto)
    .map((t): [FlowTruth, SeenFlow] => [t, flows.get(t.client)!]);
  assert.ok(out.length >= 10, `enough ${app} flows over ${proto}: ${out.length}`);
  return out;
}

Deno.test("application flows match the ground truth and keep it exact", async () => {
  const { truth, flows } = await trace();
  assert.equal(flows.size, truth.flows.length);
  for (const t of truth.flows) {
    const f = flows.get(t.client)!;
    assert.equal(f.clientDatagrams, t.clientDatagrams, t.client);
    assert.equal(f.serverDatagrams, t.serverDatagrams, t.client);
    assert.equal(f.clientIpBytes, t.clientIpBytes, t.client);
    assert.equal(f.serverIpBytes, t.serverIpBytes, t.client);
    if (t.proto !== "icmp") assert.equal(f.serverPort, t.serverPort);
    const expected = { 53: "dns", 80: "http", 443: "tls" }[t.serverPort] ?? null;
    assert.equal(t.application, expected, `${t.proto} port ${t.serverPort}`);
    if (t.application === null) assert.equal(t.clientMessages + t.serverMessages, 0);
  }
  assert.equal(truth.flows.reduce((n, f) => n + f.packets, 0), truth.packets);
  const apps = new Set(truth.flows.map((f) => `${f.proto}/${f.application}`));
  for (const k of ["udp/dns", "tcp/dns", "tcp/http", "tcp/tls", "tcp/null", "udp/null"]) {
    assert.ok(apps.has(k), k);
  }
});

Deno.test("DNS over UDP: queries and their responses, one message a datagram", async () => {
  const { truth, flows } = await trace();
  const qtypes = new Set<number>();
  let edns = 0;
  let nx = 0;
  let compressed = 0;
  for (const [t, f] of flowsOf(truth, flows, "dns", "udp")) {
    assert.equal(f.datagrams.length, t.clientMessages + t.serverMessages);
    for (let i = 0; i < f.datagrams.length; i++) {
      assert.equal(f.datagrams[i]!.fromClient, i % 2 === 0, "query and response alternate");
    }
    for (let i = 0; i + 1 < f.datagrams.length; i += 2) {
      const q = parseDns(f.datagrams[i]!.payload);
      const a = parseDns(f.datagrams[i + 1]!.payload);
      checkExchange(q, a);
      qtypes.add(q.qtype);
      if (q.additional === 1) edns++;
      if ((a.flags & 0xf) === 3) nx++;
      if (a.names.length > 0) compressed++;
    }
  }
  for (const qtype of [1, 28, 15, 16, 12]) assert.ok(qtypes.has(qtype), `qtype ${qtype}`);
  assert.ok(edns > 0 && nx > 0 && compressed > 0, `${edns} EDNS, ${nx} NXDOMAIN, ${compressed}`);
});

Deno.test("DNS over TCP: length-prefixed messages, pipelined and split across segments", async () => {
  const { truth, flows } = await trace();
  let pipelined = 0;
  let split = 0;
  for (const [t, f] of flowsOf(truth, flows, "dns", "tcp")) {
    const client = joined(f.fromClient);
    const server = joined(f.fromServer);
    const queries = tcpMessages(client);
    const answers = tcpMessages(server);
    assert.equal(queries.length, t.clientMessages);
    assert.equal(answers.length, t.serverMessages);
    assert.equal(queries.length, answers.length, "every query answered");
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      const a = answers[i]!;
      checkExchange(
        parseDns(client.subarray(q.start, q.end)),
        parseDns(server.subarray(a.start, a.end)),
      );
    }
    for (const [side, messages] of [[f.fromClient, queries], [f.fromServer, answers]] as const) {
      const ends = new Set(messages.map((m) => m.end));
      let at = 0;
      for (const len of side.segments) {
        const inside = messages.filter((m) => m.start - 2 >= at && m.end <= at + len).length;
        if (inside >= 2) pipelined++;
        at += len;
        if (!ends.has(at)) split++;
      }
    }
  }
  assert.ok(pipelined > 0, "two messages in one segment");
  assert.ok(split > 0, "a message split across segments");
});

Deno.test("HTTP: keep-alive requests and framed responses fill both streams exactly", async () => {
  const { truth, flows } = await trace();
  const statuses = new Map<string, number>();
  let keepAlive = 0;
  let chunked = 0;
  let fullSegments = 0;
  for (const [t, f] of flowsOf(truth, flows, "http", "tcp")) {
    const requests = httpMessages(joined(f.fromClient), true);
    const responses = httpMessages(joined(f.fromServer), false);
    assert.equal(requests.length, t.clientMessages);
    assert.equal(responses.length, t.serverMessages);
    assert.equal(requests.length, responses.length);
    if (requests.length > 1) keepAlive++;
    for (const r of responses) {
      statuses.set(r.lines[0]!, (statuses.get(r.lines[0]!) ?? 0) + 1);
      if (r.lines.includes("Transfer-Encoding: chunked")) chunked++;
    }
    const mss = t.ipVersion === 6 ? 1440 : 1460;
    fullSegments += f.fromServer.segments.filter((n) => n === mss).length;
    assert.ok(f.fromServer.segments.every((n) => n <= mss));
  }
  assert.ok(keepAlive > 0, "several requests on one connection");
  assert.ok(chunked > 0, "a chunked response");
  assert.ok(fullSegments > 0, "a body spanning MSS-sized segments");
  for (const s of ["HTTP/1.1 200 OK", "HTTP/1.1 304 Not Modified"]) assert.ok(statuses.has(s), s);
});

const HEAVY = {
  flows: 120,
  applications: { http: 1 },
  http: { requestsPerConnection: 6, oneRequestShare: 0.3, gzipShare: 0.3, chunkedShare: 0.3 },
  ipv6Share: 0.3,
  vlanShare: 0.2,
  seed: 21,
};

/** How each Content-Type's body starts (after decoding), as the default bodies do. */
const OPENINGS: Record<string, Uint8Array> = {
  "text/html; charset=utf-8": new TextEncoder().encode("<!DOCTYPE html>\n<html"),
  "application/json": new TextEncoder().encode('{"items":[{"id":1,'),
  "application/javascript": new TextEncoder().encode('(function(){"use strict";function '),
  "text/css": new TextEncoder().encode("."),
  "image/png": Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
};

Deno.test("HTTP-heavy: one-request and keep-alive connections, bodies to 1 MiB, gzip, chunked, every byte in order", async () => {
  const { bytes, truth } = await generateTraceBytes(HEAVY);
  const flows = await readFlows(bytes, truth);
  let oneRequest = 0;
  let keepAlive = 0;
  let gzip = 0;
  let chunked = 0;
  let withBody = 0;
  let empty = 0;
  let largest = 0;
  let serverSegments = 0;
  let clientAcks = 0;
  for (const t of truth.flows) {
    assert.equal(t.application, "http");
    const f = flows.get(t.client)!;
    const requests = httpMessages(joined(f.fromClient), true);
    const responses = httpMessages(joined(f.fromServer), false);
    assert.equal(requests.length, t.clientMessages);
    assert.equal(responses.length, t.serverMessages);
    assert.equal(requests.length, responses.length, "every request answered");
    assert.ok(requests.length >= 1 && requests.length <= 6, `${requests.length} requests`);
    const close = requests[0]!.headers.get("connection") === "close";
    for (const m of [...requests, ...responses]) {
      assert.equal(m.headers.get("connection"), close ? "close" : "keep-alive");
    }
    if (close) {
      assert.equal(requests.length, 1, "Connection: close ends the connection");
      assert.equal(f.firstFin, "server", "the server closes after Connection: close");
      oneRequest++;
    } else {
      assert.equal(f.firstFin, "client");
      if (requests.length > 1) keepAlive++;
    }
    for (const r of responses) {
      if (r.lines[0] === "HTTP/1.1 304 Not Modified") continue;
      withBody++;
      const type = r.headers.get("content-type")!;
      const opening = OPENINGS[type];
      assert.ok(opening, type);
      if (r.headers.get("transfer-encoding") === "chunked") chunked++;
      else assert.equal(Number(r.headers.get("content-length")), r.body.length);
      let body = r.body;
      if (r.headers.get("content-encoding") === "gzip") {
        assert.notEqual(type, "image/png", "images are not compressed");
        body = new Uint8Array(gunzipSync(r.body));
        assert.ok(body.length < 64 || r.body.length < body.length, "text compresses");
        gzip++;
      }
      assert.ok(body.length <= 1024 * 1024, `a body of ${body.length}`);
      const n = Math.min(body.length, opening.length);
      assert.deepEqual(body.subarray(0, n), opening.subarray(0, n), type);
      if (body.length === 0) empty++;
      largest = Math.max(largest, body.length);
    }
    const mss = t.ipVersion === 6 ? 1440 : 1460;
    assert.ok(f.fromServer.segments.every((n) => n <= mss));
    serverSegments += f.fromServer.segments.length;
    clientAcks += f.fromClient.pureAcks;
  }
  assert.ok(
    oneRequest >= 20 && keepAlive >= 20,
    `${oneRequest} one-request, ${keepAlive} keep-alive`,
  );
  assert.ok(gzip >= 0.2 * withBody && gzip <= 0.4 * withBody, `${gzip} of ${withBody} gzip`);
  assert.ok(chunked > 0 && empty > 0, `${chunked} chunked, ${empty} empty`);
  assert.ok(largest >= 256 * 1024, `the largest body is ${largest}`);
  assert.ok(
    clientAcks >= 0.3 * serverSegments,
    `${clientAcks} ACKs for ${serverSegments} segments`,
  );
});

Deno.test("HTTP-heavy options are checked, and need HTTP flows", async () => {
  await assert.rejects(
    generateTraceBytes({ flows: 5, http: true }),
    /without HTTP flows: set applications to true or give applications.http a share above 0/,
  );
  await assert.rejects(
    generateTraceBytes({ applications: true, http: { bodyMax: -1 } }),
    /http.bodyMax -1: use an integer from 0 to 67108864/,
  );
  await assert.rejects(
    generateTraceBytes({ applications: true, http: { gzipShare: 2 } }),
    /http.gzipShare 2: use a share from 0 to 1/,
  );
  const small = await generateTraceBytes({
    flows: 40,
    applications: { http: 1 },
    http: { requestsPerConnection: 1, bodyMax: 0 },
  });
  assert.ok(small.truth.flows.every((f) => f.clientMessages === 1 && f.serverMessages === 1));
  assert.ok(small.truth.flows.every((f) => f.packets <= 12), "no body: a few packets a flow");
});

Deno.test("TLS: a handshake then application data, every record well framed", async () => {
  const { truth, flows } = await trace();
  const versions = new Set<number>();
  for (const [t, f] of flowsOf(truth, flows, "tls", "tcp")) {
    const client = tlsRecords(joined(f.fromClient));
    const server = tlsRecords(joined(f.fromServer));
    assert.equal(client.length, t.clientMessages);
    assert.equal(server.length, t.serverMessages);
    assert.equal(client[0]!.type, 22);
    const ext = clientHelloExtensions(client[0]!.body);
    for (const type of [0, 10, 13, 16, 43, 51]) assert.ok(ext.has(type), `extension ${type}`);
    const sni = ext.get(0)!;
    assert.match(text.decode(sni.subarray(5)), /^[a-z]+\.[a-z]+\d+\.[a-z]+$/, "server_name");
    assert.equal((sni[3]! << 8) | sni[4]!, sni.length - 5);
    const hello = server[0]!;
    assert.equal(hello.type, 22);
    assert.equal(hello.body[0], 2, "a ServerHello");
    const tls13 = server[1]!.type === 20;
    versions.add(tls13 ? 0x0304 : 0x0303);
    if (!tls13) {
      assert.deepEqual(server.slice(1, 4).map((r) => [r.type, r.body[0]]), [
        [22, 11],
        [22, 12],
        [22, 14],
      ]);
      const certs = server[1]!.body;
      assert.ok(certs.length > 1500, "a certificate chain of some size");
    }
    assert.equal(client.at(-1)!.type, 23, "the client ends with application data");
    assert.equal(server.at(-1)!.type, 23, "and so does the server");
  }
  assert.deepEqual([...versions].sort(), [0x0303, 0x0304]);
});

const TLS_HEAVY = {
  flows: 120,
  applications: { tls: 1 },
  tls: { streamShare: 0.3, streamMax: 2 * 1024 * 1024 },
  ipv6Share: 0.3,
  vlanShare: 0.2,
  seed: 31,
};

/** A ServerHello body's session id. */
function serverHelloSessionId(hello: Uint8Array): Uint8Array {
  assert.equal(hello[0], 2, "a ServerHello");
  const at = 4 + 2 + 32;
  return hello.subarray(at + 1, at + 1 + hello[at]!);
}

/**
 * Each handshake's records before application data: content type, and the
 * body's first byte (the handshake type; 1 for ChangeCipherSpec) or -1
 * when encrypted.
 */
const HANDSHAKE_RECORDS: Record<string, { client: number[][]; server: number[][] }> = {
  "full-1.2": {
    client: [[22, 1], [22, 16], [20, 1], [22, -1]],
    server: [[22, 2], [22, 11], [22, 12], [22, 14], [22, 4], [20, 1], [22, -1]],
  },
  "full-1.3": {
    client: [[22, 1], [20, 1], [23, -1]],
    server: [[22, 2], [20, 1], [23, -1], [23, -1]],
  },
  "resumed-id": { client: [[22, 1], [20, 1], [22, -1]], server: [[22, 2], [20, 1], [22, -1]] },
  "resumed-ticket": {
    client: [[22, 1], [20, 1], [22, -1]],
    server: [[22, 2], [22, 4], [20, 1], [22, -1]],
  },
};

Deno.test("TLS-heavy: full 1.2 and 1.3 handshakes, resumptions by id and by ticket, long streams of full records", async () => {
  const { bytes, truth } = await generateTraceBytes(TLS_HEAVY);
  const again = await generateTraceBytes(TLS_HEAVY);
  assert.deepEqual(again.bytes, bytes, "the same seed gives the same bytes");
  const flows = await readFlows(bytes, truth);
  const handshakes = new Map<string, number>();
  let streams = 0;
  let payload = 0;
  let ciphertext = 0;
  let serverSegments = 0;
  let clientAcks = 0;
  for (const t of truth.flows) {
    assert.equal(t.application, "tls");
    const kind = t.tlsHandshake!;
    handshakes.set(kind, (handshakes.get(kind) ?? 0) + 1);
    const f = flows.get(t.client)!;
    const client = tlsRecords(joined(f.fromClient));
    const server = tlsRecords(joined(f.fromServer));
    assert.equal(client.length, t.clientMessages);
    assert.equal(server.length, t.serverMessages);
    const expected = HANDSHAKE_RECORDS[kind]!;
    // An encrypted record's first byte says nothing: only its content type is compared.
    const handshake = (records: typeof client, want: number[][]) =>
      want.map(([, first], i) => [records[i]?.type, first === -1 ? -1 : records[i]?.body[0]]);
    assert.deepEqual(handshake(client, expected.client), expected.client, `${kind} client`);
    assert.deepEqual(handshake(server, expected.server), expected.server, `${kind} server`);
    const clientData = client.slice(expected.client.length);
    const serverData = server.slice(expected.server.length);
    assert.ok(clientData.length >= 1 && clientData.length <= 8, `${clientData.length} requests`);
    assert.ok([...clientData, ...serverData].every((r) => r.type === 23), "then application data");
    const ext = clientHelloExtensions(client[0]!.body);
    const offered = client[0]!.body.subarray(4 + 2 + 32 + 1, 4 + 2 + 32 + 1 + client[0]!.body[38]!);
    const echoed = serverHelloSessionId(server[0]!.body);
    if (kind === "resumed-ticket") {
      assert.equal(offered.length, 0, "resuming by ticket: an empty session id");
      assert.equal(ext.get(35)!.length, 192, "and the ticket");
      assert.equal(echoed.length, 0);
    } else {
      assert.equal(offered.length, 32);
      assert.equal(ext.get(35)!.length, 0, "an empty session ticket extension");
      if (kind === "resumed-id") assert.deepEqual(echoed, offered, "the server echoes the id");
      else assert.notDeepEqual(echoed, offered);
    }
    const served = serverData.reduce((n, r) => n + r.body.length, 0);
    if (served >= 256 * 1024) {
      streams++;
      const full = serverData.filter((r) => r.body.length === 16384 + 24).length;
      assert.ok(full >= serverData.length - 2 * clientData.length, "a stream in full records");
    }
    for (const side of [f.fromClient, f.fromServer]) {
      payload += side.segments.reduce((n, len) => n + len, 0);
    }
    ciphertext += [...clientData, ...serverData].reduce((n, r) => n + r.body.length, 0);
    serverSegments += f.fromServer.segments.length;
    clientAcks += f.fromClient.pureAcks;
    assert.equal(f.firstFin, "client");
  }
  for (const kind of Object.keys(HANDSHAKE_RECORDS)) {
    assert.ok((handshakes.get(kind) ?? 0) >= 10, `${handshakes.get(kind)} ${kind} handshakes`);
  }
  assert.ok(streams >= 20, `${streams} long streams`);
  assert.ok(ciphertext >= 0.95 * payload, `${ciphertext} of ${payload} payload bytes ciphertext`);
  assert.ok(clientAcks >= 0.3 * serverSegments, `${clientAcks} ACKs, ${serverSegments} segments`);
});

/** The rows of a Zeek ASCII log, by column name. */
function logRows(text: string): Record<string, string>[] {
  const lines = text.split("\n");
  const fields = lines.find((l) => l.startsWith("#fields\t"))!.split("\t").slice(1);
  return lines.filter((l) => l !== "" && !l.startsWith("#")).map((l) => {
    const v = l.split("\t");
    return Object.fromEntries(fields.map((f, i) => [f, v[i]!]));
  });
}

/** What ssl.log says of each handshake the generator makes. */
const SSL_LOG_ROWS: Record<string, { version: string; resumed: string; history: string }> = {
  "full-1.2": { version: "TLSv12", resumed: "F", history: "CsxknGIti" },
  "full-1.3": { version: "TLSv13", resumed: "F", history: "CsiI" },
  "resumed-id": { version: "TLSv12", resumed: "T", history: "CsiI" },
  "resumed-ticket": { version: "TLSv12", resumed: "T", history: "CstiI" },
};

Deno.test("TLS-heavy: the SSL analyzer establishes every flow and finds every resumption", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-tls-heavy-" });
  try {
    const truth = await generateTrace(`${dir}/tls.pcap`, {
      ...TLS_HEAVY,
      flows: 80,
      tls: { streamShare: 0.2, streamMax: 1024 * 1024 },
    });
    await analyzeTrace({ path: `${dir}/tls.pcap`, logDir: `${dir}/out`, analyzers: ["SSL"] });
    const rows = logRows(await Deno.readTextFile(`${dir}/out/ssl.log`));
    assert.equal(rows.length, truth.flows.length, "one ssl.log row per flow");
    const byClient = new Map(rows.map((r) => [r["id.orig_h"]!, r]));
    for (const t of truth.flows) {
      const row = byClient.get(t.client)!;
      assert.ok(row, `a row for ${t.client}`);
      const want = SSL_LOG_ROWS[t.tlsHandshake!]!;
      assert.deepEqual(
        [row.version, row.resumed, row.ssl_history, row.established, row.server_name !== "-"],
        [want.version, want.resumed, want.history, "T", true],
        `${t.client}, ${t.tlsHandshake}`,
      );
    }
    const resumed = truth.flows.filter((t) => t.tlsHandshake!.startsWith("resumed-")).length;
    assert.ok(resumed >= 10, `${resumed} resumptions`);
    assert.equal(rows.filter((r) => r.resumed === "T").length, resumed);
    assert.equal(rows.filter((r) => r.established === "T").length, truth.flows.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TLS-heavy options are checked, and need TLS flows", async () => {
  await assert.rejects(
    generateTraceBytes({ flows: 5, tls: true }),
    /without TLS flows: set applications to true or give applications.tls a share above 0/,
  );
  await assert.rejects(
    generateTraceBytes({ applications: true, tls: { tls13Share: 0.6, ticketShare: 0.6 } }),
    /tls.tls13Share \+ tls.sessionIdShare \+ tls.ticketShare 1.35: use a share from 0 to 1/,
  );
  await assert.rejects(
    generateTraceBytes({ applications: true, tls: { streamMax: 0 } }),
    /tls.streamMax 0: use an integer from 1 to 1073741824/,
  );
  const short = await generateTraceBytes({
    flows: 40,
    applications: { tls: 1 },
    tls: { tls13Share: 0, sessionIdShare: 1, ticketShare: 0, exchangesPerConnection: 1 },
  });
  assert.ok(short.truth.flows.every((f) => f.tlsHandshake === "resumed-id"));
  assert.ok(
    short.truth.flows.every((f) => f.clientMessages === 4 && f.serverMessages >= 4),
    "hello, CCS, Finished, one request; hello, CCS, Finished, a response",
  );
});

Deno.test("application payloads: the same seed gives the same bytes", async () => {
  const options = { ...OPTIONS, flows: 200 };
  const a = await generateTraceBytes(options);
  const b = await generateTraceBytes(options);
  const c = await generateTraceBytes({ ...options, seed: 12 });
  assert.deepEqual(a.bytes, b.bytes);
  assert.deepEqual(a.truth, b.truth);
  assert.notDeepEqual(a.bytes, c.bytes);
  const plain = await generateTraceBytes({ ...options, applications: false });
  assert.ok(plain.truth.flows.every((f) => f.application === null));
});

Deno.test("application shares out of range are refused with a message", async () => {
  await assert.rejects(
    generateTraceBytes({ applications: { dns: 0.6, http: 0.6 } }),
    /the sum of the applications' shares 1.2/,
  );
  await assert.rejects(
    generateTraceBytes({ applications: { tls: -0.1 } }),
    /applications.tls -0.1: use a share from 0 to 1/,
  );
  const onlyDns = await generateTraceBytes({ flows: 50, applications: { dns: 1 } });
  assert.ok(onlyDns.truth.flows.every((f) => f.application === "dns" && f.proto === "udp"));
});
