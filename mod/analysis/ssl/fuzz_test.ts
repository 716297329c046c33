/**
 * Fuzzing the SSL and DTLS analyzers with their scripts and the X.509
 * analysis of the certificates they carry: conversations (the TLS and DTLS
 * connections of the corpus pcaps when `../shared` is there, and
 * handshakes built here for TLS 1.2, 1.3, HRR, resumption, SSLv2 hellos
 * and DTLS fragments) are mutated by a seeded PRNG (bit flips, length
 * fields overwritten, inserted, deleted and random bytes, truncation,
 * re-split deliveries, content gaps, repeated chunks) and run through a
 * fresh analyzer each; the certificates inside, mutated with them, go
 * through the real X.509 analysis (libcrypto).
 * Fails on an escaping exception, a run over its time limit or a heap
 * that keeps growing. The seed is printed; `WEIR_FUZZ_SEED` reruns it.
 */

import assert from "node:assert/strict";
import { appsCorpusPayloads } from "../../../testing/apps_corpus.ts";
import { mulberry32 as prng } from "../../../testing/prng.ts";
import {
  alerts,
  alpn,
  CCS,
  certificate,
  type Chunk,
  clientHello,
  concat,
  dtlsFragment,
  dtlsRecord,
  ecdheKeyExchange,
  ext,
  handshake,
  record,
  type RunOptions,
  runTls,
  SEALED,
  selectedVersion,
  serverHello,
  serverKeyShare,
  sni,
} from "./fake_tls_test.ts";
import { HRR_RANDOM } from "./hello.ts";
import { LogRegistry } from "../../log/mod.ts";
import { X509Logging } from "../x509/mod.ts";

const INPUTS = 100_000;
const TIME_LIMIT_MS = 150_000;

interface Base {
  readonly chunks: readonly Chunk[];
  readonly dtls: boolean;
}

const C = (data: Uint8Array): Chunk => ({ orig: true, data });
const S = (data: Uint8Array): Chunk => ({ orig: false, data });

/** Handshakes built here, one per path of the analyzers. */
function builtConversations(): Base[] {
  const der = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01);
  const tls = (chunks: Chunk[]): Base => ({ chunks, dtls: false });
  const v13 = [selectedVersion(0x0304), serverKeyShare(29)];
  const hello = clientHello({ version: 0xfefd, cookie: new Uint8Array(0) }).subarray(4);
  const sh = serverHello({ version: 0xfefd }).subarray(4);
  return [
    tls([
      C(record(22, clientHello({ exts: [sni("a.example", "b.example"), alpn("h2")] }), 0x0301)),
      S(record(
        22,
        concat(serverHello({ exts: [alpn("h2")] }), certificate(der, der), ecdheKeyExchange(23)),
      )),
      S(record(22, handshake(14))),
      C(concat(record(22, handshake(16, new Uint8Array(33))), CCS, SEALED())),
      S(concat(CCS, SEALED())),
    ]),
    tls([
      C(record(
        22,
        clientHello({ exts: [ext(41, new Uint8Array(12)), ext(35, new Uint8Array(8))] }),
      )),
      S(concat(record(22, serverHello({ exts: [...v13, ext(41, Uint8Array.of(0, 0))] })), CCS)),
      S(concat(SEALED(80, 23), SEALED(300, 23))),
      C(concat(CCS, SEALED(60, 23))),
    ]),
    tls([
      C(record(22, clientHello())),
      S(record(
        22,
        serverHello({
          random: HRR_RANDOM,
          exts: [selectedVersion(0x0304), ext(51, Uint8Array.of(0, 23))],
        }),
      )),
      C(record(22, clientHello({ exts: [ext(0xfe0d, Uint8Array.of(1, 2, 3))] }))),
      S(alerts(40, 0, 112)),
    ]),
    tls([
      C(Uint8Array.of(
        0x80,
        0x1f,
        1,
        3,
        1,
        0,
        6,
        0,
        0,
        0,
        16,
        0,
        0,
        4,
        1,
        0,
        0x80,
        ...new Uint8Array(16),
      )),
      S(record(
        22,
        concat(serverHello({ version: 0x0301, cipher: 4 }), certificate(der), handshake(14)),
        0x0301,
      )),
    ]),
    {
      dtls: true,
      chunks: [
        C(dtlsRecord(22, 0, 0, dtlsFragment(1, hello.length, 0, 0, hello))),
        S(dtlsRecord(22, 0, 3, dtlsFragment(2, sh.length, 1, 40, sh.subarray(40)))),
        S(dtlsRecord(22, 0, 1, dtlsFragment(2, sh.length, 1, 0, sh.subarray(0, 20)))),
        S(dtlsRecord(22, 0, 2, dtlsFragment(2, sh.length, 1, 20, sh.subarray(20, 40)))),
        S(dtlsRecord(20, 0, 4, Uint8Array.of(1))),
        C(dtlsRecord(20, 0, 2, Uint8Array.of(1))),
        C(dtlsRecord(22, 1, 0, new Uint8Array(40))),
      ],
    },
  ];
}

/** The TLS and DTLS connections of the corpus, each side's payloads in order (cut at 60). */
async function corpusConversations(): Promise<Base[]> {
  const conns = new Map<string, { chunks: Chunk[]; dtls: boolean }>();
  for await (const p of appsCorpusPayloads(/^(ssl-|tls|dtls|ml-dsa|smtp-starttls|rdp-to-ssl)/)) {
    const orig = p.dstPort < p.srcPort;
    const key = `${p.case}/${p.file} ${p.proto} ` +
      (orig ? `${p.srcPort}>${p.dstPort}` : `${p.dstPort}>${p.srcPort}`);
    const c = conns.get(key) ?? { chunks: [], dtls: p.proto === 17 };
    c.chunks.push({ orig, data: p.payload });
    conns.set(key, c);
  }
  return [...conns.values()].map((c) => ({ chunks: c.chunks.slice(0, 60), dtls: c.dtls }));
}

function mutate(chunks: readonly Chunk[], rand: () => number): Chunk[] {
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
    switch (Math.floor(rand() * 10)) {
      case 0: // bit flips
        for (let k = 0; k < 1 + rand() * 8 && d.length > 0; k++) {
          d[Math.floor(rand() * d.length)]! ^= 1 << Math.floor(rand() * 8);
        }
        break;
      case 1: // a length field overwritten: 0, small, huge
      case 2: {
        if (d.length < 3) break;
        const p = Math.floor(rand() * (d.length - 2));
        const v = [0, 1, 2, 0x7f, 0xff, 0xffff, 0x4000, Math.floor(rand() * 65536)][
          Math.floor(rand() * 8)
        ]!;
        d[p] = rand() < 0.3 ? 0xff : d[p]!;
        d[p + 1] = v >> 8;
        d[p + 2] = v & 0xff;
        break;
      }
      case 3: // bytes deleted
        out[at] = {
          orig: c.orig,
          data: concat(d.subarray(0, pos), d.subarray(Math.min(d.length, pos + 1 + rand() * 64))),
        };
        break;
      case 4: // truncated
        out[at] = { orig: c.orig, data: d.subarray(0, pos) };
        break;
      case 5: // re-split into two deliveries
        out.splice(at, 1, { orig: c.orig, data: d.subarray(0, pos) }, {
          orig: c.orig,
          data: d.subarray(pos),
        });
        break;
      case 6: // a content gap
        out.splice(at, 0, { orig: c.orig, gap: 1 + Math.floor(rand() * 5000) });
        break;
      case 7: // a chunk repeated (a retransmitted datagram)
        out.splice(at, 0, { orig: c.orig, data: d.slice() });
        break;
      case 8: // the direction swapped
        out[at] = { orig: !c.orig, data: d };
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

function dumpOf(input: readonly Chunk[]): string {
  return JSON.stringify(
    input.map((c) =>
      "gap" in c
        ? { orig: c.orig, gap: c.gap }
        : { orig: c.orig, hex: [...c.data].map((b) => b.toString(16).padStart(2, "0")).join("") }
    ),
  );
}

Deno.test("fuzz: 100,000 mutated TLS and DTLS handshakes, no exception, no hang, no growing heap", async () => {
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`SSL fuzz seed ${seed} (rerun with WEIR_FUZZ_SEED=${seed})`);
  const rand = prng(seed);
  const bases = [...builtConversations(), ...await corpusConversations()];
  // The real X.509 analysis: certificates inside the mutated handshakes go through libcrypto.
  const certificates = new X509Logging(new LogRegistry());
  let parsed = 0;
  const started = performance.now();
  let rows = 0;
  let violations = 0;
  let heapAtQuarter = 0;
  for (let n = 0; n < INPUTS; n++) {
    const base = bases[Math.floor(rand() * bases.length)]!;
    const input = mutate(base.chunks, rand);
    const options: RunOptions = { dtls: base.dtls, certificates };
    let outcome;
    try {
      outcome = runTls(input, options);
    } catch (error) {
      throw new Error(
        `input ${n} (seed ${seed}) threw: ${error instanceof Error ? error.stack : error}\n${
          dumpOf(input)
        }`,
      );
    }
    rows += outcome.ssl.length;
    for (const r of outcome.ssl) {
      parsed += (r["cert_chain_fps"] as string[] | undefined)?.length ?? 0;
    }
    violations += outcome.violations.length;
    assert.ok(
      outcome.ssl.length <= 1,
      `input ${n} (seed ${seed}) wrote ${outcome.ssl.length} rows`,
    );
    if (n === INPUTS / 4) heapAtQuarter = settledHeap();
    assert.ok(
      performance.now() - started < TIME_LIMIT_MS,
      `seed ${seed}: ${n} inputs took over ${TIME_LIMIT_MS} ms`,
    );
  }
  const heap = settledHeap();
  console.log(
    `${INPUTS} conversations (${bases.length} bases), ${rows} ssl.log rows, ${parsed} certificates parsed, ${violations} violations, ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s, heap ${(heapAtQuarter / 2 ** 20).toFixed(0)} → ${(heap / 2 ** 20).toFixed(0)} MiB`,
  );
  const slack = "gc" in globalThis ? 32 * 2 ** 20 : 512 * 2 ** 20;
  assert.ok(heap < heapAtQuarter + slack, `seed ${seed}: the heap grew to ${heap} bytes`);
});
