/**
 * The SSL and DTLS analyzers as the analysis framework sees them: Zeek's
 * `SSL::ssl_ports` and `SSL::dtls_ports`, the DPD signatures of
 * `base/protocols/ssl/dpd.sig`, one analyzer per connection, and the
 * pipeline's certificate handling (x509.log and its dedup outlive
 * connections) (Z: scripts/base/protocols/ssl/main.zeek, dpd.sig).
 *
 * @module
 */

import type { LogRegistry, LogStream } from "../../log/mod.ts";
import type {
  AnalyzerHost,
  AnalyzerSpec,
  DpdSignature,
  PacketAnalyzer,
  StreamAnalyzer,
} from "../framework/mod.ts";
import { DtlsAnalyzer } from "./dtls_analyzer.ts";
import { type SslLogColumns, sslStreamOf } from "./ssl_log.ts";
import { type CertificateSink, SSL_EVENTS, SslSession } from "./ssl_session.ts";
import { TlsAnalyzer } from "./tls_analyzer.ts";
import { X509Logging } from "../x509/mod.ts";

/** `SSL::ssl_ports`, all of them likely server ports. */
export const SSL_PORTS: readonly string[] = Object.freeze([
  "443/tcp",
  "465/tcp",
  "563/tcp",
  "585/tcp",
  "614/tcp",
  "636/tcp",
  "989/tcp",
  "990/tcp",
  "992/tcp",
  "993/tcp",
  "995/tcp",
  "5223/tcp",
]);

/** `SSL::dtls_ports`. */
export const DTLS_PORTS: readonly string[] = Object.freeze(["443/udp"]);

/**
 * `dpd_tls_client` and `dpd_tls_server`. Signature patterns are
 * multi-line in Zeek: `.` matches every byte, hence the `s` flag. They
 * match bytes, control characters included.
 */
export const SSL_SIGNATURES: readonly DpdSignature[] = Object.freeze([
  {
    name: "dpd_tls_server",
    proto: "tcp",
    direction: "responder",
    payload:
      // deno-lint-ignore no-control-regex
      /^(\x15\x03[\x00-\x03].{4})?\x16\x03[\x00-\x03]..\x02...((\x03[\x00-\x04])|(\x7F[\x00-\x50]))/s,
  },
  {
    name: "dpd_tls_client",
    proto: "tcp",
    direction: "originator",
    // deno-lint-ignore no-control-regex
    payload: /^\x16\x03[\x00-\x03]..\x01...\x03[\x00-\x03]/s,
  },
]);

/** `dpd_dtls_client`. */
export const DTLS_SIGNATURES: readonly DpdSignature[] = Object.freeze([
  {
    name: "dpd_dtls_client",
    proto: "udp",
    direction: "any",
    // deno-lint-ignore no-control-regex
    payload: /^\x16\xfe[\xff\xfd]\x00\x00\x00\x00\x00\x00\x00...\x01.{11}\xfe[\xff\xfd]/s,
  },
]);

/** Options of the SSL scripts. */
export interface SslAnalyzerOptions extends SslLogColumns {
  /**
   * Where certificates go, built once per pipeline: by default the X.509
   * analysis and x509.log (`X509Logging`).
   */
  readonly certificates?: (host: AnalyzerHost) => CertificateSink;
}

/** Event registries the SSL events are declared in (once each). */
const declared = new WeakSet<object>();

function sessionFactory(options: SslAnalyzerOptions) {
  // Per log registry: a spec serves one pipeline, but nothing breaks if it serves more.
  const perLogs = new WeakMap<LogRegistry, { stream?: LogStream; certs: CertificateSink }>();
  return (host: AnalyzerHost, source: string): SslSession => {
    const events = host.events;
    if (events !== undefined && !declared.has(events)) {
      for (const [name, args] of SSL_EVENTS) events.declare(name, args);
      declared.add(events);
    }
    let mine = perLogs.get(host.logs);
    if (mine === undefined) {
      mine = {
        certs: options.certificates?.(host) ?? new X509Logging(host.logs, host.events),
      };
      perLogs.set(host.logs, mine);
    }
    const state = mine;
    return new SslSession(
      host,
      () => state.stream ??= sslStreamOf(host.logs, options),
      state.certs,
      source,
    );
  };
}

/**
 * Builds the SSL analyzer (TLS over TCP) and the DTLS analyzer (over UDP)
 * of one pipeline; they share the certificate handling.
 */
export function createSslAnalyzers(options: SslAnalyzerOptions = {}): [AnalyzerSpec, AnalyzerSpec] {
  const session = sessionFactory(options);
  const ssl: AnalyzerSpec = Object.freeze({
    name: "SSL",
    ports: SSL_PORTS,
    serverPorts: SSL_PORTS,
    signatures: SSL_SIGNATURES,
    createStreamAnalyzer(host: AnalyzerHost): StreamAnalyzer {
      return new TlsAnalyzer(host, session(host, "SSL"));
    },
  });
  const dtls: AnalyzerSpec = Object.freeze({
    name: "DTLS",
    ports: DTLS_PORTS,
    serverPorts: DTLS_PORTS,
    signatures: DTLS_SIGNATURES,
    createPacketAnalyzer(host: AnalyzerHost): PacketAnalyzer {
      return new DtlsAnalyzer(host, session(host, "DTLS"));
    },
  });
  return [ssl, dtls];
}
