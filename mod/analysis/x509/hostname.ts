/**
 * Zeek's host name matching for certificates
 * (Z: src/file_analysis/analyzer/x509/functions.bif `check_hostname`,
 * `x509_check_cert_hostname`), which decides ssl.log's `sni_matches_cert`.
 * Both compare bytes (strings with one char per byte), case-sensitively.
 *
 * @module
 */

/** What `x509_check_cert_hostname` looks at in a certificate. */
export interface CertificateNames {
  /**
   * The IA5String dNSNames of the first subjectAltName extension, in order;
   * empty when it did not decode; undefined when there is none.
   */
  readonly hostnameSan: readonly string[] | undefined;
  /** The last commonName of the subject, as `ASN1_STRING_print` wrote it. */
  readonly cn: string | undefined;
}

/**
 * `x509_check_hostname(hostname, certname)`: equal, or `certname` has a
 * `*` just before its first `.`, at least two dots, and the host's part
 * from its first dot and the characters before the `*` are the same.
 *
 * @example
 * ```ts
 * checkHostname("WWW.example.com", "*.example.com"); // true
 * checkHostname("www.EXAMPLE.com", "*.example.com"); // false
 * ```
 */
export function checkHostname(hostname: string, certname: string): boolean {
  if (hostname === certname) return true;
  const wildpos = certname.indexOf("*");
  if (wildpos < 0) return false;
  const firstpos = certname.indexOf(".");
  if (firstpos < 0 || certname.indexOf(".", firstpos + 1) < 0) return false;
  if (wildpos + 1 !== firstpos) return false;
  const hostFirstpos = hostname.indexOf(".");
  if (hostFirstpos < 0) return false;
  if (hostname.slice(hostFirstpos) !== certname.slice(firstpos)) return false;
  if (wildpos > 0 && hostname.slice(0, wildpos) !== certname.slice(0, wildpos)) return false;
  return true;
}

/**
 * `x509_check_cert_hostname(cert, hostname) != ""`: with a subjectAltName
 * extension only its dNSNames are tried, else only the last CN.
 */
export function checkCertHostname(cert: CertificateNames, hostname: string): boolean {
  const names = cert.hostnameSan ?? (cert.cn === undefined ? [] : [cert.cn]);
  for (const name of names) {
    // The first match is returned; "" (an empty name equal to an empty host) reads as none.
    if (checkHostname(hostname, name)) return name !== "";
  }
  return false;
}
