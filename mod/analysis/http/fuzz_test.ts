/**
 * Fuzzing the HTTP analyzer with its scripts, decompression and file
 * analysis: conversations (the HTTP connections of the corpus pcaps when
 * `../shared` is there, and conversations built here for every body
 * framing, encoding and oddity the analyzer handles) are mutated by a
 * seeded PRNG (bit flips, inserted and deleted bytes, line breaks, huge
 * and negative numbers in headers, chunk sizes, re-split deliveries,
 * content gaps) and run through a fresh analyzer each. Fails on an
 * escaping exception, a run over its time limit, a file left open or a
 * heap that keeps growing. The seed is printed; `WEIR_FUZZ_SEED` reruns it.
 */

import assert from "node:assert/strict";
import { deflateSync, gzipSync } from "node:zlib";
import { appsCorpusPayloads } from "../../../testing/apps_corpus.ts";
import { bytes, type Chunk, runConversation } from "./fake_http_test.ts";
import { mulberry32 as prng } from "../../../testing/prng.ts";

const INPUTS = 100_000;
const TIME_LIMIT_MS = 120_000;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Conversations built here: one per framing and encoding the analyzer knows. */
function builtConversations(): Chunk[][] {
  const req = (s: string): Chunk => ({ orig: true, data: bytes(s) });
  const rep = (s: string | Uint8Array): Chunk => ({
    orig: false,
    data: typeof s === "string" ? bytes(s) : s,
  });
  const html = "<html><body>" + "hello world ".repeat(50) + "</body></html>";
  const gz = gzipSync(bytes(html));
  const df = deflateSync(bytes(html));
  const boundary = "----b0undary";
  const multipart =
    `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n` +
    `Content-Type: text/plain\r\n\r\nfile one body\r\n--${boundary}\r\n` +
    `Content-Disposition: form-data; name="g"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
    `aGVsbG8gYmFzZTY0\r\n--${boundary}--\r\n`;
  return [
    [
      req("GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: fuzz\r\n\r\n"),
      rep(
        `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${html.length}\r\n\r\n${html}`,
      ),
    ],
    [
      req("GET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
      rep(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nX-T: t\r\n\r\n",
      ),
    ],
    [
      req("GET /g HTTP/1.1\r\nHost: h\r\n\r\n"),
      rep(
        concat(
          bytes(
            `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`,
          ),
          gz,
        ),
      ),
    ],
    [
      req("GET /d HTTP/1.1\r\nHost: h\r\n\r\n"),
      rep(concat(bytes(`HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n\r\n`), df)),
    ],
    [
      req(
        `POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${multipart.length}\r\n\r\n`,
      ),
      rep("HTTP/1.1 100 Continue\r\n\r\n"),
      req(multipart),
      rep("HTTP/1.1 204 No Content\r\n\r\n"),
    ],
    [
      req(
        "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /3 HTTP/1.1\r\n\r\n",
      ),
      rep(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
      ),
    ],
    [req("GET /old\n\n"), rep("raw 0.9 body bytes until the end")],
    [
      req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
      rep("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01\x00\x05hello"),
      req("\x16\x03\x01\x02\x00\x01"),
    ],
    [
      req(
        "GET /r HTTP/1.1\r\nRange: bytes=0-4\r\nAuthorization: Basic dXNlcjpwYXNz\r\nVia: 1.1 p\r\n\r\n",
      ),
      rep(
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/100\r\nContent-Length: 5\r\n\r\nhello",
      ),
    ],
    [
      req("GET /u HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
      rep(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
      ),
    ],
    [
      req("get /%u0041%%41%zz%4 http/1.1\r\nX-Folded: a\r\n\tb\r\nContent-Length: 3\r\n\r\nabc"),
      rep("HTTP/1.0 200\r\nConnection: close\r\n\r\nuntil close\nline two\r\n"),
    ],
  ];
}

/** The HTTP connections of the corpus pcaps: each side's payload in capture order. */
async function corpusConversations(): Promise<Chunk[][]> {
  const conns = new Map<string, Chunk[]>();
  for await (const p of appsCorpusPayloads(/^(http-|wikipedia)/)) {
    if (p.proto !== 6) continue;
    const orig = p.dstPort < p.srcPort;
    const key = `${p.case}/${p.file} ` +
      (orig ? `${p.srcPort}>${p.dstPort}` : `${p.dstPort}>${p.srcPort}`);
    const list = conns.get(key) ?? [];
    list.push({ orig, data: p.payload });
    conns.set(key, list);
  }
  // Long connections are cut: the fuzzer wants many different starts.
  return [...conns.values()].map((c) => c.slice(0, 40));
}

const NUMBERS = [
  "0",
  "-1",
  "00012",
  "18446744073709551616",
  "9223372036854775807",
  "ffffffff",
  "1e9",
  "",
];
const TOKENS = [
  "\r\n",
  "\n",
  "\r",
  "\r\n\r\n",
  "Content-Length: ",
  "Transfer-Encoding: chunked\r\n",
  "Content-Encoding: gzip\r\n",
  "Content-Type: multipart/mixed; boundary=x\r\n",
  "--x\r\n",
  "--x--\r\n",
  "HTTP/1.1 ",
  "GET / HTTP/1.1\r\n",
  "Content-Range: bytes 5-1/*\r\n",
  "%",
  "%u",
  "\x00",
  "\x1f\x8b\x08\x00",
];

function mutate(chunks: readonly Chunk[], rand: () => number): Chunk[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: Chunk[] = chunks.map((
    c,
  ) => ("data" in c ? { orig: c.orig, data: c.data.slice() } : c));
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = Math.floor(rand() * out.length);
    const c = out[at]!;
    if (!("data" in c)) continue;
    const d = c.data;
    const pos = Math.floor(rand() * (d.length + 1));
    switch (Math.floor(rand() * 9)) {
      case 0: // bit flips
        for (let k = 0; k < 1 + rand() * 8 && d.length > 0; k++) {
          d[Math.floor(rand() * d.length)]! ^= 1 << Math.floor(rand() * 8);
        }
        break;
      case 1: // a token inserted
        out[at] = {
          orig: c.orig,
          data: concat(d.subarray(0, pos), bytes(pick(TOKENS)), d.subarray(pos)),
        };
        break;
      case 2: // a number inserted (lengths, chunk sizes)
        out[at] = {
          orig: c.orig,
          data: concat(d.subarray(0, pos), bytes(pick(NUMBERS)), d.subarray(pos)),
        };
        break;
      case 3: // bytes deleted
        out[at] = {
          orig: c.orig,
          data: concat(d.subarray(0, pos), d.subarray(Math.min(d.length, pos + 1 + rand() * 64))),
        };
        break;
      case 4: // truncated
        out[at] = { orig: c.orig, data: d.subarray(0, pos) };
        break;
      case 5: { // re-split into two deliveries
        out.splice(at, 1, { orig: c.orig, data: d.subarray(0, pos) }, {
          orig: c.orig,
          data: d.subarray(pos),
        });
        break;
      }
      case 6: // a content gap
        out.splice(at, 0, { orig: c.orig, gap: 1 + Math.floor(rand() * 5000) });
        break;
      case 7: // a chunk repeated
        out.splice(at, 0, { orig: c.orig, data: d.slice() });
        break;
      default: { // random bytes
        const r = new Uint8Array(1 + Math.floor(rand() * 32));
        for (let k = 0; k < r.length; k++) r[k] = Math.floor(rand() * 256);
        out[at] = { orig: c.orig, data: concat(d.subarray(0, pos), r, d.subarray(pos)) };
      }
    }
  }
  return out;
}

/** The heap in use, after a collection when the runtime allows one (`--v8-flags=--expose-gc`). */
function settledHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

/** An input as JSON (text of each delivery, or its gap), for a failure message. */
function dumpOf(input: readonly Chunk[]): string {
  return JSON.stringify(
    input.map((c) =>
      "gap" in c
        ? { orig: c.orig, gap: c.gap }
        : { orig: c.orig, text: String.fromCharCode(...c.data) }
    ),
  );
}

Deno.test("fuzz: 100,000 mutated HTTP conversations, no exception, no hang, nothing left open", async () => {
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`HTTP fuzz seed ${seed} (rerun with WEIR_FUZZ_SEED=${seed})`);
  const rand = prng(seed);
  const bases = [...builtConversations(), ...await corpusConversations()];
  const started = performance.now();
  let rows = 0;
  let heapAtQuarter = 0;
  for (let n = 0; n < INPUTS; n++) {
    const base = bases[Math.floor(rand() * bases.length)]!;
    const input = mutate(base, rand);
    let outcome;
    try {
      outcome = runConversation(input, { maxInflatedBytes: 1 << 20 });
    } catch (error) {
      throw new Error(
        `input ${n} (seed ${seed}) threw: ${error instanceof Error ? error.stack : error}\n${
          dumpOf(input)
        }`,
      );
    }
    rows += outcome.http.length;
    // Files of 206 replies (each part of a multipart/byteranges one) stay
    // open for other connections until they time out or the input ends.
    if (outcome.openFiles > 64 || outcome.openAfterFinish !== 0) {
      assert.fail(
        `input ${n} (seed ${seed}) left ${outcome.openFiles} files open: ${dumpOf(input)}`,
      );
    }
    if (n === INPUTS / 4) heapAtQuarter = settledHeap();
    assert.ok(
      performance.now() - started < TIME_LIMIT_MS,
      `seed ${seed}: ${n} inputs took over ${TIME_LIMIT_MS} ms`,
    );
  }
  const heap = settledHeap();
  console.log(
    `${INPUTS} conversations (${bases.length} bases), ${rows} http.log rows, ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s, heap ${(heapAtQuarter / 2 ** 20).toFixed(0)} → ${(heap / 2 ** 20).toFixed(0)} MiB`,
  );
  // Nothing is kept between conversations: after a collection (the test
  // task exposes gc) the heap may wobble, not climb; without gc garbage counts.
  const slack = "gc" in globalThis ? 32 * 2 ** 20 : 512 * 2 ** 20;
  assert.ok(heap < heapAtQuarter + slack, `seed ${seed}: the heap grew to ${heap} bytes`);
});
