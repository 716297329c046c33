import assert from "node:assert/strict";
import { parseCertificate, type X509Certificate } from "./mod.ts";
import { GeneratedCerts, OPENSSL_AVAILABLE } from "./openssl_certs_test.ts";

const NAMES = ["rsa-e3", "ec-p256", "ec-p384", "ec-p521", "ed25519", "dsa", "v1", "dates", "leaf"];

function parsed(der: Uint8Array): { cert: X509Certificate; weirds: string[] } {
  const weirds: string[] = [];
  const cert = parseCertificate(der, (name, addl) => weirds.push(addl ? `${name} ${addl}` : name));
  assert.ok(cert !== undefined, `weirds: ${weirds.join(", ")}`);
  return { cert, weirds };
}

Deno.test({
  name: "certificates made by openssl: what Zeek takes from OpenSSL, against openssl x509",
  ignore: !OPENSSL_AVAILABLE,
  fn: async () => {
    await using certs = await GeneratedCerts.create();
    for (const name of NAMES) {
      const { cert, weirds } = parsed(certs.get(name).der);
      const want = await certs.describe(name);
      assert.deepEqual(weirds, [], name);
      assert.equal(cert.version, want.version, `${name} version`);
      assert.equal(cert.serial, want.serial, `${name} serial`);
      assert.equal(cert.subject, want.subject, `${name} subject`);
      assert.equal(cert.issuer, want.issuer, `${name} issuer`);
      assert.equal(cert.notValidBefore, want.notBefore, `${name} not_valid_before`);
      assert.equal(cert.notValidAfter, want.notAfter, `${name} not_valid_after`);
      assert.equal(cert.fingerprint, want.fingerprint, `${name} fingerprint`);
      assert.deepEqual(cert.der, certs.get(name).der, `${name}: OpenSSL re-encodes it unchanged`);
    }
  },
});

Deno.test({
  name: "certificates made by openssl: the research note's verified values (§4.3, §4.4, §7.6)",
  ignore: !OPENSSL_AVAILABLE,
  fn: async () => {
    await using certs = await GeneratedCerts.create();
    const get = (name: string) => parsed(certs.get(name).der).cert;

    const rsa = get("rsa-e3");
    const tricky = String.raw`CN=\#hash trail\ ,1.2.3.4.5=#0C07637573746F6D23,emailAddress=a@b.c,` +
      String.raw`UID=uid1+OU=\ lead space,O=Acme\; \"Quoted\" \<x\> \\ back,ST=B\C3\A4yern,C=US`;
    assert.equal(rsa.subject, tricky);
    assert.equal(rsa.issuer, tricky);
    assert.equal(rsa.serial, "FF00FF00FF00FF00");
    assert.equal(rsa.version, 3);
    assert.equal(rsa.cn, "#hash trail ");
    assert.deepEqual(
      [rsa.keyAlg, rsa.sigAlg, rsa.keyType, rsa.keyLength, rsa.exponent, rsa.curve],
      ["rsaEncryption", "sha256WithRSAEncryption", "rsa", 2048, "3", undefined],
    );
    assert.equal(rsa.tbsSigAlg, "sha256WithRSAEncryption");
    assert.deepEqual(rsa.san, {
      dns: ["a.example.com", "*.b.example.com"],
      uri: ["https://example.com/x"],
      email: ["x@example.com"],
      ip: ["192.0.2.1", "2001:db8::1"],
      otherFields: false,
    });
    assert.deepEqual(rsa.basicConstraints, { ca: true, pathLen: 2 });
    assert.deepEqual(rsa.hostnameSan, ["a.example.com", "*.b.example.com"]);

    const p256 = get("ec-p256");
    assert.equal(p256.subject, String.raw`CN=Test CA\+Root,O=Test\, Inc.,C=DE`);
    assert.equal(p256.serial, "075BCD15");
    assert.deepEqual(
      [p256.keyAlg, p256.sigAlg, p256.keyType, p256.keyLength, p256.exponent, p256.curve],
      ["id-ecPublicKey", "ecdsa-with-SHA256", "ecdsa", 256, undefined, "prime256v1"],
    );
    assert.deepEqual(p256.basicConstraints, { ca: false, pathLen: undefined });
    assert.equal(p256.san, undefined);
    assert.equal(p256.hostnameSan, undefined);
    assert.equal(p256.cn, "Test CA+Root");

    const p384 = get("ec-p384");
    assert.equal(p384.serial, "01");
    assert.deepEqual(
      [p384.sigAlg, p384.keyType, p384.keyLength, p384.curve],
      ["ecdsa-with-SHA384", "ecdsa", 384, "secp384r1"],
    );
    assert.deepEqual(p384.san, {
      dns: ["*.example.com", "f*.example.com"],
      uri: undefined,
      email: undefined,
      ip: ["10.1.2.3"],
      otherFields: false,
    });

    const p521 = get("ec-p521");
    assert.equal(p521.serial, "-05");
    assert.deepEqual(
      [p521.sigAlg, p521.keyType, p521.keyLength, p521.curve],
      ["ecdsa-with-SHA512", "ecdsa", 521, "secp521r1"],
    );

    const ed = get("ed25519");
    assert.deepEqual(
      [ed.keyAlg, ed.sigAlg, ed.keyType, ed.keyLength, ed.exponent, ed.curve],
      ["ED25519", "ED25519", "ED25519", 256, undefined, undefined],
    );
    // The last CN, printed by ASN1_STRING_print: each byte of "ö" becomes ".".
    assert.equal(ed.cn, "N.. SAN.example.org");
    assert.equal(ed.subject, String.raw`CN=N\C3\B6 SAN.example.org,O=Org,CN=first.example.com`);

    const dsa = get("dsa");
    assert.deepEqual(
      [dsa.keyAlg, dsa.sigAlg, dsa.keyType, dsa.keyLength, dsa.exponent, dsa.curve],
      ["dsaEncryption", "dsa_with_SHA256", "dsa", 2048, undefined, undefined],
    );

    const v1 = get("v1");
    assert.equal(v1.version, 1);
    assert.equal(v1.serial, "04");
    assert.equal(v1.san, undefined);
    assert.equal(v1.basicConstraints, undefined);

    const dates = get("dates");
    assert.equal(dates.notValidBefore, 2524607999, "UTCTime 491231235959Z is 2049");
    assert.equal(dates.notValidAfter, 2695968550, "GeneralizedTime 20550607080910Z");

    const leaf = get("leaf");
    assert.equal(leaf.issuer, tricky);
    assert.equal(leaf.subject, "CN=leaf.example.com,O=Leaf,C=DE");
    assert.equal(leaf.serial, "0123");
    assert.equal(leaf.sigAlg, "sha256WithRSAEncryption");
    // An IPv4-mapped IPv6 entry prints as IPv4, as Zeek's addr does.
    assert.deepEqual(leaf.san?.ip, ["192.0.2.7"]);
  },
});

Deno.test("bytes OpenSSL cannot decode: no certificate, weird x509_cert_parse_error", () => {
  for (
    const der of [new Uint8Array(0), new Uint8Array([0x30, 0x03, 0x02, 0x01]), new Uint8Array(100)]
  ) {
    const weirds: string[] = [];
    assert.equal(parseCertificate(der, (name) => weirds.push(name)), undefined);
    assert.deepEqual(weirds, ["x509_cert_parse_error"]);
  }
});
