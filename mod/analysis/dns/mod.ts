/**
 * Zeek's DNS analyzer and dns.log: messages over UDP (53, 137, 5353, 5355)
 * and TCP (53, length-prefixed), parsed with Zeek's rules and weirds, and
 * the base scripts' pairing of queries and replies into `DNS::LOG` rows,
 * byte-identical to Zeek's. `createDnsAnalyzer({ authAddl: true })` adds
 * `policy/protocols/dns/auth-addl`'s `auth` and `addl` columns.
 *
 * ```ts
 * import { DNS_ANALYZER } from "./mod.ts";
 *
 * // Hand it to the framework with the other analyzers; per connection it
 * // builds a packet analyzer (UDP) or a stream analyzer (TCP):
 * const udp = DNS_ANALYZER.createPacketAnalyzer!(host);
 * udp.packet(payload, true); // one datagram from the originator
 * udp.done(); // the connection ends: unanswered queries are logged
 * ```
 *
 * @module
 */

export {
  createDnsAnalyzer,
  DNS_ANALYZER,
  DNS_PORTS,
  DNS_SESSION_IDLE_SEC,
  DNS_SESSION_TIMEOUT_SEC,
  type DnsAnalyzerOptions,
} from "./analyzer.ts";
export { defineDnsStream, DNS_LOG_ID, DNS_LOG_PATH, dnsInfoType } from "./dns_log.ts";
export { DNS_EVENTS, DNS_MSG_TYPE } from "./session.ts";
export { DEFAULT_MAX_QUERIES } from "./interpreter.ts";
export { DEFAULT_MAX_COMPRESSION_DEPTH } from "./names.ts";
