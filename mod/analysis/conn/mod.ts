/**
 * Connection tracking with Zeek's semantics: a struct-of-arrays connection
 * table, TCP/UDP/ICMP/other-protocol rules, Zeek's default timers driven
 * by packet time, uids in Zeek's format, and `conn.log` through the
 * logging framework (`Conn::LOG`). The packet pipeline (`mod/pipeline`)
 * runs it as its sessions stage, for the live worker and for `weir -r`.
 *
 * Tracking packets yourself and watching connections end:
 *
 * ```ts
 * import { ConnTracker } from "./mod.ts";
 * import { EventRegistry } from "../../bus/events.ts";
 * import { LogRegistry } from "../../log/stream.ts";
 *
 * const events = new EventRegistry((name, err) => console.error(name, err));
 * events.on("connection_state_remove", (c) => console.log(c));
 * const tracker = new ConnTracker({ logs: new LogRegistry(), events });
 * // for each decoded packet: tracker.packet(decoded, ts); when traffic stops: tracker.advance(Date.now() / 1000)
 * tracker.flush();
 * ```
 *
 * @module
 */

export {
  CONN_EVENTS,
  type ConnTimeouts,
  ConnTracker,
  type ConnTrackerOptions,
  type ConnTrackerStats,
  DEFAULT_CONN_TIMEOUTS,
  DEFAULT_MAX_TUNNEL_CHANGES,
} from "./tracker.ts";
export { CONNECTION_TYPE } from "./conn_record.ts";
export {
  connIdType,
  connInfoFields,
  connInfoType,
  type ConnLogColumns,
  defineConnStream,
} from "./conn_log.ts";
export {
  BARE_LIKELY_SERVER_PORTS,
  DEFAULT_LIKELY_SERVER_PORTS,
  LikelyServerPortError,
  LikelyServerPorts,
} from "./likely_server_ports.ts";
export { base62, UidGenerator, type UidOptions } from "./uid.ts";
export {
  CONN_STATES,
  type ConnState,
  TCP_CLOSED,
  TCP_ESTABLISHED,
  TCP_INACTIVE,
  TCP_PARTIAL,
  TCP_RESET,
  TCP_SYN_ACK_SENT,
  TCP_SYN_SENT,
  tcpConnState,
  udpConnState,
} from "./conn_state.ts";
export { ConnTable, type ConnTableOptions } from "./conn_table.ts";
export { icmpCounterpart } from "./icmp_ports.ts";
