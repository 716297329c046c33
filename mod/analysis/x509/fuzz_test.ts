/**
 * Fuzzing certificate parsing: certificates made by openssl, built by hand
 * and taken from the corpus traces are mutated by a seeded PRNG (bit
 * flips, truncations, edited DER lengths and tags, duplicated elements,
 * splices of other certificates) and parsed. Fails on an escaping
 * exception, or a resident set or C heap (glibc's count of bytes in use)
 * that keeps growing: native leaks show there, not in the JS heap. Where Zeek's own code can be compiled
 * (`zeek_reference_test.ts`) every result must also be the one Zeek's
 * code prints. The seed is printed; `WEIR_FUZZ_SEED` reruns it.
 */

import assert from "node:assert/strict";
import { mallocInUse } from "../../../ffi/mod.ts";
import { mulberry32 } from "../../../testing/prng.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { type LogFilter, LogRegistry, type LogStream } from "../../log/mod.ts";
import { parseCertificate, X509Logging } from "./mod.ts";
import { defineX509Stream } from "./x509_log.ts";
import { oddCertificates } from "./der_builder_test.ts";
import { GeneratedCerts, manySansCertificate, OPENSSL_AVAILABLE } from "./openssl_certs_test.ts";
import { corpusCertificates } from "./tls_certificates_test.ts";
import {
  firstDifference,
  type ReferenceInput,
  weirLine,
  ZeekReference,
} from "./zeek_reference_test.ts";

const INPUTS = 100_000;
/** Inputs compared with Zeek's code at a time. */
const BATCH = 5000;
const TIME_LIMIT_MS = 300_000;
/** How much the resident set may grow from a quarter of the run to its end. */
const RSS_SLACK = 48 * 2 ** 20;
/** How much the C heap may: one leaked OpenSSL object a certificate would be megabytes. */
const MALLOC_SLACK = 4 * 2 ** 20;
const HOSTS = ["", "a.example.com", "www.gstatic.com", "x.example.com", "host-7.example.com"];

/** One TLV of a DER tree: where it starts, its header size, content length and tag. */
interface Tlv {
  readonly at: number;
  readonly head: number;
  readonly length: number;
  readonly tag: number;
}

/** Every TLV of a DER tree, in order (constructed types are walked into). */
function tlvs(der: Uint8Array, from = 0, to = der.length, out: Tlv[] = []): Tlv[] {
  let at = from;
  while (at + 2 <= to && out.length < 400) {
    const tag = der[at]!;
    let length = der[at + 1]!;
    let head = 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n === 0 || n > 3 || at + 2 + n > to) return out;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + der[at + 2 + i]!;
      head += n;
    }
    if (at + head + length > to) return out;
    out.push({ at, head, length, tag });
    if (tag & 0x20) tlvs(der, at + head, at + head + length, out);
    at += head + length;
  }
  return out;
}

/** String and time tags a value's tag may be swapped for. */
const STRING_TAGS = [0x0c, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1c, 0x1e, 0x04, 0x02];
/** Bytes a value's content byte may become: digits, time and name punctuation, anything. */
const CONTENT_BYTES = '0123456789Z+-.*,=\\"#<> \n\x00\x7f\x80\xc3\xff';

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One to three mutations of a seed; most keep the DER well formed and change a value. */
function mutate(seeds: readonly Uint8Array[], rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let der: Uint8Array = seeds[int(seeds.length)]!.slice();
  for (let m = 1 + int(3); m > 0; m--) {
    if (der.length === 0) break;
    const pos = int(der.length);
    const all = tlvs(der);
    const primitive = all.filter((t) => (t.tag & 0x20) === 0 && t.length > 0);
    const op = int(12);
    if (op < 4 && primitive.length > 0) {
      // A value's content bytes changed, its structure kept.
      const t = primitive[int(primitive.length)]!;
      for (let k = 1 + int(3); k > 0; k--) {
        const at = t.at + t.head + int(t.length);
        der[at] = rand() < 0.7 ? CONTENT_BYTES.charCodeAt(int(CONTENT_BYTES.length)) : int(256);
      }
      continue;
    }
    if (op === 4 && primitive.length > 0) {
      // A value's tag swapped for another string, time or integer tag.
      der[primitive[int(primitive.length)]!.at] = STRING_TAGS[int(STRING_TAGS.length)]!;
      continue;
    }
    switch (op) {
      case 5: // bit flips
        for (let k = 1 + int(3); k > 0; k--) der[int(der.length)]! ^= 1 << int(8);
        break;
      case 6: // truncation
        der = der.slice(0, pos);
        break;
      case 7: { // a DER length edited
        if (all.length === 0) break;
        const h = all[int(all.length)]!.at + 1;
        const choice = int(6);
        if (choice === 0) der[h] = int(256);
        else if (choice === 1) der[h] = (der[h]! + 1) & 0xff;
        else if (choice === 2) der[h] = (der[h]! - 1) & 0xff;
        else if (choice === 3) der[h] = 0x80; // indefinite
        else if (choice === 4) {
          der = concat(
            der.subarray(0, h),
            new Uint8Array([0x84, 0xff, 0xff, 0xff, 0xff]),
            der.subarray(h + 1),
          );
        } else der[h] = 0;
        break;
      }
      case 8: // a tag changed to anything
        if (all.length > 0) der[all[int(all.length)]!.at] = int(256);
        break;
      case 9: { // an element repeated
        if (all.length === 0) break;
        const t = all[int(all.length)]!;
        const end = t.at + t.head + t.length;
        der = concat(der.subarray(0, end), der.subarray(t.at, end), der.subarray(end));
        break;
      }
      case 10: { // a splice of another certificate
        const other = seeds[int(seeds.length)]!;
        const from = int(other.length);
        const piece = other.subarray(from, from + 1 + int(200));
        der = rand() < 0.5
          ? concat(der.subarray(0, pos), piece, der.subarray(pos + piece.length))
          : concat(der.subarray(0, pos), piece, der.subarray(pos));
        break;
      }
      default: { // bytes cut out or random bytes inserted
        if (rand() < 0.5) {
          der = concat(der.subarray(0, pos), der.subarray(pos + 1 + int(16)));
          break;
        }
        const r = new Uint8Array(1 + int(16));
        for (let k = 0; k < r.length; k++) r[k] = int(256);
        der = concat(der.subarray(0, pos), r, der.subarray(pos));
      }
    }
  }
  return der;
}

/** The resident set after a collection (`--v8-flags=--expose-gc`). */
function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().rss;
}

Deno.test("fuzz: 100,000 mutated certificates, no exception, no growing memory, Zeek's results", async () => {
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`x509 fuzz seed ${seed} (rerun with WEIR_FUZZ_SEED=${seed})`);
  const rand = mulberry32(seed);

  const seeds: Uint8Array[] = oddCertificates().map((c) => c.der);
  if (OPENSSL_AVAILABLE) {
    await using certs = await GeneratedCerts.create();
    for (const c of certs.certs.values()) seeds.push(c.der);
  }
  seeds.push(...await corpusCertificates());

  const built = await ZeekReference.build();
  const reference = typeof built === "string" ? undefined : built;
  if (typeof built === "string") console.log(`not compared with Zeek's code: ${built}`);
  try {
    const started = performance.now();
    let parsed = 0;
    let rssAtQuarter = 0;
    let mallocAtQuarter: number | undefined;
    let batch: ReferenceInput[] = [];
    let lines: string[] = [];
    const compare = async () => {
      if (reference !== undefined && batch.length > 0) {
        const expected = await reference.run(batch);
        for (let i = 0; i < batch.length; i++) {
          if (lines[i] !== expected[i]) {
            assert.fail(`seed ${seed}: ${firstDifference(batch, expected)}`);
          }
        }
      }
      batch = [];
      lines = [];
    };
    for (let n = 0; n < INPUTS; n++) {
      const input: ReferenceInput = {
        kind: "cert",
        der: mutate(seeds, rand),
        host: HOSTS[Math.floor(rand() * HOSTS.length)]!,
      };
      let line: string;
      try {
        line = weirLine(input);
      } catch (error) {
        throw new Error(
          `input ${n} (seed ${seed}) threw: ${error instanceof Error ? error.stack : error}\n${
            Array.from(input.der, (b) => b.toString(16).padStart(2, "0")).join("")
          }`,
        );
      }
      if (!line.startsWith("null")) parsed++;
      if (reference !== undefined) {
        batch.push(input);
        lines.push(line);
        if (batch.length === BATCH) await compare();
      }
      if (n === INPUTS / 4) {
        rssAtQuarter = settledRss();
        mallocAtQuarter = mallocInUse();
      }
      assert.ok(
        performance.now() - started < TIME_LIMIT_MS,
        `seed ${seed}: ${n} inputs took over ${TIME_LIMIT_MS} ms`,
      );
    }
    await compare();
    const rss = settledRss();
    const malloc = mallocInUse();
    const mib = (n: number | undefined) => n === undefined ? "?" : (n / 2 ** 20).toFixed(1);
    console.log(
      `${INPUTS} mutated certificates (${seeds.length} seeds), ${parsed} parsed, ${
        reference === undefined ? "not compared" : "all as Zeek's code"
      }, ${((performance.now() - started) / 1000).toFixed(1)} s; from a quarter to the end: ` +
        `RSS ${mib(rssAtQuarter)} → ${mib(rss)} MiB, C heap in use ${mib(mallocAtQuarter)} → ${
          mib(malloc)
        } MiB`,
    );
    assert.ok(parsed > INPUTS / 10, `only ${parsed} of the mutated certificates parsed`);
    assert.ok(
      rss < rssAtQuarter + RSS_SLACK,
      `seed ${seed}: the resident set grew from ${rssAtQuarter} to ${rss} bytes`,
    );
    if (malloc !== undefined && mallocAtQuarter !== undefined) {
      assert.ok(
        malloc < mallocAtQuarter + MALLOC_SLACK,
        `seed ${seed}: the C heap in use grew from ${mallocAtQuarter} to ${malloc} bytes`,
      );
    }
  } finally {
    await reference?.[Symbol.asyncDispose]();
  }
});

Deno.test({
  name: "a certificate with 10,000 SAN dNSNames parses, all of them, in bounded time and memory",
  ignore: !OPENSSL_AVAILABLE,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "weir-x509-sans-" });
    try {
      const der = await manySansCertificate(dir, 10_000);
      assert.ok(der.length > 200_000, `${der.length} bytes`);
      parseCertificate(der);
      const rss = settledRss();
      const started = performance.now();
      let cert;
      for (let i = 0; i < 20; i++) cert = parseCertificate(der);
      const perCert = (performance.now() - started) / 20;
      const grown = settledRss() - rss;
      console.log(
        `10,000 SANs, ${der.length} bytes: ${perCert.toFixed(1)} ms a parse, RSS +${
          (grown / 2 ** 20).toFixed(1)
        } MiB over 20 parses`,
      );
      assert.equal(cert?.san?.dns?.length, 10_000);
      assert.equal(cert?.san?.dns?.[9_999], "host-9999.example.com");
      assert.equal(cert?.hostnameSan?.length, 10_000);
      assert.ok(perCert < 1000, `${perCert} ms a parse`);
      assert.ok(grown < 32 * 2 ** 20, `RSS grew by ${grown} bytes`);

      // Its x509.log row keeps 100 names, as Zeek's log framework cuts it, with the weird.
      const rows: ZeekValue[][] = [];
      const logs = new LogRegistry({
        sink: { write: (_s: LogStream, _f: LogFilter, values) => rows.push([...values]) },
      });
      const cut: string[] = [];
      logs.setTruncationReporter((weird, id) => cut.push(`${weird} ${id}`));
      new X509Logging(logs).certificate(1, der, true, false);
      const dns = rows[0]![defineX509Stream().indexOf("san.dns")] as string[];
      assert.equal(dns.length, 100);
      assert.equal(dns[99], "host-99.example.com");
      assert.deepEqual(cut, ["log_container_field_truncated X509::LOG"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
