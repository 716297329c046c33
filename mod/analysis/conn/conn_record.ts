/**
 * What a connection looks like to the world outside the tracker: its
 * `Conn::Info` row for conn.log and the `connection` record the connection
 * events carry. Both are built from the table's arrays when someone asks
 * (a connection ends, or a script handles an event), never per packet, so
 * they may allocate freely.
 *
 * @module
 */

import { formatAddress } from "../../../capture/mod.ts";
import { isLocalAddress, type LocalNet } from "../../../config/mod.ts";
import { T, type ZeekType, type ZeekValue } from "../../../zeek/mod.ts";
import { connIdType } from "./conn_log.ts";
import {
  CF_HAS_INNER_VLAN,
  CF_HAS_MAC,
  CF_HAS_VLAN,
  CF_TUNNEL,
  type ConnTable,
  EF_ACTIVE,
  wordBytes,
} from "./conn_table.ts";
import { tcpConnState, udpConnState } from "./conn_state.ts";
import type { HistoryStore } from "./history.ts";
import type { TcpAnalyzer } from "./tcp.ts";
import type { UidGenerator } from "./uid.ts";

/** Zeek's `endpoint` record as the connection events carry it. */
const ENDPOINT_TYPE: ZeekType = T.record("endpoint", [
  ["size", T.count],
  ["state", T.count],
  ["num_pkts", T.count, "optional"],
  ["num_bytes_ip", T.count, "optional"],
]);

/** Zeek's `connection` record, the members a conn-level script uses. */
export const CONNECTION_TYPE: ZeekType = T.record("connection", [
  ["id", connIdType(false)],
  ["orig", ENDPOINT_TYPE],
  ["resp", ENDPOINT_TYPE],
  ["start_time", T.time],
  ["duration", T.interval],
  ["service", T.set(T.string)],
  ["history", T.string],
  ["uid", T.string],
]);

/** A connection's id as logs print it (`conn_id`), and its transport as `proto` prints it. */
export interface ConnEndpointsText {
  readonly origH: string;
  readonly origP: number;
  readonly respH: string;
  readonly respP: number;
  readonly proto: "tcp" | "udp" | "icmp" | "unknown_transport";
}

/**
 * The tunnels a tunnelled connection was seen in: `encap` lists the
 * ordinals of the current encapsulation, outermost first; `parents` the
 * innermost tunnels it was seen in before (conn.log's `tunnel_parents`).
 */
export interface TunnelInfo {
  encap: string;
  parents: Set<number>;
  changes: number;
  limited: boolean;
}

/** The ordinal of the innermost tunnel of an `encap` list. */
export function innermost(encap: string): number {
  const at = encap.lastIndexOf(",");
  return Number(at < 0 ? encap : encap.slice(at + 1));
}

/** The tracker's parts a record is read from; the tracker owns them all. */
export interface ConnRecordSources {
  readonly table: ConnTable;
  readonly history: HistoryStore;
  readonly tcp: TcpAnalyzer;
  readonly uids: UidGenerator;
  readonly localNets: readonly LocalNet[];
  readonly tunnels: ReadonlyMap<number, TunnelInfo>;
  /** conn.log's `service` of a connection (from the analyzers), if any. */
  readonly serviceOf?: (slot: number) => string | undefined;
}

/** Builds conn.log rows and `connection` records of live connections. */
export class ConnRecords {
  readonly #t: ConnTable;
  readonly #h: HistoryStore;
  readonly #tcp: TcpAnalyzer;
  readonly #uids: UidGenerator;
  readonly #localNets: readonly LocalNet[];
  readonly #tunnels: ReadonlyMap<number, TunnelInfo>;
  readonly #serviceOf: ((slot: number) => string | undefined) | undefined;
  readonly #scratchAddr = new Uint32Array(8);
  readonly #scratchBytes = new Uint8Array(16);

  constructor(sources: ConnRecordSources) {
    this.#t = sources.table;
    this.#h = sources.history;
    this.#tcp = sources.tcp;
    this.#uids = sources.uids;
    this.#localNets = sources.localNets;
    this.#tunnels = sources.tunnels;
    this.#serviceOf = sources.serviceOf;
  }

  /** The uid of a live connection. */
  uid(slot: number): string {
    return this.#uids.uid(this.#t.ordinal[slot]!);
  }

  /** The `connection` record of a live connection, as the connection events carry it. */
  connection(slot: number): ZeekValue {
    const t = this.#t;
    const proto = protoName(t.proto[slot]!);
    const endpoint = (side: number) => ({
      size: this.#size(slot, side),
      state: t.proto[slot] === 6
        ? t.state[slot * 2 + side]!
        : (t.eflags[slot * 2 + side]! & EF_ACTIVE) !== 0
        ? 1
        : 0,
      num_pkts: t.pkts[slot * 2 + side]!,
      num_bytes_ip: t.ipBytes[slot * 2 + side]!,
    });
    const portProto = proto === "unknown_transport" ? "unknown" : proto;
    return {
      id: {
        orig_h: this.#address(slot, 0),
        orig_p: `${t.origPort[slot]}/${portProto}`,
        resp_h: this.#address(slot, 4),
        resp_p: `${t.respPort[slot]}/${portProto}`,
      },
      orig: endpoint(0),
      resp: endpoint(1),
      start_time: t.startTime[slot]!,
      duration: t.lastTime[slot]! - t.startTime[slot]!,
      service: this.#serviceOf?.(slot)?.split(",") ?? [],
      history: this.#h.text(slot),
      uid: this.uid(slot),
    };
  }

  /** The `Conn::Info` row of a live connection, in the stream's column order. */
  row(slot: number): ZeekValue[] {
    const t = this.#t;
    const proto = t.proto[slot]!;
    const duration = t.lastTime[slot]! - t.startTime[slot]!;
    const o = slot * 2;
    const history = this.#h.text(slot);
    let state: string;
    if (proto === 6) {
      state = tcpConnState(
        t.state[o]!,
        t.state[o + 1]!,
        this.#tcp.size(o),
        this.#tcp.size(o + 1),
        history,
      );
    } else if (proto === 17) {
      state = udpConnState((t.eflags[o]! & EF_ACTIVE) !== 0, (t.eflags[o + 1]! & EF_ACTIVE) !== 0);
    } else state = "OTH";
    let parents: string[] | undefined;
    if ((t.flags[slot]! & CF_TUNNEL) !== 0) {
      const info = this.#tunnels.get(slot)!;
      if (info.encap !== "") info.parents.add(innermost(info.encap));
      if (info.parents.size > 0) parents = [...info.parents].map((p) => this.#uids.uid(p));
    }
    const row: ZeekValue[] = [
      t.startTime[slot]!,
      this.uid(slot),
      this.#address(slot, 0),
      t.origPort[slot]!,
      this.#address(slot, 4),
      t.respPort[slot]!,
    ];
    if (t.vlanKey) {
      const f = t.flags[slot]!;
      row.push(
        (f & CF_HAS_VLAN) !== 0 ? t.vlan[slot]! : undefined,
        (f & CF_HAS_INNER_VLAN) !== 0 ? t.innerVlan[slot]! : undefined,
      );
    }
    const hasDuration = duration > 0;
    row.push(
      protoName(proto),
      this.#serviceOf?.(slot),
      hasDuration ? duration : undefined,
      hasDuration ? this.#size(slot, 0) : undefined,
      hasDuration ? this.#size(slot, 1) : undefined,
      state,
      this.#local(slot, 0),
      this.#local(slot, 4),
      t.missedBytes[slot]!,
      history === "" ? undefined : history,
      t.pkts[o]!,
      t.ipBytes[o]!,
      t.pkts[o + 1]!,
      t.ipBytes[o + 1]!,
      parents,
      proto,
    );
    if (t.macAddresses) {
      const has = (t.flags[slot]! & CF_HAS_MAC) !== 0;
      row.push(has ? this.#mac(slot, 0) : undefined, has ? this.#mac(slot, 6) : undefined);
    }
    return row;
  }

  /** A live connection's id as logs print it. */
  endpoints(slot: number): ConnEndpointsText {
    const t = this.#t;
    return {
      origH: this.#address(slot, 0),
      origP: t.origPort[slot]!,
      respH: this.#address(slot, 4),
      respP: t.respPort[slot]!,
      proto: protoName(t.proto[slot]!),
    };
  }

  /** Bytes one side sent (conn.log's orig_bytes/resp_bytes). */
  size(slot: number, side: number): number {
    return this.#size(slot, side);
  }

  #size(slot: number, side: number): number {
    const t = this.#t;
    return t.proto[slot] === 6 ? this.#tcp.size(slot * 2 + side) : t.lastSeq[slot * 2 + side]!;
  }

  #address(slot: number, base: number): string {
    const a = this.#scratchAddr;
    const addr = this.#t.addr;
    for (let i = 0; i < 8; i++) a[i] = addr[slot * 8 + i]!;
    return formatAddress(a, base);
  }

  /**
   * `Site::is_local_addr` of one side's address (the originator's when
   * `isOrig`); undefined when no local networks are set (Zeek then leaves
   * `local_orig` unset).
   */
  isLocal(slot: number, isOrig: boolean): boolean | undefined {
    return this.#localNets.length === 0 ? undefined : this.#local(slot, isOrig ? 0 : 4);
  }

  #local(slot: number, base: number): boolean {
    return isLocalAddress(
      this.#localNets,
      wordBytes(this.#t.addr, slot * 8 + base, this.#scratchBytes),
    );
  }

  #mac(slot: number, at: number): string {
    const m = this.#t.mac;
    const parts: string[] = [];
    for (let i = 0; i < 6; i++) parts.push(m[slot * 12 + at + i]!.toString(16).padStart(2, "0"));
    return parts.join(":");
  }
}

function protoName(proto: number): ConnEndpointsText["proto"] {
  if (proto === 6) return "tcp";
  if (proto === 17) return "udp";
  if (proto === 1 || proto === 58) return "icmp";
  return "unknown_transport";
}
