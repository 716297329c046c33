/**
 * The `SSL::LOG` stream: Zeek's `SSL::Info` columns and types in Zeek's
 * order, with the certificate columns `base/protocols/ssl/files.zeek` adds.
 * Its `zeek_init` drops `subject`/`issuer` and `client_subject`/
 * `client_issuer` from the default filter unless
 * `SSL::log_include_server_certificate_subject_issuer` (or the client
 * option) is set; so does `sslStreamOf`
 * (Z: scripts/base/protocols/ssl/main.zeek, files.zeek).
 *
 * @module
 */

import { T, type ZeekType } from "../../../zeek/mod.ts";
import { defineStream, type LogRegistry, type LogStream } from "../../log/mod.ts";
import { connIdType } from "../conn/mod.ts";

/** The stream id, as Zeek's `SSL::LOG`. */
export const SSL_LOG_ID = "SSL::LOG";

/** The `SSL::Info` record type (the logged fields). */
export function sslInfoType(): ZeekType {
  const strings = T.vector(T.string);
  return T.record("SSL::Info", [
    ["ts", T.time],
    ["uid", T.string],
    ["id", connIdType()],
    ["version", T.string, "optional"],
    ["cipher", T.string, "optional"],
    ["curve", T.string, "optional"],
    ["server_name", T.string, "optional"],
    ["resumed", T.bool],
    ["last_alert", T.string, "optional"],
    ["next_protocol", T.string, "optional"],
    ["established", T.bool],
    ["ssl_history", T.string],
    ["cert_chain_fps", strings, "optional"],
    ["client_cert_chain_fps", strings, "optional"],
    ["subject", T.string, "optional"],
    ["issuer", T.string, "optional"],
    ["client_subject", T.string, "optional"],
    ["client_issuer", T.string, "optional"],
    ["sni_matches_cert", T.bool, "optional"],
  ]);
}

/** Which certificate subject/issuer columns ssl.log keeps (both off in Zeek's defaults). */
export interface SslLogColumns {
  /** `SSL::log_include_server_certificate_subject_issuer`. */
  readonly serverSubjectIssuer?: boolean;
  /** `SSL::log_include_client_certificate_subject_issuer`. */
  readonly clientSubjectIssuer?: boolean;
}

/**
 * The registry's `SSL::LOG` (path `ssl`, event `SSL::log_ssl`), declared
 * there on first use with the default filter `files.zeek` sets up.
 */
export function sslStreamOf(logs: LogRegistry, columns: SslLogColumns = {}): LogStream {
  const known = logs.stream(SSL_LOG_ID);
  if (known !== undefined) return known;
  const stream = logs.add(defineStream({
    id: SSL_LOG_ID,
    path: "ssl",
    columns: sslInfoType(),
    event: "SSL::log_ssl",
  }));
  const exclude = [
    ...(columns.serverSubjectIssuer ? [] : ["subject", "issuer"]),
    ...(columns.clientSubjectIssuer ? [] : ["client_subject", "client_issuer"]),
  ];
  if (exclude.length > 0) logs.addFilter(stream, { exclude });
  return stream;
}
