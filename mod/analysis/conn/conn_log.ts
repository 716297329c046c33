/**
 * The `Conn::LOG` stream: Zeek's `Conn::Info` columns and types in Zeek's
 * order (Z: scripts/base/protocols/conn/main.zeek), with the optional
 * columns two policy scripts add: `id.ctx.vlan`/`id.ctx.inner_vlan`
 * (frameworks/conn_key/vlan_fivetuple, inside the id block) and
 * `orig_l2_addr`/`resp_l2_addr` (protocols/conn/mac-logging, at the end).
 *
 * @module
 */

import { type RecordField, T, type ZeekType } from "../../../zeek/mod.ts";
import { defineStream, type LogStream } from "../../log/mod.ts";

/** Which optional columns a conn.log carries. */
export interface ConnLogColumns {
  /** `id.ctx.vlan` and `id.ctx.inner_vlan` (the VLAN-aware connection key). */
  readonly vlanContext?: boolean;
  /** `orig_l2_addr` and `resp_l2_addr` (mac-logging). */
  readonly macAddresses?: boolean;
}

/** Zeek's `conn_id` record (the logged members), optionally with its `ctx`. */
export function connIdType(vlanContext = false): ZeekType {
  const fields: [string, ZeekType][] = [
    ["orig_h", T.addr],
    ["orig_p", T.port],
    ["resp_h", T.addr],
    ["resp_p", T.port],
  ];
  if (!vlanContext) return T.record("conn_id", fields);
  return T.record("conn_id", [
    ...fields,
    [
      "ctx",
      T.record("conn_id_ctx", [["vlan", T.int, "optional"], ["inner_vlan", T.int, "optional"]]),
    ],
  ]);
}

/** The `Conn::Info` record type. */
export function connInfoType(columns: ConnLogColumns = {}): ZeekType {
  const fields: (readonly [string, ZeekType] | readonly [string, ZeekType, "optional"])[] = [
    ["ts", T.time],
    ["uid", T.string],
    ["id", connIdType(columns.vlanContext ?? false)],
    ["proto", T.enum("transport_proto")],
    ["service", T.string, "optional"],
    ["duration", T.interval, "optional"],
    ["orig_bytes", T.count, "optional"],
    ["resp_bytes", T.count, "optional"],
    ["conn_state", T.string, "optional"],
    ["local_orig", T.bool, "optional"],
    ["local_resp", T.bool, "optional"],
    ["missed_bytes", T.count, "optional"],
    ["history", T.string, "optional"],
    ["orig_pkts", T.count, "optional"],
    ["orig_ip_bytes", T.count, "optional"],
    ["resp_pkts", T.count, "optional"],
    ["resp_ip_bytes", T.count, "optional"],
    ["tunnel_parents", T.set(T.string), "optional"],
    ["ip_proto", T.count, "optional"],
  ];
  if (columns.macAddresses) {
    fields.push(["orig_l2_addr", T.string, "optional"], ["resp_l2_addr", T.string, "optional"]);
  }
  return T.record("Conn::Info", fields);
}

/**
 * Declares `Conn::LOG` (path `conn`) with Zeek's columns.
 *
 * @example
 * ```ts
 * const conn = defineConnStream();
 * conn.columns.map((c) => c.name); // ["ts", "uid", "id.orig_h", …, "ip_proto"]
 * ```
 */
export function defineConnStream(columns: ConnLogColumns = {}): LogStream {
  return defineStream({
    id: "Conn::LOG",
    path: "conn",
    columns: connInfoType(columns),
    event: "Conn::log_conn",
  });
}

/** The columns a stream of `defineConnStream(columns)` has, as record fields. */
export function connInfoFields(columns: ConnLogColumns = {}): readonly RecordField[] {
  const type = connInfoType(columns);
  return type.kind === "record" ? type.fields : [];
}
