/**
 * OpenSSL's view of an X.509 certificate, read through `Deno.dlopen` from
 * `libcrypto.so.3` with the calls Zeek's X509 file analyzer makes
 * (Z: src/file_analysis/analyzer/x509/X509.cc `ParseCertificate`,
 * `ParseSAN`, `ParseBasicConstraints`; functions.bif
 * `x509_get_certificate_string`). x509.log prints what OpenSSL prints:
 * RFC 2253 names, long names of algorithms, `i2a_ASN1_INTEGER` serials,
 * group names, key sizes. Reading them from the library itself (same
 * buffers, same lengths) is the only way to print the same bytes; what
 * Zeek then does with them (key type names, times, weirds) is the caller's.
 *
 * Nothing native outlives `readX509`: the certificate, the BIO, the key and
 * the decoded extensions are freed before it returns, whatever happens, and
 * OpenSSL's per-thread error queue is cleared (decoding errors pile up
 * there, and nothing here reads them).
 *
 * @module
 */

import { LIBCRYPTO, openLibrary } from "./libraries.ts";

/**
 * The symbol table, each with its C signature (OpenSSL 3.0). Macros of the
 * C API are called through the function they expand to: `BIO_reset` is
 * `BIO_ctrl(b, BIO_CTRL_RESET, 0, NULL)`, `EVP_PKEY_base_id` is
 * `EVP_PKEY_get_base_id`, `EVP_PKEY_bits` is `EVP_PKEY_get_bits`,
 * `X509_extract_key` is `X509_get_pubkey`, `OPENSSL_free` is `CRYPTO_free`,
 * `sk_GENERAL_NAME_num`/`_value` are `OPENSSL_sk_num`/`_value`.
 */
const SYMBOLS = {
  /** `const char *OpenSSL_version(int type);` */
  OpenSSL_version: { parameters: ["i32"], result: "pointer" },
  /** `X509 *d2i_X509(X509 **a, const unsigned char **in, long len);` */
  d2i_X509: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  /** `void X509_free(X509 *a);` */
  X509_free: { parameters: ["pointer"], result: "void" },
  /** `int i2d_X509(const X509 *a, unsigned char **out);` */
  i2d_X509: { parameters: ["pointer", "buffer"], result: "i32" },
  /** `long X509_get_version(const X509 *x);` */
  X509_get_version: { parameters: ["pointer"], result: "i64" },
  /** `ASN1_INTEGER *X509_get_serialNumber(X509 *x);` */
  X509_get_serialNumber: { parameters: ["pointer"], result: "pointer" },
  /** `X509_NAME *X509_get_subject_name(const X509 *a);` */
  X509_get_subject_name: { parameters: ["pointer"], result: "pointer" },
  /** `X509_NAME *X509_get_issuer_name(const X509 *a);` */
  X509_get_issuer_name: { parameters: ["pointer"], result: "pointer" },
  /** `const ASN1_TIME *X509_get0_notBefore(const X509 *x);` */
  X509_get0_notBefore: { parameters: ["pointer"], result: "pointer" },
  /** `const ASN1_TIME *X509_get0_notAfter(const X509 *x);` */
  X509_get0_notAfter: { parameters: ["pointer"], result: "pointer" },
  /** `X509_PUBKEY *X509_get_X509_PUBKEY(const X509 *x);` */
  X509_get_X509_PUBKEY: { parameters: ["pointer"], result: "pointer" },
  /**
   * `int X509_PUBKEY_get0_param(ASN1_OBJECT **ppkalg, const unsigned char **pk,
   *   int *ppklen, X509_ALGOR **pa, const X509_PUBKEY *pub);`
   */
  X509_PUBKEY_get0_param: {
    parameters: ["buffer", "buffer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  /** `const X509_ALGOR *X509_get0_tbs_sigalg(const X509 *x);` */
  X509_get0_tbs_sigalg: { parameters: ["pointer"], result: "pointer" },
  /**
   * `void X509_ALGOR_get0(const ASN1_OBJECT **paobj, int *pptype,
   *   const void **ppval, const X509_ALGOR *algor);`
   */
  X509_ALGOR_get0: { parameters: ["buffer", "pointer", "pointer", "pointer"], result: "void" },
  /** `int X509_get_signature_nid(const X509 *x);` */
  X509_get_signature_nid: { parameters: ["pointer"], result: "i32" },
  /** `EVP_PKEY *X509_get_pubkey(X509 *x);` (a new reference) */
  X509_get_pubkey: { parameters: ["pointer"], result: "pointer" },
  /** `int X509_get_ext_count(const X509 *x);` */
  X509_get_ext_count: { parameters: ["pointer"], result: "i32" },
  /** `X509_EXTENSION *X509_get_ext(const X509 *x, int loc);` */
  X509_get_ext: { parameters: ["pointer", "i32"], result: "pointer" },
  /** `ASN1_OBJECT *X509_EXTENSION_get_object(X509_EXTENSION *ex);` */
  X509_EXTENSION_get_object: { parameters: ["pointer"], result: "pointer" },
  /** `void *X509V3_EXT_d2i(X509_EXTENSION *ext);` */
  X509V3_EXT_d2i: { parameters: ["pointer"], result: "pointer" },
  /** `void GENERAL_NAMES_free(GENERAL_NAMES *a);` */
  GENERAL_NAMES_free: { parameters: ["pointer"], result: "void" },
  /** `void BASIC_CONSTRAINTS_free(BASIC_CONSTRAINTS *a);` */
  BASIC_CONSTRAINTS_free: { parameters: ["pointer"], result: "void" },
  /** `int OPENSSL_sk_num(const OPENSSL_STACK *st);` */
  OPENSSL_sk_num: { parameters: ["pointer"], result: "i32" },
  /** `void *OPENSSL_sk_value(const OPENSSL_STACK *st, int i);` */
  OPENSSL_sk_value: { parameters: ["pointer", "i32"], result: "pointer" },
  /** `int X509_NAME_print_ex(BIO *out, const X509_NAME *nm, int indent, unsigned long flags);` */
  X509_NAME_print_ex: { parameters: ["pointer", "pointer", "i32", "u64"], result: "i32" },
  /** `int X509_NAME_get_index_by_NID(const X509_NAME *name, int nid, int lastpos);` */
  X509_NAME_get_index_by_NID: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  /** `X509_NAME_ENTRY *X509_NAME_get_entry(const X509_NAME *name, int loc);` */
  X509_NAME_get_entry: { parameters: ["pointer", "i32"], result: "pointer" },
  /** `ASN1_STRING *X509_NAME_ENTRY_get_data(const X509_NAME_ENTRY *ne);` */
  X509_NAME_ENTRY_get_data: { parameters: ["pointer"], result: "pointer" },
  /** `int ASN1_STRING_print(BIO *bp, const ASN1_STRING *v);` */
  ASN1_STRING_print: { parameters: ["pointer", "pointer"], result: "i32" },
  /** `int ASN1_STRING_length(const ASN1_STRING *x);` */
  ASN1_STRING_length: { parameters: ["pointer"], result: "i32" },
  /** `int ASN1_STRING_type(const ASN1_STRING *x);` */
  ASN1_STRING_type: { parameters: ["pointer"], result: "i32" },
  /** `const unsigned char *ASN1_STRING_get0_data(const ASN1_STRING *x);` */
  ASN1_STRING_get0_data: { parameters: ["pointer"], result: "pointer" },
  /** `long ASN1_INTEGER_get(const ASN1_INTEGER *a);` */
  ASN1_INTEGER_get: { parameters: ["pointer"], result: "i64" },
  /** `int i2a_ASN1_INTEGER(BIO *bp, const ASN1_INTEGER *a);` */
  i2a_ASN1_INTEGER: { parameters: ["pointer", "pointer"], result: "i32" },
  /** `int i2a_ASN1_OBJECT(BIO *bp, const ASN1_OBJECT *a);` */
  i2a_ASN1_OBJECT: { parameters: ["pointer", "pointer"], result: "i32" },
  /** `int i2t_ASN1_OBJECT(char *buf, int buf_len, const ASN1_OBJECT *a);` */
  i2t_ASN1_OBJECT: { parameters: ["buffer", "i32", "pointer"], result: "i32" },
  /** `ASN1_OBJECT *OBJ_nid2obj(int n);` */
  OBJ_nid2obj: { parameters: ["i32"], result: "pointer" },
  /** `int OBJ_obj2nid(const ASN1_OBJECT *o);` */
  OBJ_obj2nid: { parameters: ["pointer"], result: "i32" },
  /** `const BIO_METHOD *BIO_s_mem(void);` */
  BIO_s_mem: { parameters: [], result: "pointer" },
  /** `BIO *BIO_new(const BIO_METHOD *type);` */
  BIO_new: { parameters: ["pointer"], result: "pointer" },
  /** `int BIO_free(BIO *a);` */
  BIO_free: { parameters: ["pointer"], result: "i32" },
  /** `int BIO_read(BIO *b, void *data, int dlen);` */
  BIO_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  /** `int BIO_gets(BIO *bp, char *buf, int size);` */
  BIO_gets: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  /** `long BIO_ctrl(BIO *bp, int cmd, long larg, void *parg);` */
  BIO_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  /** `EVP_PKEY *d2i_PublicKey(int type, EVP_PKEY **a, const unsigned char **pp, long length);` */
  d2i_PublicKey: { parameters: ["i32", "pointer", "buffer", "i64"], result: "pointer" },
  /** `int EVP_PKEY_get_base_id(const EVP_PKEY *pkey);` */
  EVP_PKEY_get_base_id: { parameters: ["pointer"], result: "i32" },
  /** `int EVP_PKEY_get_bits(const EVP_PKEY *pkey);` */
  EVP_PKEY_get_bits: { parameters: ["pointer"], result: "i32" },
  /** `const char *EVP_PKEY_get0_type_name(const EVP_PKEY *key);` */
  EVP_PKEY_get0_type_name: { parameters: ["pointer"], result: "pointer" },
  /** `int EVP_PKEY_get_bn_param(const EVP_PKEY *pkey, const char *key_name, BIGNUM **bn);` */
  EVP_PKEY_get_bn_param: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  /**
   * `int EVP_PKEY_get_utf8_string_param(const EVP_PKEY *pkey, const char *key_name,
   *   char *str, size_t max_buf_sz, size_t *out_sz);`
   */
  EVP_PKEY_get_utf8_string_param: {
    parameters: ["pointer", "buffer", "buffer", "usize", "pointer"],
    result: "i32",
  },
  /** `void EVP_PKEY_free(EVP_PKEY *key);` */
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  /** `char *BN_bn2dec(const BIGNUM *a);` */
  BN_bn2dec: { parameters: ["pointer"], result: "pointer" },
  /** `void BN_free(BIGNUM *a);` */
  BN_free: { parameters: ["pointer"], result: "void" },
  /** `void CRYPTO_free(void *ptr, const char *file, int line);` */
  CRYPTO_free: { parameters: ["pointer", "pointer", "i32"], result: "void" },
  /** `void ERR_clear_error(void);` */
  ERR_clear_error: { parameters: [], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function crypto(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= openLibrary(LIBCRYPTO, SYMBOLS);
  return lib.symbols;
}

declare const brand: unique symbol;
/** A pointer to the C type `T`; the brand keeps a `BIO *` from being passed as an `X509 *`. */
type Native<T extends string> = Deno.PointerObject & { readonly [brand]: T };
type X509Ptr = Native<"X509">;
type BioPtr = Native<"BIO">;
type NamePtr = Native<"X509_NAME">;
type Asn1StringPtr = Native<"ASN1_STRING">;
type ObjectPtr = Native<"ASN1_OBJECT">;
type KeyPtr = Native<"EVP_PKEY">;
type ExtensionPtr = Native<"X509_EXTENSION">;
type StackPtr = Native<"STACK">;

/** `NID_commonName`. */
const NID_COMMON_NAME = 13;
/** `NID_md5WithRSAEncryption`: the key algorithm some RDP servers claim. */
const NID_MD5_WITH_RSA = 8;
/** `NID_subject_alt_name`. */
export const NID_SUBJECT_ALT_NAME = 85;
/** `NID_basic_constraints`. */
export const NID_BASIC_CONSTRAINTS = 87;
/** `EVP_PKEY_RSA` (= `NID_rsaEncryption`). */
export const EVP_PKEY_RSA = 6;
/** `EVP_PKEY_DSA` (= `NID_dsa`). */
export const EVP_PKEY_DSA = 116;
/** `EVP_PKEY_EC` (= `NID_X9_62_id_ecPublicKey`). */
export const EVP_PKEY_EC = 408;
/** `V_ASN1_IA5STRING`. */
export const V_ASN1_IA5STRING = 22;
/** `V_ASN1_UTCTIME`. */
export const V_ASN1_UTCTIME = 23;
/** `V_ASN1_GENERALIZEDTIME`. */
export const V_ASN1_GENERALIZEDTIME = 24;
/** GENERAL_NAME types (`GEN_*`). */
export const GEN = Object.freeze({ EMAIL: 1, DNS: 2, URI: 6, IPADD: 7 });

/**
 * `XN_FLAG_RFC2253` = `ASN1_STRFLGS_RFC2253` (ESC_2253 1 | ESC_CTRL 2 |
 * ESC_MSB 4 | UTF8_CONVERT 0x10 | DUMP_UNKNOWN 0x100 | DUMP_DER 0x200) |
 * `XN_FLAG_SEP_COMMA_PLUS` (1 << 16) | `XN_FLAG_DN_REV` (1 << 20) |
 * `XN_FLAG_FN_SN` (0) | `XN_FLAG_DUMP_UNKNOWN_FIELDS` (1 << 24).
 */
const XN_FLAG_RFC2253 = 0x1110317n;
/** `BIO_CTRL_RESET`. */
const BIO_CTRL_RESET = 1;
/** The size of Zeek's `char buf[2048]`, the limit of every BIO read. */
const TEXT_BUFFER = 2048;
/** What Zeek lets `i2t_ASN1_OBJECT` write (byte 256 of its buffer stays 0). */
const OBJECT_TEXT_MAX = 255;
/** Where the pointer after the leading `int` sits in `GENERAL_NAME` and `BASIC_CONSTRAINTS` (LP64). */
const STRUCT_POINTER_OFFSET = 8;

/** An `ASN1_STRING` as OpenSSL holds it: its universal tag and content bytes. */
export interface Asn1StringReading {
  /** `ASN1_STRING_type` (`V_ASN1_UTCTIME`, `V_ASN1_IA5STRING`, …). */
  readonly type: number;
  readonly bytes: Uint8Array;
}

/** The subject public key, read when OpenSSL could load it. */
export interface PublicKeyReading {
  /** `EVP_PKEY_get_base_id`. */
  readonly baseId: number;
  /** `EVP_PKEY_get0_type_name` (`ED25519`), if OpenSSL has one. */
  readonly typeName: string | undefined;
  /** `EVP_PKEY_get_bits` (negative on error). */
  readonly bits: number;
  /** RSA keys: `BN_bn2dec` of the `e` parameter. */
  readonly rsaExponent: string | undefined;
  /** EC keys: the `group` parameter (`prime256v1`). */
  readonly ecGroup: string | undefined;
}

/** One general name of a subjectAltName extension. */
export interface GeneralNameReading {
  /** `GEN_DNS`, `GEN_URI`, … */
  readonly type: number;
  /** For `GEN_EMAIL`, `GEN_DNS`, `GEN_URI`, `GEN_IPADD`: the string; undefined for the others. */
  readonly value: Asn1StringReading | undefined;
}

/** The decoded `BASIC_CONSTRAINTS` of an extension. */
export interface BasicConstraintsReading {
  /** The `ca` field (an ASN1_BOOLEAN: 0 or not). */
  readonly ca: number;
  /** `ASN1_INTEGER_get(pathlen)` when present (a C long). */
  readonly pathLength: bigint | undefined;
}

/** An extension of the certificate, in certificate order. */
export interface ExtensionReading {
  /** `OBJ_obj2nid` of its object (0 when OpenSSL does not know it). */
  readonly nid: number;
  /**
   * `NID_subject_alt_name`: the names `X509V3_EXT_d2i` decoded, or
   * undefined when it could not decode them.
   */
  readonly names?: readonly GeneralNameReading[] | undefined;
  /** `NID_basic_constraints`: the decoded value, or undefined when `X509V3_EXT_d2i` failed. */
  readonly basicConstraints?: BasicConstraintsReading | undefined;
}

/** Everything Zeek's X509 analyzer takes from OpenSSL for one certificate. */
export interface X509Reading {
  /** `X509_get_version` (0 for a v1 certificate; a C long). */
  readonly version: bigint;
  /** `i2a_ASN1_INTEGER` of the serial, read with `BIO_read` into 2048 bytes. One char per byte. */
  readonly serial: string;
  /** `X509_NAME_print_ex(…, 0, XN_FLAG_RFC2253)` of the subject, read with `BIO_gets(…, 2048)`. */
  readonly subject: string;
  /** The same for the issuer. */
  readonly issuer: string;
  /** `ASN1_STRING_print` of the subject's last commonName, read with `BIO_gets(…, 2048)`. */
  readonly commonName: string | undefined;
  readonly notBefore: Asn1StringReading;
  readonly notAfter: Asn1StringReading;
  /** `i2t_ASN1_OBJECT(buf, 255, …)` of the SubjectPublicKeyInfo algorithm. */
  readonly keyAlgorithm: string;
  /** `i2a_ASN1_OBJECT` of the tbsCertificate's signature algorithm, read with `BIO_gets`. */
  readonly tbsSignatureAlgorithm: string;
  /** `i2t_ASN1_OBJECT(buf, 255, OBJ_nid2obj(X509_get_signature_nid(…)))`. */
  readonly signatureAlgorithm: string;
  /** The public key, when OpenSSL could load it. */
  readonly key: PublicKeyReading | undefined;
  readonly extensions: readonly ExtensionReading[];
  /** `i2d_X509`: the certificate as OpenSSL encodes it (what Zeek's fingerprint hashes). */
  readonly encoded: Uint8Array;
}

/** Buffers reused by every reading; the calls are synchronous, one at a time. */
const text = new Uint8Array(TEXT_BUFFER);
const cells = new BigUint64Array(3);
const cellBytes = new Uint8Array(cells.buffer, 0, 8);
const cell2Bytes = new Uint8Array(cells.buffer, 8, 8);
const intCell = new Int32Array(1);
const PARAM_RSA_E = new TextEncoder().encode("e\0");
const PARAM_GROUP_NAME = new TextEncoder().encode("group\0");
/**
 * Native code is handed the addresses of these (in `d2i_X509`'s `in` and
 * `i2d_X509`'s `out` cells), so they are allocated outside V8's moving
 * heap and reused; they grow up to `MAX_KEPT_BUFFER`, and a larger
 * certificate gets buffers of its own.
 */
const scratch = { input: new Uint8Array(64 * 1024), output: new Uint8Array(64 * 1024) };
const MAX_KEPT_BUFFER = 1024 * 1024;

/** A buffer of at least `size` bytes for `which`: the kept one, grown, or one of its own. */
function buffer(which: "input" | "output", size: number): Uint8Array {
  const kept = scratch[which];
  if (size <= kept.length) return kept;
  const fresh = new Uint8Array(Math.max(size, Math.min(kept.length * 2, MAX_KEPT_BUFFER)));
  if (fresh.length <= MAX_KEPT_BUFFER) scratch[which] = fresh;
  return fresh;
}

function addressOf(bytes: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
}

/** `OpenSSL_version(OPENSSL_VERSION)`: `OpenSSL 3.0.19 27 Jan 2026`. */
export function libcryptoVersion(): string {
  const p = crypto().OpenSSL_version(0);
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

/**
 * Decodes `der` with `d2i_X509` and reads it as Zeek's X509 analyzer does;
 * undefined when OpenSSL cannot decode it (Zeek's `x509_cert_parse_error`).
 */
export function readX509(der: Uint8Array): X509Reading | undefined {
  const c = crypto();
  const input = buffer("input", der.length);
  input.set(der);
  cells[0] = addressOf(input);
  const cert = c.d2i_X509(null, cellBytes, BigInt(der.length)) as X509Ptr | null;
  if (cert === null) {
    c.ERR_clear_error();
    return undefined;
  }
  const bio = c.BIO_new(c.BIO_s_mem()) as BioPtr | null;
  try {
    if (bio === null) throw new Error("Cannot read a certificate: BIO_new failed (out of memory)");
    return readCertificate(cert, bio);
  } finally {
    if (bio !== null) c.BIO_free(bio);
    c.X509_free(cert);
    c.ERR_clear_error();
  }
}

function readCertificate(cert: X509Ptr, bio: BioPtr): X509Reading {
  const c = crypto();
  const version = c.X509_get_version(cert);

  c.i2a_ASN1_INTEGER(bio, c.X509_get_serialNumber(cert));
  const serial = textOf(c.BIO_read(bio, text, TEXT_BUFFER));
  resetBio(bio);

  const subjectName = c.X509_get_subject_name(cert) as NamePtr | null;
  const subject = printName(bio, subjectName);

  let commonName: string | undefined;
  let at = -1;
  for (;;) {
    const j = c.X509_NAME_get_index_by_NID(subjectName, NID_COMMON_NAME, at);
    if (j === -1) break;
    at = j;
  }
  if (at !== -1) {
    c.ASN1_STRING_print(bio, c.X509_NAME_ENTRY_get_data(c.X509_NAME_get_entry(subjectName, at)));
    commonName = textOf(c.BIO_gets(bio, text, TEXT_BUFFER));
    resetBio(bio);
  }

  const issuer = printName(bio, c.X509_get_issuer_name(cert) as NamePtr | null);
  const notBefore = asn1String(c.X509_get0_notBefore(cert) as Asn1StringPtr | null);
  const notAfter = asn1String(c.X509_get0_notAfter(cert) as Asn1StringPtr | null);

  cells.fill(0n);
  intCell[0] = 0;
  c.X509_PUBKEY_get0_param(cellBytes, cell2Bytes, intCell, null, c.X509_get_X509_PUBKEY(cert));
  const algorithm = pointerAt(0) as ObjectPtr | null;
  const publicKeyBytes = cells[1]!;
  const publicKeyLength = intCell[0]!;
  const keyAlgorithm = objectText(algorithm);

  cells[0] = 0n;
  c.X509_ALGOR_get0(cellBytes, null, null, c.X509_get0_tbs_sigalg(cert));
  c.i2a_ASN1_OBJECT(bio, pointerAt(0));
  const tbsSignatureAlgorithm = textOf(c.BIO_gets(bio, text, TEXT_BUFFER));
  resetBio(bio);

  const signatureAlgorithm = objectText(
    c.OBJ_nid2obj(c.X509_get_signature_nid(cert)) as ObjectPtr | null,
  );

  let pkey: KeyPtr | null;
  if (algorithm !== null && c.OBJ_obj2nid(algorithm) === NID_MD5_WITH_RSA) {
    cells[0] = publicKeyBytes;
    pkey = c.d2i_PublicKey(EVP_PKEY_RSA, null, cellBytes, BigInt(publicKeyLength)) as KeyPtr | null;
  } else {
    pkey = c.X509_get_pubkey(cert) as KeyPtr | null;
  }
  let key: PublicKeyReading | undefined;
  if (pkey !== null) {
    try {
      key = readKey(pkey);
    } finally {
      c.EVP_PKEY_free(pkey);
    }
  }

  const extensions: ExtensionReading[] = [];
  const count = c.X509_get_ext_count(cert);
  for (let k = 0; k < count; k++) {
    const ext = c.X509_get_ext(cert, k) as ExtensionPtr | null;
    if (ext === null) continue;
    extensions.push(readExtension(ext));
  }

  return {
    version,
    serial,
    subject,
    issuer,
    commonName,
    notBefore,
    notAfter,
    keyAlgorithm,
    tbsSignatureAlgorithm,
    signatureAlgorithm,
    key,
    extensions,
    encoded: encode(cert),
  };
}

function readKey(pkey: KeyPtr): PublicKeyReading {
  const c = crypto();
  const baseId = c.EVP_PKEY_get_base_id(pkey);
  let rsaExponent: string | undefined;
  let ecGroup: string | undefined;
  if (baseId === EVP_PKEY_RSA) {
    cells[0] = 0n;
    c.EVP_PKEY_get_bn_param(pkey, PARAM_RSA_E, cellBytes);
    const e = pointerAt(0);
    // Zeek hands a NULL BIGNUM to BN_bn2dec (which would crash); an RSA
    // key OpenSSL loaded always has e, so this is only a guard.
    if (e !== null) {
      const dec = c.BN_bn2dec(e);
      c.BN_free(e);
      if (dec !== null) {
        rsaExponent = Deno.UnsafePointerView.getCString(dec);
        c.CRYPTO_free(dec, null, 0);
      }
    }
  } else if (baseId === EVP_PKEY_EC) {
    text.fill(0, 0, 256);
    if (c.EVP_PKEY_get_utf8_string_param(pkey, PARAM_GROUP_NAME, text, 255n, null) !== 0) {
      ecGroup = cString(text);
    }
  }
  const typeNamePointer = c.EVP_PKEY_get0_type_name(pkey);
  return {
    baseId,
    typeName: typeNamePointer === null
      ? undefined
      : Deno.UnsafePointerView.getCString(typeNamePointer),
    bits: c.EVP_PKEY_get_bits(pkey),
    rsaExponent,
    ecGroup,
  };
}

function readExtension(ext: ExtensionPtr): ExtensionReading {
  const c = crypto();
  const nid = c.OBJ_obj2nid(c.X509_EXTENSION_get_object(ext));
  if (nid === NID_SUBJECT_ALT_NAME) {
    const names = c.X509V3_EXT_d2i(ext) as StackPtr | null;
    if (names === null) return { nid, names: undefined };
    try {
      const out: GeneralNameReading[] = [];
      const n = c.OPENSSL_sk_num(names);
      for (let i = 0; i < n; i++) {
        const gen = c.OPENSSL_sk_value(names, i);
        if (gen === null) continue;
        const view = new Deno.UnsafePointerView(gen);
        const type = view.getInt32(0);
        const value = type === GEN.EMAIL || type === GEN.DNS || type === GEN.URI ||
            type === GEN.IPADD
          ? asn1String(view.getPointer(STRUCT_POINTER_OFFSET) as Asn1StringPtr | null)
          : undefined;
        out.push({ type, value });
      }
      return { nid, names: out };
    } finally {
      c.GENERAL_NAMES_free(names);
    }
  }
  if (nid === NID_BASIC_CONSTRAINTS) {
    const constraints = c.X509V3_EXT_d2i(ext);
    if (constraints === null) return { nid, basicConstraints: undefined };
    try {
      const view = new Deno.UnsafePointerView(constraints);
      const pathlen = view.getPointer(STRUCT_POINTER_OFFSET);
      return {
        nid,
        basicConstraints: {
          ca: view.getInt32(0),
          pathLength: pathlen === null ? undefined : c.ASN1_INTEGER_get(pathlen),
        },
      };
    } finally {
      c.BASIC_CONSTRAINTS_free(constraints);
    }
  }
  return { nid };
}

/** `i2d_X509` into the output buffer, copied out. */
function encode(cert: X509Ptr): Uint8Array {
  const c = crypto();
  const length = c.i2d_X509(cert, null);
  if (length <= 0) return new Uint8Array(0);
  const output = buffer("output", length);
  cells[0] = addressOf(output);
  const written = c.i2d_X509(cert, cellBytes);
  return output.slice(0, Math.max(0, written));
}

function printName(bio: BioPtr, name: NamePtr | null): string {
  const c = crypto();
  c.X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  const out = textOf(c.BIO_gets(bio, text, TEXT_BUFFER));
  resetBio(bio);
  return out;
}

function resetBio(bio: BioPtr): void {
  crypto().BIO_ctrl(bio, BIO_CTRL_RESET, 0n, null);
}

/** `i2t_ASN1_OBJECT(buf, 255, object)`, or "" when it returns 0, as Zeek reads it. */
function objectText(object: ObjectPtr | null): string {
  text.fill(0, 0, OBJECT_TEXT_MAX + 1);
  if (crypto().i2t_ASN1_OBJECT(text, OBJECT_TEXT_MAX, object) === 0) return "";
  return cString(text);
}

function asn1String(s: Asn1StringPtr | null): Asn1StringReading {
  if (s === null) return { type: -1, bytes: new Uint8Array(0) };
  const c = crypto();
  const type = c.ASN1_STRING_type(s);
  const length = c.ASN1_STRING_length(s);
  const data = c.ASN1_STRING_get0_data(s);
  const bytes = new Uint8Array(Math.max(0, length));
  if (data !== null && length > 0) Deno.UnsafePointerView.copyInto(data, bytes);
  return { type, bytes };
}

function pointerAt(index: number): Deno.PointerValue {
  return Deno.UnsafePointer.create(cells[index]!);
}

/** The first `length` bytes of the text buffer, one char per byte ("" for 0 or an error). */
function textOf(length: number): string {
  return length <= 0 ? "" : latin1(text, Math.min(length, TEXT_BUFFER));
}

/** The text buffer up to its first NUL. */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return latin1(bytes, end < 0 ? bytes.length : end);
}

function latin1(bytes: Uint8Array, length: number): string {
  let out = "";
  for (let p = 0; p < length; p += 4096) {
    const chunk = bytes.subarray(p, Math.min(length, p + 4096));
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}
