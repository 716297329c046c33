/**
 * What `base/files/x509` does with each certificate file, per pipeline
 * (Z: scripts/base/files/x509/main.zeek; research note §4.5): parse it,
 * raise `x509_certificate` for site scripts, and write its x509.log row at
 * `file_state_remove` unless `X509::known_log_certs` already holds its
 * (fingerprint, host_cert, client_cert).
 *
 * Where weir departs from Zeek:
 * - `known_log_certs` forgets an entry once more than
 *   `relog_known_certificates_after` (1 day) of network time has passed
 *   since it was added, checked at each certificate; Zeek's table expiry
 *   runs every `table_expire_interval` (10 s), so a certificate seen
 *   right at the boundary may be logged up to 10 s of network time apart.
 * - The index is per pipeline: Zeek publishes it through the manager
 *   (`known_log_certs_enable_publish`), which is not done here.
 * - Zeek's certificate event cache (`certificate-event-cache.zeek`) is
 *   kept with its rules (a certificate seen 10 times within 62 s of network
 *   time is replayed from the cache, without OpenSSL, until it goes unread
 *   for 62 s); its expiries are checked when a certificate arrives, not on
 *   Zeek's 10 s table timer.
 * - The extension events (`x509_extension`, `x509_ext_*`) are not raised.
 * - `cert_ref` (`opaque of x509`) cannot be a weir value: it is the DER as
 *   a string, which is what Zeek serialises the opaque to.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { latin1LogValue, T, type ZeekType, type ZeekValue } from "../../../zeek/mod.ts";
import type { EventRegistry } from "../../bus/mod.ts";
import type { LogRegistry, LogStream } from "../../log/mod.ts";
import type { X509Weird } from "./asn1_time.ts";
import { parseCertificate, type X509Certificate } from "./certificate.ts";
import { checkCertHostname } from "./hostname.ts";
import { x509CertificateType, x509StreamOf } from "./x509_log.ts";

/** `X509::relog_known_certificates_after`: 1 day; 0 turns deduplication off. */
export const DEFAULT_RELOG_KNOWN_CERTIFICATES_AFTER_SEC = 86400;
/** `X509::known_log_certs_maximum_size`. */
export const DEFAULT_KNOWN_LOG_CERTS_MAXIMUM_SIZE = 1_000_000;

/** `X509::caching_required_encounters`: 0 turns the certificate cache off. */
export const DEFAULT_CACHING_REQUIRED_ENCOUNTERS = 10;
/** `X509::caching_required_encounters_interval` and `certificate_cache_minimum_eviction_interval`. */
const CACHE_INTERVAL_SEC = 62;
/** `X509::certificate_cache_max_entries`. */
const CACHE_MAX_ENTRIES = 10_000;
/**
 * Certificates counted at once. Zeek's `certificates_encountered` has no
 * bound (entries go 62 s after creation); weir drops the oldest count past
 * this, so a flood of distinct certificates cannot grow it without limit.
 */
const ENCOUNTERED_MAX_ENTRIES = 100_000;

/** Options of a pipeline's x509 logging (Zeek's options of the same names). */
export interface X509LoggingOptions {
  readonly relogKnownCertificatesAfterSec?: number;
  readonly knownLogCertsMaximumSize?: number;
  readonly cachingRequiredEncounters?: number;
}

/**
 * The certificate's file, for the `fa_file` of `x509_certificate`: the
 * fields file analysis keeps (an `AnalyzedFile` of `analysis/files` fits).
 */
export interface CertificateFile {
  readonly fuid: string;
  readonly source: string;
  readonly isOrig: boolean;
  readonly lastActive: number;
  readonly seenBytes: number;
  readonly totalBytes: number | bigint | undefined;
  readonly missingBytes: number;
  readonly overflowBytes: number;
  readonly mimeType: string | undefined;
  readonly filename: string | undefined;
}

/** The `fa_file` fields site scripts get: the same subset `analysis/files` gives `file_new`. */
const FA_FILE_TYPE: ZeekType = T.record("fa_file", [
  ["id", T.string],
  ["source", T.string],
  ["is_orig", T.bool, "optional"],
  ["last_active", T.time],
  ["seen_bytes", T.count],
  ["total_bytes", T.count, "optional"],
  ["missing_bytes", T.count],
  ["overflow_bytes", T.count],
  ["mime_type", T.string, "optional"],
  ["filename", T.string, "optional"],
]);

/** `x509_certificate(f: fa_file, cert_ref: opaque of x509, cert: X509::Certificate)`. */
export const X509_EVENTS = [
  ["x509_certificate", [
    ["f", FA_FILE_TYPE],
    ["cert_ref", T.string],
    ["cert", x509CertificateType()],
  ]],
] as const;

/** The MIME types Zeek's SSL analyzer gives certificate files. */
const USER_CERT = "application/x-x509-user-cert";
const CA_CERT = "application/x-x509-ca-cert";

/**
 * x509.log and the `x509_certificate` event of one pipeline.
 *
 * @example
 * ```ts
 * const x509 = new X509Logging(logs, events);
 * const cert = x509.certificate(ts, der, true, false, weird); // one row, once a day
 * if (cert !== undefined) x509.matchesHostname(cert, "www.example.com");
 * ```
 */
export class X509Logging {
  readonly #logs: LogRegistry;
  readonly #events: EventRegistry | undefined;
  readonly #relogAfter: number;
  readonly #maxKnown: number;
  /** `known_log_certs`: key → network time it was added; insertion order is age order. */
  readonly #known = new Map<string, number>();
  #stream: LogStream | undefined;
  #now = 0;
  readonly #cachingRequired: number;
  /** `certificates_encountered`: sha256 of the DER → count, and when counting began (insertion order). */
  readonly #encountered = new Map<string, { count: number; since: number }>();
  /** `certificate_cache`: sha256 → the parsed certificate and when it was last read (read order). */
  readonly #cache = new Map<string, { cert: X509Certificate; read: number }>();

  constructor(logs: LogRegistry, events?: EventRegistry, options: X509LoggingOptions = {}) {
    this.#logs = logs;
    this.#events = events;
    this.#relogAfter = options.relogKnownCertificatesAfterSec ??
      DEFAULT_RELOG_KNOWN_CERTIFICATES_AFTER_SEC;
    this.#maxKnown = options.knownLogCertsMaximumSize ?? DEFAULT_KNOWN_LOG_CERTS_MAXIMUM_SIZE;
    this.#cachingRequired = options.cachingRequiredEncounters ??
      DEFAULT_CACHING_REQUIRED_ENCOUNTERS;
    if (events !== undefined) {
      for (const [name, args] of X509_EVENTS) {
        if (events.lookup(name) === undefined) events.declare(name, args);
      }
    }
  }

  /** Entries in `known_log_certs` now. */
  get knownLogCerts(): number {
    return this.#known.size;
  }

  /**
   * One certificate file at its end (`X509::EndOfFile`, then
   * `file_state_remove`): `ts` is the file's first data (x509.log `ts`),
   * `hostCert` whether it came first in its Certificate message (MIME
   * user-cert), `clientCert` whether the TLS client sent it. Returns the
   * parsed certificate, undefined when OpenSSL cannot parse it (weird
   * `x509_cert_parse_error`, no event, no row). `file` fills the event's
   * `fa_file`; without it `id` and `source` are empty.
   */
  certificate(
    ts: number,
    der: Uint8Array,
    hostCert: boolean,
    clientCert: boolean,
    weird?: X509Weird,
    file?: CertificateFile,
  ): X509Certificate | undefined {
    const cert = this.#cachingRequired > 0
      ? this.#cached(ts, der, weird)
      : parseCertificate(der, weird);
    if (cert === undefined) return undefined;
    const events = this.#events;
    if (events !== undefined && events.hasHandlers("x509_certificate")) {
      events.dispatch("x509_certificate", [
        faFile(file, ts, der, hostCert, clientCert),
        cert.der,
        certificateValue(cert),
      ]);
    }
    if (ts > this.#now) this.#now = ts;
    if (this.#relogAfter > 0 && !this.#remember(cert.fingerprint, hostCert, clientCert)) {
      return cert;
    }
    this.#write(ts, cert, hostCert, clientCert);
    return cert;
  }

  /** Certificates in the event cache now. */
  get cachedCertificates(): number {
    return this.#cache.size;
  }

  /**
   * `X509::EndOfFile` with the certificate event cache: a cached
   * certificate is replayed (no OpenSSL, so no parse weirds); otherwise it
   * is parsed, counted (`file_hash`) and, seen often enough, cached
   * (`file_state_remove`).
   */
  #cached(ts: number, der: Uint8Array, weird: X509Weird | undefined): X509Certificate | undefined {
    const sha256 = createHash("sha256").update(der).digest("hex");
    const cache = this.#cache;
    const encountered = this.#encountered;
    for (const [key, e] of cache) {
      if (e.read + CACHE_INTERVAL_SEC >= ts) break;
      cache.delete(key);
    }
    const hit = cache.get(sha256);
    if (hit !== undefined) {
      // Read order is kept as insertion order, so expiry looks at the front only.
      cache.delete(sha256);
      hit.read = ts;
      cache.set(sha256, hit);
      return hit.cert;
    }
    const cert = parseCertificate(der, weird);
    for (const [key, e] of encountered) {
      if (e.since + CACHE_INTERVAL_SEC >= ts) break;
      encountered.delete(key);
    }
    const seen = encountered.get(sha256);
    if (seen === undefined) {
      if (encountered.size >= ENCOUNTERED_MAX_ENTRIES) {
        encountered.delete(encountered.keys().next().value!);
      }
      encountered.set(sha256, { count: 1, since: ts });
    } else seen.count++;
    if (
      cert !== undefined && (seen?.count ?? 1) >= this.#cachingRequired &&
      cache.size < CACHE_MAX_ENTRIES
    ) {
      encountered.delete(sha256);
      cache.set(sha256, { cert, read: ts });
    }
    return cert;
  }

  /**
   * `x509_check_cert_hostname(cert, host) != ""` for a certificate this
   * returned (so this class serves as the SSL analyzer's certificate sink).
   */
  matchesHostname(cert: X509Certificate, host: string): boolean {
    return checkCertHostname(cert, host);
  }

  /** `file_state_remove`'s check: false when already known; adds it while there is room. */
  #remember(fingerprint: string, hostCert: boolean, clientCert: boolean): boolean {
    const known = this.#known;
    const now = this.#now;
    for (const [key, added] of known) {
      if (added + this.#relogAfter >= now) break;
      known.delete(key);
    }
    const key = `${fingerprint}${hostCert ? "T" : "F"}${clientCert ? "T" : "F"}`;
    if (known.has(key)) return false;
    if (known.size < this.#maxKnown) known.set(key, now);
    return true;
  }

  #write(ts: number, cert: X509Certificate, hostCert: boolean, clientCert: boolean): void {
    const stream = this.#stream ??= x509StreamOf(this.#logs);
    const san = cert.san;
    const bc = cert.basicConstraints;
    this.#logs.write(stream, [
      ts,
      cert.fingerprint,
      cert.version,
      latin1LogValue(cert.serial),
      latin1LogValue(cert.subject),
      latin1LogValue(cert.issuer),
      cert.notValidBefore,
      cert.notValidAfter,
      latin1LogValue(cert.keyAlg),
      latin1LogValue(cert.sigAlg),
      optional(cert.keyType),
      cert.keyLength,
      optional(cert.exponent),
      optional(cert.curve),
      strings(san?.dns),
      strings(san?.uri),
      strings(san?.email),
      san?.ip === undefined ? undefined : [...san.ip],
      bc?.ca,
      bc?.pathLen,
      hostCert,
      clientCert,
    ]);
  }
}

/** The `X509::Certificate` record value of a certificate. */
function certificateValue(cert: X509Certificate): ZeekValue {
  return {
    version: cert.version,
    serial: latin1LogValue(cert.serial),
    subject: latin1LogValue(cert.subject),
    issuer: latin1LogValue(cert.issuer),
    cn: optional(cert.cn),
    not_valid_before: cert.notValidBefore,
    not_valid_after: cert.notValidAfter,
    key_alg: latin1LogValue(cert.keyAlg),
    sig_alg: latin1LogValue(cert.sigAlg),
    key_type: optional(cert.keyType),
    key_length: cert.keyLength,
    exponent: optional(cert.exponent),
    curve: optional(cert.curve),
    tbs_sig_alg: latin1LogValue(cert.tbsSigAlg),
  };
}

/** The event's `fa_file`, as `analysis/files` builds it for `file_new`. */
function faFile(
  file: CertificateFile | undefined,
  ts: number,
  der: Uint8Array,
  hostCert: boolean,
  clientCert: boolean,
): ZeekValue {
  if (file === undefined) {
    return {
      id: "",
      source: "",
      is_orig: clientCert,
      last_active: ts,
      seen_bytes: der.length,
      total_bytes: undefined,
      missing_bytes: 0,
      overflow_bytes: 0,
      mime_type: hostCert ? USER_CERT : CA_CERT,
      filename: undefined,
    };
  }
  return {
    id: file.fuid,
    source: file.source,
    is_orig: file.isOrig,
    last_active: file.lastActive,
    seen_bytes: file.seenBytes,
    total_bytes: file.totalBytes,
    missing_bytes: file.missingBytes,
    overflow_bytes: file.overflowBytes,
    mime_type: file.mimeType,
    filename: optional(file.filename),
  };
}

function optional(s: string | undefined): string | Uint8Array | undefined {
  return s === undefined ? undefined : latin1LogValue(s);
}

function strings(list: readonly string[] | undefined): (string | Uint8Array)[] | undefined {
  return list?.map(latin1LogValue);
}
