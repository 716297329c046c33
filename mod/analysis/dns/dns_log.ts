/**
 * The `DNS::LOG` stream: Zeek's `DNS::Info` columns and types in Zeek's
 * order (Z: scripts/base/protocols/dns/main.zeek), and the `auth`/`addl`
 * sets `policy/protocols/dns/auth-addl` appends.
 *
 * @module
 */

import { T, type ZeekType } from "../../../zeek/mod.ts";
import { defineStream, type LogRegistry, type LogStream } from "../../log/mod.ts";
import { connIdType } from "../conn/mod.ts";

/** The stream id, as Zeek's `DNS::LOG`. */
export const DNS_LOG_ID = "DNS::LOG";
/** The default path: `dns.log`. */
export const DNS_LOG_PATH = "dns";

/** The `DNS::Info` record type (the logged fields). */
export function dnsInfoType(authAddl = false): ZeekType {
  const fields: (readonly [string, ZeekType] | readonly [string, ZeekType, "optional"])[] = [
    ["ts", T.time],
    ["uid", T.string],
    ["id", connIdType()],
    ["proto", T.enum("transport_proto")],
    ["trans_id", T.count, "optional"],
    ["rtt", T.interval, "optional"],
    ["query", T.string, "optional"],
    ["qclass", T.count, "optional"],
    ["qclass_name", T.string, "optional"],
    ["qtype", T.count, "optional"],
    ["qtype_name", T.string, "optional"],
    ["rcode", T.count, "optional"],
    ["rcode_name", T.string, "optional"],
    ["AA", T.bool],
    ["TC", T.bool],
    ["RD", T.bool],
    ["RA", T.bool],
    ["Z", T.count],
    ["answers", T.vector(T.string), "optional"],
    ["TTLs", T.vector(T.interval), "optional"],
    ["rejected", T.bool],
    ["opcode", T.count, "optional"],
    ["opcode_name", T.string, "optional"],
  ];
  if (authAddl) {
    fields.push(["auth", T.set(T.string), "optional"], ["addl", T.set(T.string), "optional"]);
  }
  return T.record("DNS::Info", fields);
}

/**
 * Declares `DNS::LOG` (path `dns`) with Zeek's 26 columns, or 28 with
 * auth-addl's sets.
 *
 * @example
 * ```ts
 * defineDnsStream().columns.length; // 26
 * ```
 */
export function defineDnsStream(authAddl = false): LogStream {
  return defineStream({
    id: DNS_LOG_ID,
    path: DNS_LOG_PATH,
    columns: dnsInfoType(authAddl),
    event: "DNS::log_dns",
  });
}

/** The registry's `DNS::LOG`, declared there on first use (once per registry). */
export function dnsStreamOf(logs: LogRegistry, authAddl = false): LogStream {
  return logs.stream(DNS_LOG_ID) ?? logs.add(defineDnsStream(authAddl));
}
