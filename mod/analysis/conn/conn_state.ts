/**
 * `conn_state` from the endpoint states, as Zeek's conn script derives it
 * (Z: scripts/base/protocols/conn/main.zeek `conn_state`), with the TCP
 * endpoint states numbered as Zeek's `TCP_*` constants.
 *
 * @module
 */

export const TCP_INACTIVE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_ACK_SENT = 2;
export const TCP_PARTIAL = 3;
export const TCP_ESTABLISHED = 4;
export const TCP_CLOSED = 5;
export const TCP_RESET = 6;

/** Every conn_state code Zeek writes. */
export const CONN_STATES = Object.freeze(
  [
    "S0",
    "S1",
    "SF",
    "REJ",
    "S2",
    "S3",
    "RSTO",
    "RSTR",
    "RSTOS0",
    "RSTRH",
    "SH",
    "SHR",
    "OTH",
  ] as const,
);
export type ConnState = typeof CONN_STATES[number];

function inactive(state: number): boolean {
  return state === TCP_INACTIVE || state === TCP_PARTIAL;
}

/** RSTOS0 needs a SYN, nothing from the originator but more SYNs, then its RST. */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R.*$/;

/** conn_state of a TCP connection. */
export function tcpConnState(
  orig: number,
  resp: number,
  origSize: number,
  respSize: number,
  history: string,
): ConnState {
  if (resp === TCP_RESET) {
    if (
      orig === TCP_SYN_SENT || orig === TCP_SYN_ACK_SENT ||
      (orig === TCP_RESET && origSize === 0 && respSize === 0)
    ) return "REJ";
    return inactive(orig) ? "RSTRH" : "RSTR";
  }
  if (orig === TCP_RESET) {
    if (inactive(resp)) return RSTOS0_HISTORY.test(history) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (orig === TCP_CLOSED && resp === TCP_CLOSED) return "SF";
  if (orig === TCP_CLOSED) return inactive(resp) ? "SH" : "S2";
  if (resp === TCP_CLOSED) return inactive(orig) ? "SHR" : "S3";
  if (orig === TCP_SYN_SENT && resp === TCP_INACTIVE) return "S0";
  if (orig === TCP_ESTABLISHED && resp === TCP_ESTABLISHED) return "S1";
  return "OTH";
}

/** conn_state of a UDP connection: which sides sent a valid datagram. */
export function udpConnState(origActive: boolean, respActive: boolean): ConnState {
  if (origActive) return respActive ? "SF" : "S0";
  return respActive ? "SHR" : "OTH";
}
