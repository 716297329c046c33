/**
 * The HTTP analyzer on the behaviours the research note checked against a
 * real Zeek build (`../shared/research/http-files-ssl-x509.md` §1–2, the
 * [V] facts): each conversation runs through the real analyzer, scripts
 * and file analysis (`fake_http_test.ts`).
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { bytes, type Chunk, exchange, runConversation } from "./fake_http_test.ts";

const OK5 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

function text(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Uint8Array) return String.fromCharCode(...v);
  return String(v);
}

function weirdNames(o: ReturnType<typeof runConversation>): string[] {
  return o.weirds.map((w) => w.name);
}

Deno.test("request line: unescaped uri with %u and %% (double_%_in_URI), spaces up to HTTP/", () => {
  const a = runConversation(exchange("GET /a%41%u0042%%43?x=1 HTTP/1.1\r\n\r\n", OK5));
  assert.equal(text(a.http[0]!.uri), "/aABC?x=1");
  assert.ok(weirdNames(a).includes("double_%_in_URI"));
  const b = runConversation(exchange("GET /a b c HTTP/1.1\r\n\r\n", OK5));
  assert.equal(text(b.http[0]!.uri), "/a b c");
  // HTTP/0.9: the loop ends one byte short (Zeek's quirk).
  const c = runConversation(exchange("GET /a bc\r\n", "data"));
  assert.equal(text(c.http[0]!.uri), "/a b");
  assert.equal(c.http[0]!.version, "0.9");
  assert.equal(c.http[0]!.status_msg, "<empty>");
});

Deno.test("status line: one digit each side of the dot, code 0 for letters, <empty> and (empty) phrases", () => {
  const v = runConversation(
    exchange("GET / HTTP/1.1\r\n\r\n", "HTTP/1.10 200 OK\r\nContent-Length: 0\r\n\r\n"),
  );
  assert.equal(v.http[0]!.version, "1.1");
  const bad = runConversation(
    exchange("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 abc Bad\r\nContent-Length: 0\r\n\r\n"),
  );
  assert.equal(bad.http[0]!.status_code, 0);
  assert.equal(bad.http[0]!.status_msg, "Bad");
  const none = runConversation(
    exchange("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
  );
  assert.equal(none.http[0]!.status_msg, "<empty>");
  const empty = runConversation(
    exchange("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
  );
  assert.equal(empty.http[0]!.status_msg, "");
});

Deno.test("bodies without Content-Length: line mode counts +2 per line, Connection: close counts bytes", () => {
  const lines = runConversation(
    exchange("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\nline one\nline two\n"),
  );
  assert.equal(lines.http[0]!.response_body_len, 20);
  assert.equal(lines.files[0]!.seen_bytes, 20);
  const close = runConversation(
    exchange(
      "GET / HTTP/1.1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nline one\nline two\n",
    ),
  );
  assert.equal(close.http[0]!.response_body_len, 18);
  const noEol = runConversation(
    exchange("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\nline one\r\nline two"),
  );
  assert.equal(noEol.http[0]!.response_body_len, 20);
});

Deno.test("gzip: lengths count decoded bytes, only the first member, corrupt data is inflate_failed", () => {
  const body = "x".repeat(37);
  const gz = gzipSync(bytes(body));
  const reply = (payload: Uint8Array, extra = ""): Chunk[] => [
    { orig: true, data: bytes("GET / HTTP/1.1\r\n\r\n") },
    {
      orig: false,
      data: new Uint8Array([
        ...bytes(
          `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n${extra}Content-Length: ${payload.length}\r\n\r\n`,
        ),
        ...payload,
      ]),
    },
  ];
  const one = runConversation(reply(gz));
  assert.equal(one.http[0]!.response_body_len, 37);
  assert.equal(one.files[0]!.total_bytes, undefined, "no total size for a compressed body");
  const two = runConversation(reply(new Uint8Array([...gz, ...gzipSync(bytes("second"))])));
  assert.equal(two.http[0]!.response_body_len, 37);
  const corrupt = gz.slice();
  corrupt.fill(0xff, 10, 20);
  const bad = runConversation(reply(corrupt));
  assert.equal(bad.http[0]!.response_body_len, 0);
  assert.deepEqual(bad.weirds.filter((w) => w.source === "ZIP").map((w) => w.name), [
    "inflate_failed",
  ]);
  assert.equal(bad.files.length, 0);
});

Deno.test("a decompression bomb stops at the bound with a weird, and nothing is buffered whole", () => {
  const bomb = gzipSync(new Uint8Array(8 * 1024 * 1024));
  const o = runConversation([
    { orig: true, data: bytes("GET / HTTP/1.1\r\n\r\n") },
    {
      orig: false,
      data: new Uint8Array([
        ...bytes(
          `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`,
        ),
        ...bomb,
      ]),
    },
  ], { maxInflatedBytes: 1024 * 1024 });
  assert.equal(o.http[0]!.response_body_len, 1024 * 1024);
  assert.ok(weirdNames(o).includes("inflate_output_limit"));
});

Deno.test("bodies not expected: HEAD (and its prefixes), 204, 304 ignore Content-Length", () => {
  const head = runConversation(exchange(
    "HEAD / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" + OK5,
  ));
  assert.deepEqual(head.http.map((r) => [r.trans_depth, r.response_body_len]), [[1, 0], [2, 5]]);
  // `HEA` counts as HEAD: the body is read as the next status line.
  const hea = runConversation(
    exchange("HEA / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  );
  assert.equal(hea.http[0]!.response_body_len, 0);
  assert.deepEqual(hea.violations, ["not a http reply line"]);
});

Deno.test("chunked: sizes as from_chars reads them, bad sizes end the body, trailers are headers", () => {
  const body = (sizes: string) =>
    runConversation(
      exchange(
        "GET / HTTP/1.1\r\n\r\n",
        `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${sizes}`,
      ),
    );
  assert.equal(body("5;ext=1\r\nhello\r\n0\r\n\r\n").http[0]!.response_body_len, 5);
  assert.equal(body("0x10\r\n").http[0]!.response_body_len, 0);
  const bad = body(" 5\r\nhello\r\n0\r\n\r\n");
  assert.deepEqual(bad.weirds.map((w) => [w.name, w.addl]), [["HTTP_bad_chunk_size", " 5"]]);
  // HTTP/1.0 + chunked is not chunked.
  const old = runConversation(exchange(
    "GET / HTTP/1.0\r\n\r\n",
    "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  ));
  assert.equal(old.http[0]!.response_body_len, 15, "read until close, chunk lines and all");
});

Deno.test("client headers: folded values, trailing spaces kept, last one wins, proxies, Basic auth", () => {
  const o = runConversation(exchange(
    "GET / HTTP/1.1\r\nUser-Agent: part1\r\n\tpart2\r\nHost: a\r\nHost: b  \r\nVia: 1.1 proxy\r\n" +
      "Authorization: Basic dXNlcm5vY29sb24=\r\n\r\n",
    OK5,
  ));
  const row = o.http[0]!;
  assert.equal(text(row.user_agent), "part1\tpart2");
  assert.equal(text(row.host), "b  ");
  assert.deepEqual(row.proxied, ["VIA -> 1.1 proxy"]);
  assert.equal(
    text(row.username),
    "<problem-decoding> (Basic dXNlcm5vY29sb24=)",
  );
  assert.equal(row.password, undefined);
  assert.deepEqual(
    o.weirds.filter((w) => w.name === "HTTP_obsolete_line_folding").map((w) => w.addl),
    ["User-Agent"],
  );
  const pw = runConversation(
    exchange("GET / HTTP/1.1\r\nAuthorization: basic   dXNlcjpwYXNz\r\n\r\n", OK5),
    { capturePassword: true },
  );
  assert.deepEqual([text(pw.http[0]!.username), text(pw.http[0]!.password)], ["user", "pass"]);
});

Deno.test("files: filenames from Content-Disposition and Content-Type name=, fuids per entity", () => {
  const o = runConversation(exchange(
    "GET / HTTP/1.1\r\n\r\n",
    'HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename="my file.txt"\r\nContent-Length: 5\r\n\r\nhello' +
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; name=ct.txt\r\nContent-Length: 2\r\n\r\nok",
  ));
  assert.deepEqual(o.http.map((r) => r.resp_filenames), [["my file.txt"], ["ct.txt"]]);
  assert.equal(o.files.length, 2);
  assert.deepEqual(o.http.map((r) => (r.resp_fuids as string[]).length), [1, 1]);
  assert.deepEqual(o.files.map((f) => f.fuid), o.http.map((r) => (r.resp_fuids as string[])[0]));
  assert.deepEqual(o.files.map((f) => [f.seen_bytes, f.total_bytes, f.is_orig]), [[5, 5, false], [
    2,
    2,
    false,
  ]]);
});

Deno.test("Content-Transfer-Encoding base64: the body length counts the raw bytes, the file the decoded", () => {
  const b64 = "aGVsbG8gd29ybGQgZnJvbSBi"; // 24 characters, 18 bytes
  const o = runConversation(exchange(
    "GET / HTTP/1.1\r\n\r\n",
    `HTTP/1.1 200 OK\r\nContent-Transfer-Encoding: base64\r\nContent-Length: 24\r\n\r\n${b64}`,
  ));
  assert.equal(o.http[0]!.response_body_len, 24);
  assert.deepEqual([o.files[0]!.seen_bytes, o.files[0]!.total_bytes], [18, 24]);
});

Deno.test("1xx replies share the transaction: the last one is info_code, a 101 upgrade is logged at the end", () => {
  const o = runConversation(exchange(
    "GET / HTTP/1.1\r\n\r\n",
    "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + OK5,
  ));
  assert.deepEqual(o.http.map((r) => [r.status_code, r.info_code, r.info_msg]), [[
    200,
    103,
    "Early Hints",
  ]]);
  const up = runConversation(exchange(
    "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
  ));
  assert.deepEqual(up.http.map((r) => [r.status_code, r.info_code]), [[101, 101]]);
  assert.equal(up.detected, true, "the rest of the connection goes to protocol detection");
});

Deno.test("CONNECT (a prefix such as CON counts): a 200 hands the rest to detection, early bytes are a weird", () => {
  const o = runConversation(exchange("CON host:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\nxy"));
  assert.equal(o.detected, true);
  assert.deepEqual(
    o.weirds.filter((w) => w.name === "protocol_data_with_HTTP_CONNECT_reply").map((w) => w.addl),
    ["2"],
  );
  assert.equal(o.http[0]!.response_body_len, 0);
  const refused = runConversation(exchange(
    "CONNECT host:443 HTTP/1.1\r\n\r\n",
    "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n",
  ));
  assert.equal(refused.detected, false);
});

Deno.test("pipelining and replies without requests pair as Zeek's scripts do", () => {
  const o = runConversation(exchange(
    "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    OK5 + OK5 + OK5,
  ));
  assert.deepEqual(o.http.map((r) => [r.trans_depth, text(r.uri)]), [[1, "/1"], [2, "/2"], [
    3,
    undefined,
  ]]);
});

Deno.test("weirds of malformed requests: lower-case keywords, unknown methods, content-length oddities", () => {
  const o = runConversation(exchange(
    "get / http/1.1\r\nContent-Length: 007\r\n\r\nabcdefg",
    "http/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
  ));
  const names = weirdNames(o);
  for (
    const n of [
      "lowercase_HTTP_keyword",
      "unknown_HTTP_method",
      "HTTP_content_length_leading_zeros",
    ]
  ) {
    assert.ok(names.includes(n), `${n} in ${names}`);
  }
  assert.deepEqual(
    o.weirds.filter((w) => w.name === "HTTP_bad_content_length").map((w) => w.addl),
    ["-5"],
  );
  assert.equal(o.weirds.find((w) => w.name === "unknown_HTTP_method")!.source, "");
});

Deno.test("file hashes, when asked for, are the body's (files.log md5, sha1, sha256 and analyzers)", async () => {
  const { createHash } = await import("node:crypto");
  const o = runConversation(exchange("GET / HTTP/1.1\r\n\r\n", OK5), {
    files: { hashes: ["md5", "sha1", "sha256"] },
  });
  const f = o.files[0]!;
  for (const h of ["md5", "sha1", "sha256"] as const) {
    assert.equal(f[h], createHash(h).update("hello").digest("hex"));
  }
  assert.deepEqual(f.analyzers, ["MD5", "SHA1", "SHA256"]);
  const none = runConversation(exchange("GET / HTTP/1.1\r\n\r\n", OK5));
  assert.equal(none.files[0]!.md5, undefined, "none by default, as Zeek's base scripts");
});

Deno.test("deflate: zlib-wrapped and raw deflate both decode (raw after zlib's data error, as Zeek)", async () => {
  const { deflateRawSync, deflateSync } = await import("node:zlib");
  const body = bytes("deflated body ".repeat(20));
  for (const encoded of [deflateSync(body), deflateRawSync(body)]) {
    const o = runConversation([
      { orig: true, data: bytes("GET / HTTP/1.1\r\n\r\n") },
      {
        orig: false,
        data: new Uint8Array([
          ...bytes(
            `HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${encoded.length}\r\n\r\n`,
          ),
          ...encoded,
        ]),
      },
    ]);
    assert.equal(o.http[0]!.response_body_len, body.length);
    assert.equal(o.files[0]!.seen_bytes, body.length);
    assert.deepEqual(o.weirds, []);
  }
});
