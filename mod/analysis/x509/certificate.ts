/**
 * One certificate as Zeek's X509 file analyzer and `base/files/x509`
 * see it (Z: src/file_analysis/analyzer/x509/X509.cc `EndOfFile`,
 * `ParseCertificate`, `ParseSAN`, `ParseBasicConstraints`;
 * scripts/base/files/x509/main.zeek; research note §4.2–§4.4): OpenSSL
 * decodes and prints (`ffi/libcrypto.ts`), and the rules Zeek applies to
 * what it printed are here: key type names, times, the SAN and basic
 * constraints that reach the log, the weirds.
 *
 * Strings hold one char per byte, as Zeek's do (everything OpenSSL prints
 * here is ASCII; SAN entries are the IA5String's bytes as they are).
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  EVP_PKEY_DSA,
  EVP_PKEY_EC,
  EVP_PKEY_RSA,
  type ExtensionReading,
  GEN,
  NID_BASIC_CONSTRAINTS,
  NID_SUBJECT_ALT_NAME,
  readX509,
  V_ASN1_IA5STRING,
} from "../../../ffi/mod.ts";
import { formatAddr, latin1String } from "../../../zeek/mod.ts";
import { timeFromAsn1, type X509Weird } from "./asn1_time.ts";

/** Zeek's `X509::SubjectAlternativeName`: each list unset when the extension had none of it. */
export interface SubjectAlternativeName {
  readonly dns: readonly string[] | undefined;
  readonly uri: readonly string[] | undefined;
  readonly email: readonly string[] | undefined;
  /** Addresses as Zeek prints them (`192.0.2.1`, `2001:db8::1`). */
  readonly ip: readonly string[] | undefined;
  /** Names of other kinds were present (not logged). */
  readonly otherFields: boolean;
}

/** Zeek's `X509::BasicConstraints`. */
export interface BasicConstraints {
  readonly ca: boolean;
  /**
   * `count` of `static_cast<int32_t>(ASN1_INTEGER_get(pathlen))`: a
   * negative path length wraps to a bigint near 2^64, as Zeek logs it.
   */
  readonly pathLen: number | bigint | undefined;
}

/**
 * A parsed certificate: every x509.log value in Zeek's form, the rest of
 * `X509::Certificate`, and what host name matching reads.
 */
export interface X509Certificate {
  /** SHA-256 of the certificate as OpenSSL encodes it (`i2d_X509`), lower-case hex. */
  readonly fingerprint: string;
  /** The DER Zeek hashes (`x509_get_certificate_string`): the input itself for any well-formed certificate. */
  readonly der: Uint8Array;
  /** `X509_get_version() + 1` (3 for v3), as a Zeek `count`. */
  readonly version: number | bigint;
  /** `i2a_ASN1_INTEGER`: upper-case hex (`36F5DA5300000000505E`), `-` for negatives. */
  readonly serial: string;
  /** RFC 2253, most specific RDN first (`CN=*.gstatic.com,O=Google Inc,…`). */
  readonly subject: string;
  readonly issuer: string;
  /** The subject's last commonName (`ASN1_STRING_print`: bytes outside ASCII print as `.`). */
  readonly cn: string | undefined;
  /** Epoch seconds (`GetTimeFromAsn1`; 0 when Zeek could not read it). */
  readonly notValidBefore: number;
  readonly notValidAfter: number;
  /** OpenSSL's long name of the key algorithm (`rsaEncryption`), or its OID. */
  readonly keyAlg: string;
  /** OpenSSL's long name of the signature algorithm; "" when it knows none. */
  readonly sigAlg: string;
  /** `rsa`, `dsa`, `ecdsa`, or OpenSSL's key type name (`ED25519`); unset without a loadable key. */
  readonly keyType: string | undefined;
  /** Key size in bits, unset when OpenSSL gives none. */
  readonly keyLength: number | undefined;
  /** RSA public exponent in decimal. */
  readonly exponent: string | undefined;
  /** EC group name (`prime256v1`). */
  readonly curve: string | undefined;
  /** The tbsCertificate's signature algorithm (`i2a_ASN1_OBJECT`), not logged. */
  readonly tbsSigAlg: string;
  /** The last subjectAltName extension that decoded (x509.log `san.*`). */
  readonly san: SubjectAlternativeName | undefined;
  /** The last basicConstraints extension that decoded. */
  readonly basicConstraints: BasicConstraints | undefined;
  /**
   * For host name matching: the IA5String dNSNames of the first
   * subjectAltName extension (empty when it did not decode), undefined
   * when there is none.
   */
  readonly hostnameSan: readonly string[] | undefined;
}

/**
 * Parses a DER certificate as Zeek does; undefined when OpenSSL cannot
 * decode it (Zeek's weird `x509_cert_parse_error`, no x509 record). Other
 * weirds (times, SAN, basic constraints) go to `weird` in Zeek's order.
 *
 * @example
 * ```ts
 * const cert = parseCertificate(der, (name) => console.log("weird", name));
 * cert?.subject; // "CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US"
 * ```
 */
export function parseCertificate(
  der: Uint8Array,
  weird?: X509Weird,
): X509Certificate | undefined {
  const r = readX509(der);
  if (r === undefined) {
    weird?.("x509_cert_parse_error");
    return undefined;
  }
  const notValidBefore = timeFromAsn1(r.notBefore.type, r.notBefore.bytes, weird);
  const notValidAfter = timeFromAsn1(r.notAfter.type, r.notAfter.bytes, weird);

  let keyType: string | undefined;
  let keyLength: number | undefined;
  let exponent: string | undefined;
  let curve: string | undefined;
  const key = r.key;
  if (key !== undefined) {
    if (key.baseId === EVP_PKEY_DSA) keyType = "dsa";
    else if (key.baseId === EVP_PKEY_RSA) {
      keyType = "rsa";
      exponent = key.rsaExponent;
    } else if (key.baseId === EVP_PKEY_EC) {
      keyType = "ecdsa";
      curve = key.ecGroup;
    } else keyType = key.typeName;
    if (key.bits > 0) keyLength = key.bits;
  }

  let san: SubjectAlternativeName | undefined;
  let hostnameSan: string[] | undefined;
  let basicConstraints: BasicConstraints | undefined;
  for (const ext of r.extensions) {
    if (ext.nid === NID_BASIC_CONSTRAINTS) {
      const bc = ext.basicConstraints;
      if (bc === undefined) weird?.("x509_invalid_basic_constraint");
      else basicConstraints = { ca: bc.ca !== 0, pathLen: pathLenOf(bc.pathLength) };
    } else if (ext.nid === NID_SUBJECT_ALT_NAME) {
      // x509_check_cert_hostname reads only the first one (X509_get_ext_by_NID).
      if (hostnameSan === undefined) hostnameSan = dnsNamesOf(ext);
      const parsed = sanOf(ext, weird);
      if (parsed !== undefined) san = parsed;
    }
  }

  const encoded = r.encoded;
  return {
    fingerprint: createHash("sha256").update(encoded).digest("hex"),
    der: encoded,
    version: countOf(BigInt(r.version) + 1n),
    serial: r.serial,
    subject: r.subject,
    issuer: r.issuer,
    cn: r.commonName,
    notValidBefore,
    notValidAfter,
    keyAlg: r.keyAlgorithm,
    sigAlg: r.signatureAlgorithm,
    keyType,
    keyLength,
    exponent,
    curve,
    tbsSigAlg: r.tbsSignatureAlgorithm,
    san,
    basicConstraints,
    hostnameSan,
  };
}

/** `ParseSAN`: undefined (weird `x509_san_parse_error`) when OpenSSL could not decode it. */
function sanOf(
  ext: ExtensionReading,
  weird: X509Weird | undefined,
): SubjectAlternativeName | undefined {
  const names = ext.names;
  if (names === undefined) {
    weird?.("x509_san_parse_error");
    return undefined;
  }
  let dns: string[] | undefined;
  let uri: string[] | undefined;
  let email: string[] | undefined;
  let ip: string[] | undefined;
  let otherFields = false;
  for (const gen of names) {
    const value = gen.value;
    if (gen.type === GEN.DNS || gen.type === GEN.URI || gen.type === GEN.EMAIL) {
      if (value === undefined || value.type !== V_ASN1_IA5STRING) {
        weird?.("x509_san_non_string");
        continue;
      }
      const s = latin1String(value.bytes, 0, value.bytes.length);
      if (gen.type === GEN.DNS) (dns ??= []).push(s);
      else if (gen.type === GEN.URI) (uri ??= []).push(s);
      else (email ??= []).push(s);
    } else if (gen.type === GEN.IPADD) {
      // Zeek creates the vector before it looks at the length.
      ip ??= [];
      const length = value?.bytes.length ?? 0;
      if (length === 4 || length === 16) ip.push(formatAddr(value!.bytes, 0, length));
      else weird?.("x509_san_ip_length", String(length));
    } else otherFields = true;
  }
  return { dns, uri, email, ip, otherFields };
}

/** The IA5String dNSNames `x509_check_cert_hostname` tries (none when the extension did not decode). */
function dnsNamesOf(ext: ExtensionReading): string[] {
  const out: string[] = [];
  for (const gen of ext.names ?? []) {
    const value = gen.value;
    if (gen.type !== GEN.DNS || value === undefined || value.type !== V_ASN1_IA5STRING) continue;
    out.push(latin1String(value.bytes, 0, value.bytes.length));
  }
  return out;
}

/** `static_cast<int32_t>(ASN1_INTEGER_get(pathlen))` stored in a `count`. */
function pathLenOf(value: number | bigint | undefined): number | bigint | undefined {
  if (value === undefined) return undefined;
  return countOf(BigInt.asIntN(32, BigInt(value)));
}

/** A C integer read back as a Zeek `count` (two's complement in 64 bits). */
function countOf(value: bigint): number | bigint {
  const count = BigInt.asUintN(64, value);
  return count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : count;
}
