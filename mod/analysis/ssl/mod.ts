/**
 * Zeek's SSL/TLS analysis (issue 16), in progress: the ssl.log name tables
 * with Zeek's fallbacks, and ClientHello/ServerHello parsing with the
 * extensions ssl.log reads. The record layer, the analyzer and ssl.log
 * itself are not here yet.
 *
 * ```ts
 * import { cipherName, versionName } from "./mod.ts";
 *
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
