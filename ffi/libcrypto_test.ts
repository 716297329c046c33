import assert from "node:assert/strict";
import {
  LIBCRYPTO,
  libcryptoVersion,
  LibraryMissingError,
  mallocInUse,
  NID_BASIC_CONSTRAINTS,
  NID_SUBJECT_ALT_NAME,
  readX509,
  V_ASN1_UTCTIME,
} from "./mod.ts";
import { openLibrary } from "./libraries.ts";
import { oddCertificates } from "../mod/analysis/x509/der_builder_test.ts";

Deno.test("libcrypto is OpenSSL 3", () => {
  assert.match(libcryptoVersion(), /^OpenSSL 3\./);
});

Deno.test("a missing libcrypto names the package that brings it", () => {
  assert.throws(
    () => openLibrary({ ...LIBCRYPTO, soname: "libcrypto.so.0.weir-missing" }, {}),
    (error: unknown) =>
      error instanceof LibraryMissingError &&
      /Cannot load libcrypto\.so\.0\.weir-missing \(needed for parsing X\.509 certificates as Zeek prints them\).*apt-get install libssl3$/
        .test(error.message),
  );
});

Deno.test("readX509: OpenSSL's raw readings of a certificate", () => {
  const certs = new Map(oddCertificates().map((c) => [c.name, c.der]));
  const r = readX509(certs.get("two sans")!)!;
  assert.equal(r.version, 2n, "v3 is 2 to OpenSSL");
  assert.equal(r.serial, "1234");
  assert.equal(r.subject, "CN=subject.example.com");
  assert.equal(r.commonName, "subject.example.com");
  assert.deepEqual(r.notBefore, {
    type: V_ASN1_UTCTIME,
    bytes: new TextEncoder().encode("200101000000Z"),
  });
  assert.equal(r.keyAlgorithm, "rsaEncryption");
  assert.equal(r.key?.bits, 1024);
  assert.equal(r.key?.rsaExponent, "65537");
  assert.deepEqual(r.extensions.map((e) => [e.nid, e.names?.length]), [
    [NID_SUBJECT_ALT_NAME, 1],
    [NID_SUBJECT_ALT_NAME, 1],
  ]);
  assert.deepEqual(r.encoded, certs.get("two sans"));

  const bc = readX509(certs.get("basic constraints beyond a long")!)!;
  assert.equal(bc.extensions[0]!.nid, NID_BASIC_CONSTRAINTS);
  assert.equal(bc.extensions[0]!.basicConstraints?.pathLength, -1n, "ASN1_INTEGER_get's error");

  assert.equal(readX509(new Uint8Array([0x30, 0x80])), undefined);
  assert.equal(readX509(new Uint8Array(0)), undefined);
});

Deno.test("readX509 frees what OpenSSL allocates: the C heap is where it was after 100,000 readings", () => {
  const before = mallocInUse();
  if (before === undefined) return; // no mallinfo2 in this libc
  assert.ok(before > 1024, `mallinfo2 says ${before} bytes are in use`);
  const inputs = oddCertificates().map((c) => c.der);
  inputs.push(inputs[0]!.subarray(0, 100), new Uint8Array(10));
  // Warm up OpenSSL's one-time tables (names, providers, error strings).
  for (const der of inputs) readX509(der);
  (globalThis as { gc?: () => void }).gc?.();
  const start = mallocInUse()!;
  for (let i = 0; i < 100_000; i++) readX509(inputs[i % inputs.length]!);
  (globalThis as { gc?: () => void }).gc?.();
  const grown = mallocInUse()! - start;
  console.log(`C heap in use after 100,000 readings: ${grown >= 0 ? "+" : ""}${grown} bytes`);
  assert.ok(grown < 512 * 1024, `the C heap grew by ${grown} bytes`);
});
