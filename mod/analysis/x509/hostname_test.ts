import assert from "node:assert/strict";
import { checkCertHostname, checkHostname, parseCertificate } from "./mod.ts";
import {
  buildCertificate,
  bytes,
  cnName,
  extension,
  implicit,
  name,
  SAN_OID,
  seq,
  utf8,
} from "./der_builder_test.ts";

const text = new TextEncoder();
const dns = (s: string) => implicit(2, text.encode(s));

Deno.test("checkHostname: the research note's verified examples (§3.8, §7.5)", () => {
  assert.equal(checkHostname("WWW.example.com", "*.example.com"), true);
  assert.equal(checkHostname("www.EXAMPLE.com", "*.example.com"), false);
  assert.equal(checkHostname("a.b.example.com", "*.example.com"), false);
  assert.equal(checkHostname("foo.example.com", "f*.example.com"), true);
  assert.equal(checkHostname("foo.example.com", "*o.example.com"), false);
  assert.equal(checkHostname("Example.com", "example.com"), false);
});

Deno.test("checkHostname: Zeek's rules to the letter", () => {
  assert.equal(checkHostname("example.com", "example.com"), true);
  assert.equal(checkHostname("www.example.com", "www.*.com"), false, "* not before the first dot");
  assert.equal(
    checkHostname("www.example", "*.example"),
    false,
    "two dots needed in the cert name",
  );
  assert.equal(checkHostname("localhost", "*.example.com"), false, "the host needs a dot");
  assert.equal(checkHostname(".example.com", "*.example.com"), true, "an empty first label passes");
  assert.equal(checkHostname("f.example.com", "foo*.example.com"), false);
  assert.equal(checkHostname("fo.example.com", "fo*.example.com"), true, "* may stand for nothing");
  assert.equal(checkHostname("www.example.com", "*.*.com"), false);
  assert.equal(checkHostname("", ""), true);
});

Deno.test("checkCertHostname: SAN dNSNames when there is a SAN, else the last CN", () => {
  const withSan = parseCertificate(buildCertificate({
    subject: cnName("cn.example.com"),
    extensions: [extension(SAN_OID, seq(dns("*.example.com"), implicit(7, bytes(10, 0, 0, 1))))],
  }))!;
  assert.equal(checkCertHostname(withSan, "www.example.com"), true);
  assert.equal(checkCertHostname(withSan, "cn.example.com"), true, "through *.example.com");
  assert.equal(checkCertHostname(withSan, "cn.example.org"), false);
  assert.equal(checkCertHostname(withSan, "10.0.0.1"), false, "iPAddress entries are not tried");

  const cnOnlyInSubject = parseCertificate(buildCertificate({
    subject: cnName("cn.example.com"),
    extensions: [extension(SAN_OID, seq(dns("other.example.org")))],
  }))!;
  assert.equal(
    checkCertHostname(cnOnlyInSubject, "cn.example.com"),
    false,
    "CN ignored with a SAN",
  );

  const twoCns = parseCertificate(buildCertificate({
    subject: name([["2.5.4.3", utf8("first.example.com")]], [["2.5.4.3", utf8("*.com")]]),
  }))!;
  assert.equal(twoCns.hostnameSan, undefined);
  assert.equal(checkCertHostname(twoCns, "first.example.com"), false);
  assert.equal(checkCertHostname(twoCns, "www.com"), false, "*.com has one dot");
  const lastCn = parseCertificate(buildCertificate({
    subject: name([["2.5.4.3", utf8("first.example.com")]], [[
      "2.5.4.3",
      utf8("last.example.com"),
    ]]),
  }))!;
  assert.equal(checkCertHostname(lastCn, "last.example.com"), true);
  assert.equal(checkCertHostname(lastCn, "first.example.com"), false);

  const noName = parseCertificate(buildCertificate({ subject: seq() }))!;
  assert.equal(checkCertHostname(noName, ""), false);
  assert.equal(checkCertHostname(noName, "example.com"), false);
});

Deno.test("checkCertHostname: only the first SAN extension counts, and one that does not decode matches nothing", () => {
  const two = parseCertificate(buildCertificate({
    extensions: [
      extension(SAN_OID, seq(dns("first.example.com"))),
      extension(SAN_OID, seq(dns("second.example.com"))),
    ],
  }))!;
  assert.equal(checkCertHostname(two, "first.example.com"), true);
  assert.equal(checkCertHostname(two, "second.example.com"), false);
  // x509.log shows the last one: the script keeps the last event's record.
  assert.deepEqual(two.san?.dns, ["second.example.com"]);

  const weirds: string[] = [];
  const broken = parseCertificate(
    buildCertificate({
      subject: cnName("cn.example.com"),
      extensions: [extension(SAN_OID, bytes(0x30, 0x03, 0x82, 0x05, 0x61))],
    }),
    (w) => weirds.push(w),
  )!;
  assert.deepEqual(weirds, ["x509_san_parse_error"]);
  assert.deepEqual(broken.hostnameSan, []);
  assert.equal(checkCertHostname(broken, "cn.example.com"), false, "no fallback to the CN");

  const emptyName = parseCertificate(buildCertificate({
    extensions: [extension(SAN_OID, seq(implicit(2, new Uint8Array(0)), dns("x.example.com")))],
  }))!;
  assert.equal(checkCertHostname(emptyName, ""), false, "an empty match reads as none");
  assert.equal(checkCertHostname(emptyName, "x.example.com"), true);
});
