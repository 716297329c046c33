/**
 * Zeek's X.509 certificate analysis (`base/files/x509`): certificates
 * parsed by OpenSSL's libcrypto with the calls Zeek's X509 analyzer makes,
 * so x509.log prints what Zeek prints (RFC 2253 names, OpenSSL's algorithm
 * and group names, `i2a_ASN1_INTEGER` serials, Zeek's time arithmetic),
 * host name matching for ssl.log's `sni_matches_cert`, and x509.log with
 * Zeek's deduplication (`../shared/research/http-files-ssl-x509.md` §4).
 *
 * ```ts
 * import { checkCertHostname, parseCertificate } from "./mod.ts";
 *
 * const der = await Deno.readFile("gstatic.der");
 * const cert = parseCertificate(der, (name, addl) => console.log("weird", name, addl));
 * if (cert !== undefined) {
 *   cert.subject; // "CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US"
 *   checkCertHostname(cert, "ssl.gstatic.com"); // true
 * }
 * ```
 *
 * @module
 */

export { timeFromAsn1, type X509Weird } from "./asn1_time.ts";
export {
  type BasicConstraints,
  parseCertificate,
  type SubjectAlternativeName,
  type X509Certificate,
} from "./certificate.ts";
export { type CertificateNames, checkCertHostname, checkHostname } from "./hostname.ts";
export { X509_LOG_ID, x509CertificateType, x509InfoType } from "./x509_log.ts";
export {
  type CertificateFile,
  DEFAULT_CACHING_REQUIRED_ENCOUNTERS,
  DEFAULT_KNOWN_LOG_CERTS_MAXIMUM_SIZE,
  DEFAULT_RELOG_KNOWN_CERTIFICATES_AFTER_SEC,
  X509_EVENTS,
  X509Logging,
  type X509LoggingOptions,
} from "./x509_logging.ts";
