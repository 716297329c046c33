/**
 * Zeek's HTTP analyzer and its scripts: http.log byte-identical to Zeek's,
 * request and reply bodies handed to file analysis (files.log, the fuids,
 * filenames and MIME types of http.log), the weirds Zeek raises on
 * malformed HTTP, DPD on any port, CONNECT and upgrades handed to protocol
 * detection (`../shared/research/http-files-ssl-x509.md` §1).
 *
 * ```ts
 * import { createHttpAnalyzer } from "./mod.ts";
 *
 * const http = createHttpAnalyzer(); // one per pipeline
 * http.ports.includes("80/tcp"); // true
 * ```
 *
 * @module
 */

export {
  createHttpAnalyzer,
  HTTP_PORTS,
  HTTP_SIGNATURES,
  type HttpAnalyzerOptions,
} from "./analyzer.ts";
export { HTTP_LOG_ID, httpInfoType } from "./http_log.ts";
export { DEFAULT_MAX_INFLATED_BYTES } from "./inflate.ts";
