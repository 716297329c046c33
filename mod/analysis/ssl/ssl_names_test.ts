/**
 * The ssl.log name tables and their fallbacks, on the values the research
 * note checked against a real Zeek (§7: `TLSv13, TLSv13-draft23,
 * unknown-32257, unknown-4660, grease_0x0A0A, x25519, unknown-200`).
 */

import assert from "node:assert/strict";
import { alertName, cipherName, curveName, versionName } from "./ssl_names.ts";
import { ALERT_NAMES, CIPHER_NAMES, CURVE_NAMES, VERSION_NAMES } from "./ssl_tables.ts";

Deno.test("ssl names: Zeek's tables and its &default fallbacks", () => {
  assert.deepEqual(
    [
      versionName(0x0304),
      versionName(0x7f17),
      versionName(0x7e01),
      cipherName(0x1234),
      cipherName(0x0a0a),
      curveName(29),
      alertName(200),
    ],
    [
      "TLSv13",
      "TLSv13-draft23",
      "unknown-32257",
      "unknown-4660",
      "grease_0x0A0A",
      "x25519",
      "unknown-200",
    ],
  );
  assert.equal(versionName(0x7f0e), "TLSv13-draft14");
  assert.equal(versionName(0xfefd), "DTLSv12");
  assert.equal(cipherName(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  assert.equal(cipherName(0x1301), "TLS_AES_128_GCM_SHA256");
  assert.equal(cipherName(0x010080), "SSLv20_CK_RC4_128_WITH_MD5");
  assert.equal(curveName(23), "secp256r1");
  assert.equal(curveName(4588), "X25519MLKEM768");
  assert.equal(alertName(40), "handshake_failure");
  assert.equal(alertName(121), "ech_required");
});

Deno.test("ssl names: the generated tables are whole (410 suites, as the research note counts)", () => {
  assert.equal(CIPHER_NAMES.size, 410);
  assert.equal(VERSION_NAMES.size, 9);
  assert.equal(ALERT_NAMES.size, 35);
  assert.ok(CURVE_NAMES.size >= 70);
  const grease = [...CIPHER_NAMES].filter(([, n]) => n.startsWith("grease_"));
  assert.equal(grease.length, 16);
  for (const [code, name] of grease) {
    assert.equal(name, `grease_0x${code.toString(16).toUpperCase().padStart(4, "0")}`);
  }
});
