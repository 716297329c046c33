/**
 * Zeek's file analysis framework for protocol analyzers: files named by a
 * protocol's handle (the fuid is Zeek's keyed hash of it), MIME types
 * sniffed from the first bytes with Zeek's magic signatures, optional
 * hashes, timeouts, and files.log with one row per connection
 * (`../shared/research/http-files-ssl-x509.md` §2).
 *
 * ```ts
 * import { detectMime } from "./mod.ts";
 *
 * detectMime(new TextEncoder().encode("<html><body>")); // "text/html"
 * ```
 *
 * @module
 */

export {
  AnalyzedFile,
  DEFAULT_BOF_BUFFER_SIZE,
  DEFAULT_FILE_TIMEOUT_SEC,
  FileAnalysis,
  type FileAnalysisOptions,
  type FileConn,
  type FileHash,
} from "./file_analysis.ts";
export { FILES_LOG_ID, filesInfoType } from "./files_log.ts";
export { detectMime } from "./magic.ts";
