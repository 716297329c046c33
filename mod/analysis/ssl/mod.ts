/**
 * Zeek's SSL and DTLS analysis (issue 16): the SSL analyzer of TCP
 * connections (TLS record layer, SSLv2 hellos) and the DTLS analyzer of
 * UDP ones, sharing Zeek's handshake parser and SSL scripts, so that
 * ssl.log is Zeek's column by column; certificates go to the X.509
 * analysis (`../x509/`). `createSslAnalyzers` gives both specs of a
 * pipeline; the STARTTLS protocols reach SSL as a child analyzer
 * (`AnalyzerHost.startChild("SSL")`).
 *
 * ```ts
 * import { cipherName, createSslAnalyzers, versionName } from "./mod.ts";
 *
 * const [ssl, dtls] = createSslAnalyzers(); // AnalyzerSpecs, ports 443/tcp…, 443/udp
 * versionName(0x7f17); // "TLSv13-draft23"
 * cipherName(0xc02f); // "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
 * ```
 *
 * @module
 */

export {
  createSslAnalyzers,
  DTLS_PORTS,
  DTLS_SIGNATURES,
  SSL_PORTS,
  SSL_SIGNATURES,
  type SslAnalyzerOptions,
} from "./analyzer.ts";
export { type CertificateSink, type ChainCertificate, SSL_EVENTS } from "./ssl_session.ts";
export { SSL_LOG_ID, type SslLogColumns, sslStreamOf } from "./ssl_log.ts";
export { alertName, cipherName, curveName, versionName } from "./ssl_names.ts";
export {
  EXT_ALPN,
  EXT_ENCRYPTED_CLIENT_HELLO,
  EXT_KEY_SHARE,
  EXT_PRE_SHARED_KEY,
  EXT_SERVER_NAME,
  EXT_SESSION_TICKET,
  EXT_SUPPORTED_VERSIONS,
  type Extension,
  type Hello,
  type HelloExtensions,
  HelloParseError,
  HRR_RANDOM,
  parseClientHello,
  parseServerHello,
} from "./hello.ts";
