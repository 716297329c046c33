/**
 * The `X509::LOG` stream: the `&log` fields of Zeek's `X509::Info` in
 * Zeek's order, its records `certificate`, `san` and `basic_constraints`
 * flattened (Z: scripts/base/files/x509/main.zeek, `X509::Certificate`,
 * `X509::SubjectAlternativeName`, `X509::BasicConstraints` in
 * scripts/base/init-bare.zeek; research note §4.3), and the full
 * `X509::Certificate` record the `x509_certificate` event carries.
 *
 * @module
 */

import { T, type ZeekType } from "../../../zeek/mod.ts";
import { defineStream, type LogRegistry, type LogStream } from "../../log/mod.ts";

/** The stream id, as Zeek's `X509::LOG`. */
export const X509_LOG_ID = "X509::LOG";

/** Zeek's `X509::Certificate`, every field (`cn` and `tbs_sig_alg` are not logged). */
export function x509CertificateType(): ZeekType {
  return T.record("X509::Certificate", [
    ["version", T.count],
    ["serial", T.string],
    ["subject", T.string],
    ["issuer", T.string],
    ["cn", T.string, "optional"],
    ["not_valid_before", T.time],
    ["not_valid_after", T.time],
    ["key_alg", T.string],
    ["sig_alg", T.string],
    ["key_type", T.string, "optional"],
    ["key_length", T.count, "optional"],
    ["exponent", T.string, "optional"],
    ["curve", T.string, "optional"],
    ["tbs_sig_alg", T.string],
  ]);
}

/** The `X509::Info` record type as logged: only its `&log` fields, nested. */
export function x509InfoType(): ZeekType {
  const strings = T.vector(T.string);
  return T.record("X509::Info", [
    ["ts", T.time],
    ["fingerprint", T.string],
    [
      "certificate",
      T.record("X509::Certificate", [
        ["version", T.count],
        ["serial", T.string],
        ["subject", T.string],
        ["issuer", T.string],
        ["not_valid_before", T.time],
        ["not_valid_after", T.time],
        ["key_alg", T.string],
        ["sig_alg", T.string],
        ["key_type", T.string, "optional"],
        ["key_length", T.count, "optional"],
        ["exponent", T.string, "optional"],
        ["curve", T.string, "optional"],
      ]),
    ],
    [
      "san",
      T.record("X509::SubjectAlternativeName", [
        ["dns", strings, "optional"],
        ["uri", strings, "optional"],
        ["email", strings, "optional"],
        ["ip", T.vector(T.addr), "optional"],
      ]),
      "optional",
    ],
    [
      "basic_constraints",
      T.record("X509::BasicConstraints", [
        ["ca", T.bool],
        ["path_len", T.count, "optional"],
      ]),
      "optional",
    ],
    ["host_cert", T.bool],
    ["client_cert", T.bool],
  ]);
}

/** Declares `X509::LOG` (path `x509`), raising `X509::log_x509` per row. */
export function defineX509Stream(): LogStream {
  return defineStream({
    id: X509_LOG_ID,
    path: "x509",
    columns: x509InfoType(),
    event: "X509::log_x509",
  });
}

/** The registry's `X509::LOG`, declared there on first use. */
export function x509StreamOf(logs: LogRegistry): LogStream {
  return logs.stream(X509_LOG_ID) ?? logs.add(defineX509Stream());
}
