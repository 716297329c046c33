/**
 * The script half of Zeek's DNS support: what `base/protocols/dns/main.zeek`
 * (and, when enabled, `policy/protocols/dns/auth-addl.zeek`) do with the
 * analyzer's events to build dns.log rows. One instance per connection
 * holds Zeek's `c$dns` (the record of the current message) and
 * `c$dns_state` (the pending query fast path and the per-transaction-id
 * queues of unmatched queries and replies), pairs replies with queries by
 * transaction id only, and writes a row when a pair is complete, when a
 * multicast message ends, when a queue overflows, and at connection
 * removal (`finalize_dns`).
 *
 * Where weir departs from Zeek: Zeek walks its `pending_queries` and
 * `pending_replies` tables in hash order (seed dependent) when it flushes
 * them or picks "an arbitrary" query to refill the fast path; here they are
 * walked in insertion order.
 *
 * Site-script events `dns_request` and `dns_end` are raised only when a
 * handler exists, after the base handlers of the same priority order
 * (Zeek's base handlers run at priority 5, the write of `dns_end` at -5).
 *
 * @module
 */

import { T, type ZeekType, type ZeekValue } from "../../../zeek/mod.ts";
import type { LogStream } from "../../log/mod.ts";
import { CONNECTION_TYPE } from "../conn/mod.ts";
import type { AnalyzerHost, ConnEndpoints } from "../framework/mod.ts";
import { logString } from "./byte_strings.ts";
import { className, opcodeName, queryTypeName, rcodeName } from "./consts.ts";
import type { DnsScript } from "./interpreter.ts";
import {
  DNS_ADDITIONAL,
  DNS_ANSWER,
  DNS_AUTHORITY,
  DNS_PREREQUISITES,
  DNS_UPDATES,
  type DnsAnswer,
  type DnsHeader,
  OP_DYNAMIC_UPDATE,
  OP_NOTIFY,
  OP_QUERY,
} from "./message.ts";
import { decodeNetbiosName } from "./netbios.ts";
import { dnsStreamOf } from "./dns_log.ts";

/** `DNS::max_pending_msgs`. */
export const DEFAULT_MAX_PENDING_MSGS = 50;
/** `DNS::max_pending_query_ids`. */
export const DEFAULT_MAX_PENDING_QUERY_IDS = 50;

/** The `dns_msg` record site scripts receive (the header fields weir keeps). */
export const DNS_MSG_TYPE: ZeekType = T.record("dns_msg", [
  ["id", T.count],
  ["opcode", T.count],
  ["rcode", T.count],
  ["QR", T.bool],
  ["AA", T.bool],
  ["TC", T.bool],
  ["RD", T.bool],
  ["RA", T.bool],
  ["Z", T.count],
  ["num_queries", T.count],
  ["num_answers", T.count],
  ["num_auth", T.count],
  ["num_addl", T.count],
]);

/** The DNS events site scripts may handle, with their Zeek argument types. */
export const DNS_EVENTS: readonly (readonly [string, readonly (readonly [string, ZeekType])[]])[] =
  [
    ["dns_request", [["c", CONNECTION_TYPE], ["msg", DNS_MSG_TYPE], ["query", T.string], [
      "qtype",
      T.count,
    ], ["qclass", T.count]]],
    ["dns_end", [["c", CONNECTION_TYPE], ["msg", DNS_MSG_TYPE]]],
  ];

/** What the script layer needs of its connection. */
export type SessionHost = Pick<
  AnalyzerHost,
  "uid" | "logs" | "events" | "endpoints" | "respIsMulticast" | "now" | "connection"
>;

/** One `DNS::Info` record. */
class DnsInfo {
  readonly ts: number;
  readonly uid: string;
  readonly id: ConnEndpoints;
  readonly transId: number;
  rtt: number | undefined;
  query: string | undefined;
  qclass: number | undefined;
  qtype: number | undefined;
  qtypeName: string | undefined;
  rcode: number | undefined;
  AA = false;
  TC = false;
  RD = false;
  RA = false;
  Z = 0;
  answers: string[] | undefined;
  TTLs: number[] | undefined;
  rejected = false;
  opcode: number | undefined;
  opcodeName: string | undefined;
  auth: Set<string> | undefined;
  addl: Set<string> | undefined;
  sawQuery = false;
  sawReply = false;

  constructor(ts: number, uid: string, id: ConnEndpoints, transId: number) {
    this.ts = ts;
    this.uid = uid;
    this.id = id;
    this.transId = transId;
  }
}

/** Zeek's `PendingMessages`: FIFO queues by transaction id. */
type Pending = Map<number, DnsInfo[]>;

function isTracked(opcode: number): boolean {
  return opcode === OP_QUERY || opcode === OP_DYNAMIC_UPDATE || opcode === OP_NOTIFY;
}

/** The DNS script state of one connection. */
export class DnsSessions implements DnsScript {
  readonly #host: SessionHost;
  readonly #stream: LogStream;
  readonly #authAddl: boolean;
  /** `c$dns`. */
  #current: DnsInfo | undefined;
  /** `c$dns_state` exists. */
  #hasState = false;
  #pendingQuery: DnsInfo | undefined;
  #pendingQueries: Pending | undefined;
  #pendingReplies: Pending | undefined;

  constructor(host: SessionHost, authAddl: boolean) {
    this.#host = host;
    this.#stream = dnsStreamOf(host.logs, authAddl);
    // The stream decides: a registry whose DNS::LOG has the sets gets them filled.
    this.#authAddl = this.#stream.indexOf("auth") >= 0;
  }

  /** Records waiting for their other half (for tests and state bounds). */
  pendingCount(): number {
    let n = this.#pendingQuery === undefined ? 0 : 1;
    for (const q of this.#pendingQueries?.values() ?? []) n += q.length;
    for (const q of this.#pendingReplies?.values() ?? []) n += q.length;
    return n;
  }

  message(msg: DnsHeader): void {
    if (!isTracked(msg.opcode)) return;
    this.#setSession(msg, !msg.QR);
  }

  request(msg: DnsHeader, query: string, qtype: number, qclass: number): void {
    if (isTracked(msg.opcode)) {
      const info = this.#current!;
      info.RD = msg.RD;
      info.TC = msg.TC;
      info.qclass = qclass;
      info.qtype = qtype;
      info.qtypeName = queryTypeName(qtype);
      info.Z = msg.Z;
      let q = query;
      const id = this.#host.endpoints();
      if (id.respP === 137 && id.proto === "udp") {
        const decoded = decodeNetbiosName(query);
        if (decoded.length !== 0) q = decoded;
        if (info.qtypeName === "SRV") info.qtypeName = "NBSTAT";
      }
      info.query = q;
    }
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("dns_request")) {
      events.dispatch("dns_request", [
        this.#host.connection(),
        msgRecord(msg),
        logString(query),
        qtype,
        qclass,
      ]);
    }
  }

  rejected(_msg: DnsHeader): void {
    if (this.#current !== undefined) this.#current.rejected = true;
  }

  reply(msg: DnsHeader, ans: DnsAnswer, reply: string): void {
    if (!isTracked(msg.opcode) || !msg.QR) return;
    const info = this.#current!;
    const type = ans.answerType;
    if (type === DNS_ANSWER || type === DNS_PREREQUISITES || type === DNS_UPDATES) {
      if (info.query === undefined) info.query = ans.query;
      info.AA = msg.AA;
      info.RA = msg.RA;
      if (info.rtt === undefined) {
        const rtt = this.#host.now() - info.ts;
        // Zeek deletes an rtt of exactly 0: the reply was the first message of its record.
        if (rtt !== 0) info.rtt = rtt;
      }
      if (reply !== "") {
        let r = reply;
        if (
          msg.opcode === OP_DYNAMIC_UPDATE && type === DNS_UPDATES && !r.startsWith("del:")
        ) {
          r = `add: ${r}`;
        }
        (info.answers ??= []).push(r);
        (info.TTLs ??= []).push(ans.ttl);
      }
    }
    if (this.#authAddl && msg.opcode === OP_QUERY) {
      if (type === DNS_AUTHORITY) (info.auth ??= new Set()).add(reply);
      else if (type === DNS_ADDITIONAL) (info.addl ??= new Set()).add(reply);
    }
  }

  end(msg: DnsHeader): void {
    const info = this.#current;
    if (info !== undefined) {
      if (msg.QR) info.sawReply = true;
      else info.sawQuery = true;
    }
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("dns_end")) {
      events.dispatch("dns_end", [this.#host.connection(), msgRecord(msg)]);
    }
    const now = this.#current;
    if (now !== undefined && now.sawReply && now.sawQuery) {
      this.#write(now);
      this.#current = undefined;
    }
  }

  /** `DNS::finalize_dns`: the connection is removed, write what is pending. */
  done(): void {
    if (!this.#hasState) return;
    if (this.#pendingQuery !== undefined) {
      this.#write(this.#pendingQuery);
      this.#pendingQuery = undefined;
    }
    if (this.#pendingQueries !== undefined) this.#flush(this.#pendingQueries);
    if (this.#pendingReplies !== undefined) this.#flush(this.#pendingReplies);
  }

  #newSession(transId: number): DnsInfo {
    const host = this.#host;
    return new DnsInfo(host.now(), host.uid, host.endpoints(), transId);
  }

  #setSession(msg: DnsHeader, isQuery: boolean): void {
    this.#hasState = true;
    const id = msg.id;
    let info: DnsInfo;
    if (this.#host.respIsMulticast()) {
      // Replies to multicast queries arrive on other connections: no pairing, one row each.
      info = this.#newSession(id);
      info.sawQuery = true;
      info.sawReply = true;
    } else if (isQuery) {
      const replies = this.#pendingReplies?.get(id);
      if (replies !== undefined && replies.length > 0) {
        info = pop(this.#pendingReplies!, id);
      } else {
        info = this.#newSession(id);
        if (this.#pendingQuery === undefined) this.#pendingQuery = info;
        else this.#enqueue(this.#pendingQueries ??= new Map(), id, info);
      }
    } else {
      const queries = this.#pendingQueries;
      if (this.#pendingQuery !== undefined && this.#pendingQuery.transId === id) {
        info = this.#pendingQuery;
        this.#pendingQuery = undefined;
        if (queries !== undefined) {
          // Refill the fast path so that a later query cannot overtake a pending one.
          const same = queries.get(id);
          if (same !== undefined && same.length > 0) {
            this.#pendingQuery = pop(queries, id);
          } else {
            for (const [tid, q] of queries) {
              if (q.length > 0) {
                this.#pendingQuery = pop(queries, tid);
                break;
              }
            }
          }
        }
      } else if (queries !== undefined && (queries.get(id)?.length ?? 0) > 0) {
        info = pop(queries, id);
      } else {
        info = this.#newSession(id);
        this.#enqueue(this.#pendingReplies ??= new Map(), id, info);
      }
    }
    this.#current = info;
    if (!isQuery) {
      info.rcode = msg.rcode;
      if (msg.rcode !== 0 && msg.qdCount === 0) info.rejected = true;
    }
    info.opcode = msg.opcode;
    info.opcodeName = opcodeName(msg.opcode, msg.isNetbios);
  }

  /** `enqueue_new_msg`: flushes a table with too many ids or a queue that is too long first. */
  #enqueue(msgs: Pending, id: number, info: DnsInfo): void {
    let q = msgs.get(id);
    if (q === undefined) {
      if (msgs.size > DEFAULT_MAX_PENDING_QUERY_IDS) this.#flush(msgs);
      q = [];
      msgs.set(id, q);
    } else if (q.length > DEFAULT_MAX_PENDING_MSGS) {
      for (const m of q) this.#write(m);
      q = [];
      msgs.set(id, q);
    }
    q.push(info);
  }

  /** `log_unmatched_msgs`: every queue in table order, then the table is cleared. */
  #flush(msgs: Pending): void {
    for (const q of msgs.values()) for (const m of q) this.#write(m);
    msgs.clear();
  }

  #write(info: DnsInfo): void {
    const row: ZeekValue[] = [
      info.ts,
      info.uid,
      info.id.origH,
      info.id.origP,
      info.id.respH,
      info.id.respP,
      info.id.proto,
      info.transId,
      info.rtt,
      info.query === undefined ? undefined : logString(info.query),
      info.qclass,
      info.qclass === undefined ? undefined : className(info.qclass),
      info.qtype,
      info.qtypeName,
      info.rcode,
      info.rcode === undefined ? undefined : rcodeName(info.rcode),
      info.AA,
      info.TC,
      info.RD,
      info.RA,
      info.Z,
      info.answers?.map(logString),
      info.TTLs,
      info.rejected,
      info.opcode,
      info.opcodeName,
    ];
    if (this.#authAddl) {
      row.push(
        info.auth === undefined ? undefined : [...info.auth].map(logString),
        info.addl === undefined ? undefined : [...info.addl].map(logString),
      );
    }
    this.#host.logs.write(this.#stream, row);
  }
}

/** `pop_msg`: the head of a queue; an emptied queue leaves the table. */
function pop(msgs: Pending, id: number): DnsInfo {
  const q = msgs.get(id)!;
  const info = q.shift()!;
  if (q.length === 0) msgs.delete(id);
  return info;
}

function msgRecord(msg: DnsHeader): ZeekValue {
  return {
    id: msg.id,
    opcode: msg.opcode,
    rcode: msg.rcode,
    QR: msg.QR,
    AA: msg.AA,
    TC: msg.TC,
    RD: msg.RD,
    RA: msg.RA,
    Z: msg.Z,
    num_queries: msg.qdCount,
    num_answers: msg.anCount,
    num_auth: msg.nsCount,
    num_addl: msg.arCount,
  };
}
