/**
 * ClientHello and ServerHello parsing: the fields ssl.log reads, the TLS
 * 1.3 forms (supported_versions, key_share, HelloRetryRequest, the draft
 * layout), Zeek's 32-byte session ids, and bounded parsing of what does not
 * fit (only `HelloParseError`, for 20,000 mutated hellos).
 */

import assert from "node:assert/strict";
import { mulberry32 } from "../../../testing/prng.ts";
import { appsCorpusPayloads, DEFAULT_APPS_CORPUS_DIR } from "../../../testing/apps_corpus.ts";
import {
  EXT_ALPN,
  EXT_KEY_SHARE,
  EXT_SERVER_NAME,
  EXT_SESSION_TICKET,
  EXT_SUPPORTED_VERSIONS,
  HelloParseError,
  HRR_RANDOM,
  parseClientHello,
  parseServerHello,
} from "./hello.ts";

const u16 = (n: number) => [n >> 8, n & 0xff];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const ext = (type: number, body: number[]) => [...u16(type), ...u16(body.length), ...body];
const withLength16 = (body: number[]) => [...u16(body.length), ...body];

function clientHello(sessionId: number[], extensions: number[]): Uint8Array {
  return Uint8Array.from([
    ...u16(0x0303),
    ...new Array(32).fill(7),
    sessionId.length,
    ...sessionId,
    ...withLength16([...u16(0x1301), ...u16(0xc02f), ...u16(0x0a0a)]),
    1,
    0,
    ...withLength16(extensions),
  ]);
}

function serverHello(version: number, random: number[], extensions: number[], draft = false) {
  return Uint8Array.from([
    ...u16(version),
    ...random,
    ...(draft ? [] : [0]),
    ...u16(0x1301),
    ...(draft ? [] : [0]),
    ...withLength16(extensions),
  ]);
}

const CLIENT_EXTENSIONS = [
  ...ext(
    EXT_SERVER_NAME,
    withLength16([0, ...withLength16(ascii("www.example.com")), 7, ...withLength16(ascii("x"))]),
  ),
  ...ext(EXT_SUPPORTED_VERSIONS, [4, ...u16(0x0304), ...u16(0x0303)]),
  ...ext(EXT_KEY_SHARE, withLength16([...u16(29), ...withLength16(new Array(32).fill(1))])),
  ...ext(EXT_ALPN, withLength16([2, ...ascii("h2"), 8, ...ascii("http/1.1")])),
  ...ext(EXT_SESSION_TICKET, []),
];

Deno.test("ClientHello: version, suites, SNI (host names only), versions, key shares, ALPN", () => {
  const h = parseClientHello(clientHello([1, 2, 3], CLIENT_EXTENSIONS));
  assert.equal(h.version, 0x0303);
  assert.deepEqual(h.ciphers, [0x1301, 0xc02f, 0x0a0a]);
  assert.deepEqual(h.compression, [0]);
  assert.deepEqual(h.extensions.serverNames, ["www.example.com"]);
  assert.deepEqual(h.extensions.unknownNameTypes, [7]);
  assert.deepEqual(h.extensions.supportedVersions, [0x0304, 0x0303]);
  assert.deepEqual(h.extensions.keyShareGroups, [29]);
  assert.deepEqual(h.extensions.alpn, ["h2", "http/1.1"]);
  assert.deepEqual(h.extensions.all.map((e) => e.type), [0, 43, 51, 16, 35]);
  // Zeek hands scripts 32 bytes, zero-padded.
  assert.equal(h.sessionId.length, 32);
  assert.deepEqual([...h.sessionId.subarray(0, 4)], [1, 2, 3, 0]);
  assert.equal(h.sessionIdLength, 3);
});

Deno.test("ServerHello: TLS 1.3's one version and group, HelloRetryRequest, the draft layout", () => {
  const tls13 = parseServerHello(
    serverHello(0x0303, new Array(32).fill(9), [
      ...ext(EXT_SUPPORTED_VERSIONS, u16(0x0304)),
      ...ext(EXT_KEY_SHARE, [...u16(23), ...withLength16([4, 1, 2])]),
    ]),
  );
  assert.deepEqual(tls13.extensions.supportedVersions, [0x0304]);
  assert.deepEqual(tls13.extensions.keyShareGroups, [23]);
  assert.deepEqual(tls13.ciphers, [0x1301]);
  assert.equal(tls13.helloRetry, false);
  const hrr = parseServerHello(serverHello(0x0303, [...HRR_RANDOM], ext(EXT_KEY_SHARE, u16(29))));
  assert.equal(hrr.helloRetry, true);
  assert.deepEqual(hrr.extensions.keyShareGroups, [29]);
  const draft = parseServerHello(serverHello(0x7f12, new Array(32).fill(1), [], true));
  assert.equal(draft.version, 0x7f12);
  assert.equal(draft.sessionIdLength, 0);
  assert.deepEqual(draft.compression, []);
  // A session id longer than 32 bytes reaches scripts as 32 zero bytes.
  const long = parseClientHello(clientHello(new Array(40).fill(5), []));
  assert.ok(long.sessionId.every((b) => b === 0));
});

Deno.test("hellos that do not fit their lengths are HelloParseError, never anything else", () => {
  assert.throws(() => parseClientHello(Uint8Array.of(3, 3, 1)), HelloParseError);
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const rand = mulberry32(seed);
  const bases = [
    clientHello([1, 2, 3], CLIENT_EXTENSIONS),
    serverHello(0x0303, [...HRR_RANDOM], ext(EXT_KEY_SHARE, u16(29))),
  ];
  for (let n = 0; n < 20_000; n++) {
    const base = bases[n % 2]!;
    const m = base.slice(0, Math.floor(rand() * (base.length + 1)));
    for (let k = 0; k < 3; k++) {
      if (m.length > 0) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
    }
    try {
      if (n % 2 === 0) parseClientHello(m);
      else parseServerHello(m);
    } catch (error) {
      if (!(error instanceof HelloParseError)) {
        throw new Error(`seed ${seed}, input ${n}: ${error}`);
      }
    }
  }
});

const HAVE_CORPUS = (() => {
  try {
    return Deno.statSync(DEFAULT_APPS_CORPUS_DIR).isDirectory;
  } catch {
    return false;
  }
})();

/** The first ClientHello and ServerHello bodies of a corpus case (each in the first record of its side). */
async function hellosOf(dir: string): Promise<{ client?: Uint8Array; server?: Uint8Array }> {
  const out: { client?: Uint8Array; server?: Uint8Array } = {};
  for await (const { proto, payload: p } of appsCorpusPayloads(new RegExp(`^${dir}$`))) {
    if (proto !== 6 || p.length < 9 || p[0] !== 22 || p[1] !== 3) continue;
    const body = p.slice(9, 9 + ((p[6]! << 16) | (p[7]! << 8) | p[8]!));
    if (p[5] === 1) out.client ??= body;
    if (p[5] === 2) out.server ??= body;
  }
  return out;
}

Deno.test({
  name: "corpus hellos: the SNI, version and groups ssl.log shows come out of Zeek's traces",
  ignore: !HAVE_CORPUS,
  fn: async () => {
    const basic = await hellosOf("ssl-basic");
    assert.deepEqual(parseClientHello(basic.client!).extensions.serverNames, ["ssl.gstatic.com"]);
    assert.equal(parseServerHello(basic.server!).version, 0x0301);
    const ech = await hellosOf("tls13-ech");
    assert.deepEqual(parseClientHello(ech.client!).extensions.serverNames, ["cloudflare-ech.com"]);
    const server = parseServerHello(ech.server!);
    assert.deepEqual(server.extensions.supportedVersions, [0x0304]);
    assert.deepEqual(server.extensions.keyShareGroups, [29]);
    assert.deepEqual(server.ciphers, [0x1301]);
    const draft = await hellosOf("tls13-draft23");
    assert.deepEqual(parseClientHello(draft.client!).extensions.serverNames, [
      "tls13.crypto.mozilla.org",
    ]);
    assert.deepEqual(parseServerHello(draft.server!).extensions.supportedVersions, [0x7f17]);
  },
});
