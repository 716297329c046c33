/**
 * The HTTP analyzer as the analysis framework sees it: Zeek's HTTP ports,
 * its two DPD signatures (each side enables HTTP on its own, `dpd.sig`),
 * one `HttpAnalyzer` per TCP connection, and the pipeline's file analysis
 * its bodies go to (Z: scripts/base/protocols/http/main.zeek, dpd.sig).
 *
 * @module
 */

import { FileAnalysis, type FileAnalysisOptions } from "../files/mod.ts";
import type { AnalyzerHost, AnalyzerSpec, DpdSignature, StreamAnalyzer } from "../framework/mod.ts";
import { HttpAnalyzer, type HttpOptions } from "./http_analyzer.ts";
import { HTTP_EVENTS } from "./http_session.ts";

/** `HTTP::ports`, all of them likely server ports. */
export const HTTP_PORTS: readonly string[] = Object.freeze([
  "80/tcp",
  "81/tcp",
  "631/tcp",
  "1080/tcp",
  "3128/tcp",
  "8000/tcp",
  "8080/tcp",
  "8888/tcp",
]);

const METHODS =
  "OPTIONS|GET|HEAD|POST|PUT|DELETE|QUERY|ACL|BASELINE-CONTROL|BIND|CHECKIN|CHECKOUT|" +
  "CONNECT|COPY|LABEL|LINK|LOCK|MERGE|MKACTIVITY|MKCALENDAR|MKCOL|MKREDIRECTREF|MOVE|ORDERPATCH|" +
  "PATCH|PROPFIND|PROPPATCH|REBIND|REPORT|SEARCH|TRACE|UNBIND|UNCHECKOUT|UNLINK|UNLOCK|UPDATE|" +
  "VERSION-CONTROL|BCOPY|BDELETE|BMOVE|BPROPFIND|BPROPPATCH|NOTIFY|POLL|SUBSCRIBE|UNSUBSCRIBE|" +
  "X-MS-ENUMATTS|MKWORKSPACE|RPC_IN_DATA|RPC_OUT_DATA";

/** `dpd_http_client` and `dpd_http_server`. */
export const HTTP_SIGNATURES: readonly DpdSignature[] = Object.freeze([
  {
    name: "dpd_http_client",
    proto: "tcp",
    direction: "originator",
    payload: new RegExp(`^[\\t\\n\\v\\f\\r ]*(${METHODS})[\\t\\n\\v\\f\\r ]*`),
  },
  {
    name: "dpd_http_server",
    proto: "tcp",
    direction: "responder",
    payload: /^[hH][tT][tT][pP]\/[0-9]/,
  },
]);

/** Options of the HTTP analyzer, its scripts and the file analysis of its bodies. */
export interface HttpAnalyzerOptions extends HttpOptions {
  readonly files?: FileAnalysisOptions;
}

/** Event registries the HTTP events are declared in (once each). */
const declared = new WeakSet<object>();

/**
 * Builds the HTTP analyzer of one pipeline (its file analysis is the
 * pipeline's: files outlive connections); `finish` ends the files still
 * open when the input ends.
 */
export function createHttpAnalyzer(options: HttpAnalyzerOptions = {}): AnalyzerSpec {
  let files: FileAnalysis | undefined;
  return Object.freeze({
    name: "HTTP",
    ports: HTTP_PORTS,
    serverPorts: HTTP_PORTS,
    signatures: HTTP_SIGNATURES,
    createStreamAnalyzer(host: AnalyzerHost): StreamAnalyzer {
      const events = host.events;
      if (events !== undefined && !declared.has(events)) {
        for (const [name, args] of HTTP_EVENTS) events.declare(name, args);
        declared.add(events);
      }
      files ??= new FileAnalysis(host.logs, host.events, options.files);
      return new HttpAnalyzer(host, files, options);
    },
    finish(): void {
      files?.finish();
    },
  });
}
