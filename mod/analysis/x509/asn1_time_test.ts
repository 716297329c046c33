import assert from "node:assert/strict";
import { V_ASN1_GENERALIZEDTIME, V_ASN1_UTCTIME } from "../../../ffi/mod.ts";
import { parseCertificate, timeFromAsn1 } from "./mod.ts";
import { buildCertificate, generalizedTime, utcTime } from "./der_builder_test.ts";

const text = new TextEncoder();

function time(type: number, s: string | Uint8Array): { value: number; weirds: string[] } {
  const weirds: string[] = [];
  const value = timeFromAsn1(
    type,
    typeof s === "string" ? text.encode(s) : s,
    (w) => weirds.push(w),
  );
  return { value, weirds };
}
const utc = (s: string | Uint8Array) => time(V_ASN1_UTCTIME, s);
const gen = (s: string | Uint8Array) => time(V_ASN1_GENERALIZEDTIME, s);

Deno.test("timeFromAsn1: the research note's verified values (§4.3)", () => {
  assert.deepEqual(utc("491231235959Z"), { value: 2524607999, weirds: [] }, "UTCTime 49 is 2049");
  assert.deepEqual(gen("20550607080910Z"), { value: 2695968550, weirds: [] });
  assert.deepEqual(utc("500101000000Z"), { value: -631152000, weirds: [] }, "UTCTime 50 is 1950");
});

Deno.test("timeFromAsn1: missing seconds, fractions, and Zeek's offset arithmetic", () => {
  assert.equal(utc("4912312359Z").value, 2524607940);
  assert.equal(gen("205506070809Z").value, 2695968540);
  assert.equal(gen("20550607080910.123456Z").value, 2695968550);
  assert.equal(gen("20550607080910.5").value, 2695968550);
  // +hhmm adds h1*10 + h2*60 + m1*10 + m2 seconds: +0130 is 90 s, -0230 is -150 s.
  assert.equal(utc("4912312359+0130Z").value, 2524607940 + 90);
  assert.equal(gen("20550607080910-0230").value, 2695968550 - 150);
  assert.equal(gen("20550607080910+1000").value, 2695968550 + 10);
  // A result of exactly 0 is returned without its offset.
  assert.equal(gen("19700101000000+0100").value, 0);
  assert.equal(gen("19700101000001+0100").value, 1 + 60);
});

Deno.test("timeFromAsn1: digits are not checked, fields are normalised, years up to 1900 count from 1900", () => {
  // ".9" as seconds: ('.' - '0') * 10 + 9 = -11.
  assert.equal(utc("4912312359.9Z").value, 2524607940 - 11);
  // Month 13 is January of the next year; day 00 is the last of the month before.
  assert.equal(gen("20541301000000Z").value, Date.UTC(2055, 0, 1) / 1000);
  assert.equal(gen("20550100000000Z").value, Date.UTC(2054, 11, 31) / 1000);
  assert.equal(gen("18500101000000Z").value, Date.UTC(3750, 0, 1) / 1000);
  assert.equal(gen("19000101000000Z").value, Date.UTC(3800, 0, 1) / 1000);
  assert.equal(gen("00500101000000Z").value, new Date(0).setUTCFullYear(1950, 0, 1) / 1000);
  // A first byte >= 0x80 is a negative C char, below '5': the century is 20, and
  // the year 2000 + (0xb9 - 256 - '0') * 10 + 9 = 819 is then counted from 1900.
  const high = text.encode("x91231235959Z");
  high[0] = 0xb9;
  const want = new Date(0);
  want.setUTCFullYear(1900 + 819, 11, 31);
  assert.equal(utc(high).value, want.getTime() / 1000 + 23 * 3600 + 59 * 60 + 59);
});

Deno.test("timeFromAsn1: what Zeek gives up on is 0 and a weird", () => {
  const cases: [ReturnType<typeof utc>, string][] = [
    [utc("4912312359"), "x509_utc_length"],
    [utc("491231235959+0100Z"), "x509_utc_length"],
    [utc("491231235959+"), "x509_utc_format"],
    [gen("2055060708Z"), "x509_gen_time_length"],
    [gen("20550607080910.1234567891Z"), "x509_gen_time_length"],
    [time(4, "20550607080910Z"), "x509_invalid_time_type"],
    [gen("2055060708091"), "x509_time_add_char"],
    [gen("20550607080910+01"), "x509_time_offset_underflow"],
    [gen("20550607080910X0100"), "x509_time_offset_type"],
  ];
  for (const [got, weird] of cases) assert.deepEqual(got, { value: 0, weirds: [weird] }, weird);
});

Deno.test("certificates with odd times: x509.log times and weirds through parseCertificate", () => {
  const weirds: string[] = [];
  const cert = parseCertificate(
    buildCertificate({
      notBefore: utcTime("491231235959+"),
      notAfter: generalizedTime("20550607080910-0230"),
    }),
    (w) => weirds.push(w),
  );
  assert.equal(cert?.notValidBefore, 0);
  assert.equal(cert?.notValidAfter, 2695968400);
  assert.deepEqual(weirds, ["x509_utc_format"]);
});
