/**
 * Test support: certificates built field by field in DER, for what no
 * certificate tool writes (odd times, odd SAN entries, negative path
 * lengths, unknown algorithms). Nobody checks signatures here, and neither
 * does Zeek, so the signature is a few zero bytes.
 */

const text = new TextEncoder();

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** A TLV with the given tag byte around the concatenated parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const head = [tag, ...lengthBytes(size)];
  const out = new Uint8Array(head.length + size);
  out.set(head);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, ...parts);
export const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

/** An INTEGER from its content bytes (two's complement, as written). */
export const integerBytes = (content: Uint8Array): Uint8Array => tlv(0x02, content);

/** A minimal INTEGER of a (possibly negative) value. */
export function integer(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  for (;;) {
    out.unshift(Number(BigInt.asUintN(8, v)));
    v >>= 8n;
    const top = out[0]! & 0x80;
    if ((v === 0n && top === 0) || (v === -1n && top !== 0)) break;
  }
  return tlv(0x02, new Uint8Array(out));
}

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(BigInt);
  const body: number[] = [];
  const push = (arc: bigint) => {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...groups);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(0x06, new Uint8Array(body));
}

export const nullValue = (): Uint8Array => bytes(0x05, 0x00);
export const utf8 = (s: string): Uint8Array => tlv(0x0c, text.encode(s));
export const ia5 = (s: string | Uint8Array): Uint8Array =>
  tlv(0x16, typeof s === "string" ? text.encode(s) : s);
export const octets = (content: Uint8Array): Uint8Array => tlv(0x04, content);
export const bitString = (content: Uint8Array): Uint8Array => tlv(0x03, bytes(0), content);
export const utcTime = (s: string): Uint8Array => tlv(0x17, text.encode(s));
export const generalizedTime = (s: string): Uint8Array => tlv(0x18, text.encode(s));
export const bool = (b: boolean): Uint8Array => bytes(0x01, 0x01, b ? 0xff : 0x00);

/** `[n] EXPLICIT` around `inner`. */
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);
/** `[n] IMPLICIT` primitive content (a GeneralName's dNSName is `[2]`, iPAddress `[7]`). */
export const implicit = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

/** An AlgorithmIdentifier. */
export const algorithm = (dotted: string, params: Uint8Array = nullValue()): Uint8Array =>
  seq(oid(dotted), params);

/** A Name from RDNs, each a list of (OID, value TLV). */
export function name(...rdns: (readonly [string, Uint8Array])[][]): Uint8Array {
  return seq(...rdns.map((rdn) => set(...rdn.map(([o, v]) => seq(oid(o), v)))));
}

/** `CN=<cn>` as a Name. */
export const cnName = (cn: string): Uint8Array => name([["2.5.4.3", utf8(cn)]]);

/** An Extension. */
export function extension(dotted: string, value: Uint8Array, critical = false): Uint8Array {
  return critical ? seq(oid(dotted), bool(true), octets(value)) : seq(oid(dotted), octets(value));
}

export const SAN_OID = "2.5.29.17";
export const BASIC_CONSTRAINTS_OID = "2.5.29.19";
export const RSA_OID = "1.2.840.113549.1.1.1";
export const SHA256_WITH_RSA_OID = "1.2.840.113549.1.1.11";
export const MD5_WITH_RSA_OID = "1.2.840.113549.1.1.4";

/** An RSA SubjectPublicKeyInfo with a `bits`-bit modulus (not a real key; nobody checks). */
export function rsaPublicKey(bits = 1024, exponent = 65537n, algorithmOid = RSA_OID): Uint8Array {
  const modulus = new Uint8Array(bits / 8 + 1);
  modulus[1] = 0xc3;
  modulus.fill(0x5a, 2);
  modulus[modulus.length - 1] = 0x01;
  return seq(
    algorithm(algorithmOid),
    bitString(seq(integerBytes(modulus), integer(exponent))),
  );
}

/** What a built certificate holds; every field has a plain default. */
export interface CertificateSpec {
  /** The `[0]` version value; undefined leaves it out (v1). */
  readonly version?: number | undefined;
  readonly serial?: Uint8Array;
  readonly signature?: string;
  readonly issuer?: Uint8Array;
  readonly notBefore?: Uint8Array;
  readonly notAfter?: Uint8Array;
  readonly subject?: Uint8Array;
  readonly publicKey?: Uint8Array;
  readonly extensions?: readonly Uint8Array[];
}

/** A certificate in DER from `spec`. */
export function buildCertificate(spec: CertificateSpec = {}): Uint8Array {
  const signature = algorithm(spec.signature ?? SHA256_WITH_RSA_OID);
  const version = "version" in spec ? spec.version : 2;
  const tbs = seq(
    ...(version === undefined ? [] : [explicit(0, integer(BigInt(version)))]),
    spec.serial ?? integer(0x1234n),
    signature,
    spec.issuer ?? cnName("issuer.example.com"),
    seq(spec.notBefore ?? utcTime("200101000000Z"), spec.notAfter ?? utcTime("300101000000Z")),
    spec.subject ?? cnName("subject.example.com"),
    spec.publicKey ?? rsaPublicKey(),
    ...(spec.extensions === undefined || spec.extensions.length === 0
      ? []
      : [explicit(3, seq(...spec.extensions))]),
  );
  return seq(tbs, signature, bitString(new Uint8Array(8)));
}

/** Certificates with what no certificate tool writes, by name (unit tests, oracle, fuzz seeds). */
export function oddCertificates(): { readonly name: string; readonly der: Uint8Array }[] {
  const dnsName = (s: string | Uint8Array) =>
    implicit(2, typeof s === "string" ? text.encode(s) : s);
  const san = (...names: Uint8Array[]) => extension(SAN_OID, seq(...names));
  const bc = (...fields: Uint8Array[]) => extension(BASIC_CONSTRAINTS_OID, seq(...fields));
  const longCn = "x".repeat(3000);
  return [
    { name: "plain", der: buildCertificate() },
    { name: "v1", der: buildCertificate({ version: undefined }) },
    { name: "v5", der: buildCertificate({ version: 5 }) },
    { name: "utc without seconds", der: buildCertificate({ notBefore: utcTime("4912312359Z") }) },
    { name: "utc offset", der: buildCertificate({ notBefore: utcTime("4912312359+0130Z") }) },
    { name: "utc not digits", der: buildCertificate({ notBefore: utcTime("4912312359.9Z") }) },
    { name: "utc without Z", der: buildCertificate({ notBefore: utcTime("491231235959+") }) },
    { name: "utc too short", der: buildCertificate({ notBefore: utcTime("4912312359") }) },
    {
      name: "generalized fraction",
      der: buildCertificate({ notAfter: generalizedTime("20550607080910.123Z") }),
    },
    {
      name: "generalized offset",
      der: buildCertificate({ notAfter: generalizedTime("20550607080910-0230") }),
    },
    {
      name: "generalized short offset",
      der: buildCertificate({ notAfter: generalizedTime("20550607080910+01") }),
    },
    { name: "generalized too short", der: buildCertificate({ notAfter: generalizedTime("2055") }) },
    {
      name: "san ip of 5 bytes",
      der: buildCertificate({
        extensions: [san(implicit(7, bytes(1, 2, 3, 4, 5)), dnsName("x.example.com"))],
      }),
    },
    {
      name: "san other kinds",
      der: buildCertificate({
        extensions: [san(
          tlv(0xa0, oid("1.3.6.1.4.1.311.20.2.3"), explicit(0, utf8("upn@example.com"))),
          tlv(0xa4, cnName("dirname")),
          implicit(8, oid("1.2.3.4").subarray(2)),
          implicit(1, text.encode("mail@example.com")),
          implicit(6, text.encode("https://example.com/")),
          implicit(7, bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),
        )],
      }),
    },
    {
      name: "san only other kinds",
      der: buildCertificate({ extensions: [san(tlv(0xa4, cnName("d")))] }),
    },
    {
      name: "san bytes beyond ascii",
      der: buildCertificate({ extensions: [san(dnsName(bytes(0x61, 0xff, 0x2e, 0xe9, 0x0a)))] }),
    },
    {
      name: "san broken",
      der: buildCertificate({ extensions: [extension(SAN_OID, bytes(0x30, 0x05, 0x01))] }),
    },
    {
      name: "two sans",
      der: buildCertificate({
        extensions: [san(dnsName("first.example.com")), san(dnsName("second.example.com"))],
      }),
    },
    {
      name: "basic constraints without path length",
      der: buildCertificate({ extensions: [bc(bool(true))] }),
    },
    { name: "basic constraints not a CA", der: buildCertificate({ extensions: [bc()] }) },
    {
      name: "basic constraints negative path length",
      der: buildCertificate({ extensions: [bc(bool(true), integer(-1n))] }),
    },
    {
      name: "basic constraints huge path length",
      der: buildCertificate({ extensions: [bc(bool(true), integer(1n << 40n))] }),
    },
    {
      name: "basic constraints beyond a long",
      der: buildCertificate({ extensions: [bc(bool(true), integer(1n << 70n))] }),
    },
    {
      name: "basic constraints broken",
      der: buildCertificate({ extensions: [extension(BASIC_CONSTRAINTS_OID, bytes(4, 0))] }),
    },
    {
      name: "md5WithRSAEncryption key (RDP)",
      der: buildCertificate({ publicKey: rsaPublicKey(1024, 65537n, MD5_WITH_RSA_OID) }),
    },
    { name: "rsa exponent 3", der: buildCertificate({ publicKey: rsaPublicKey(2048, 3n) }) },
    { name: "unknown signature algorithm", der: buildCertificate({ signature: "1.2.3.4.5.6" }) },
    {
      name: "unknown key algorithm",
      der: buildCertificate({ publicKey: seq(algorithm("1.2.3.4"), bitString(bytes(1, 2, 3))) }),
    },
    {
      name: "rsa key that does not decode",
      der: buildCertificate({ publicKey: seq(algorithm(RSA_OID), bitString(bytes(1, 2, 3))) }),
    },
    {
      name: "serial of 40 bytes",
      der: buildCertificate({ serial: integerBytes(new Uint8Array(40).fill(0x11)) }),
    },
    {
      name: "serial of 1200 bytes",
      der: buildCertificate({ serial: integerBytes(new Uint8Array(1200).fill(0x7e)) }),
    },
    { name: "negative serial", der: buildCertificate({ serial: integer(-0x1234n) }) },
    { name: "zero serial", der: buildCertificate({ serial: integer(0n) }) },
    { name: "subject longer than 2047", der: buildCertificate({ subject: cnName(longCn) }) },
    {
      name: "cn with a newline and controls",
      der: buildCertificate({ subject: cnName("a\nb\x01c.example.com") }),
    },
    {
      name: "cn as BMPString",
      der: buildCertificate({ subject: name([["2.5.4.3", tlv(0x1e, bytes(0, 0x41, 0, 0xe9))]]) }),
    },
    { name: "empty subject and issuer", der: buildCertificate({ subject: seq(), issuer: seq() }) },
    {
      name: "multi-valued rdn",
      der: buildCertificate({
        subject: name([["0.9.2342.19200300.100.1.1", utf8("uid1")], ["2.5.4.11", utf8(" lead")]]),
      }),
    },
  ];
}
