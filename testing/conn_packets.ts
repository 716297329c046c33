/**
 * Test helpers: packets built straight into a `DecodedPacket`, a tracker
 * whose conn.log rows are collected as records.
 *
 * @module
 */

import { CHECKSUM_BAD, CHECKSUM_UNCHECKED, DecodedPacket, OUTCOME_IP } from "../capture/mod.ts";
import { LogRegistry } from "../mod/log/mod.ts";
import type { ZeekValue } from "../zeek/mod.ts";
import { ConnTracker, type ConnTrackerOptions } from "../mod/analysis/conn/mod.ts";

export type Row = Record<string, ZeekValue>;

/** A tracker whose removed connections land in `rows` as column → value records. */
export function trackerWithRows(
  options: ConnTrackerOptions = {},
): { tracker: ConnTracker; rows: Row[] } {
  const rows: Row[] = [];
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream, _filter, values) {
        const row: Row = {};
        stream.columns.forEach((c, i) => (row[c.name] = values[i]));
        rows.push(row);
      },
    },
  });
  return { tracker: new ConnTracker({ ...options, logs }), rows };
}

function ipv4(text: string): number {
  return text.split(".").reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0) | 0;
}

/** What one test packet carries. */
export interface PacketSpec {
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly proto?: number;
  readonly flags?: number;
  readonly seq?: number;
  readonly ack?: number;
  readonly len?: number;
  readonly window?: number;
  readonly badChecksum?: boolean;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

/** Fills `d` as the decoder would for an IPv4 packet of `spec`. */
export function fill(d: DecodedPacket, spec: PacketSpec): DecodedPacket {
  d.clear();
  d.outcome = OUTCOME_IP;
  d.ipVersion = 4;
  const w = d.addrWords;
  w[0] = 0;
  w[1] = 0;
  w[2] = 0xffff;
  w[3] = ipv4(spec.src);
  w[4] = 0;
  w[5] = 0;
  w[6] = 0xffff;
  w[7] = ipv4(spec.dst);
  const proto = spec.proto ?? 6;
  const len = spec.len ?? 0;
  d.proto = proto;
  d.srcPort = spec.sport ?? 0;
  d.dstPort = spec.dport ?? 0;
  d.l4Checksum = spec.badChecksum ? CHECKSUM_BAD : CHECKSUM_UNCHECKED;
  d.payloadLen = len;
  d.payloadCaplen = len;
  if (proto === 6) {
    d.tcpFlags = spec.flags ?? 0;
    d.tcpSeq = (spec.seq ?? 0) >>> 0;
    d.tcpAck = (spec.ack ?? 0) >>> 0;
    d.tcpWindow = spec.window ?? 8192;
    d.ipTotalLen = 40 + len;
  } else if (proto === 17) {
    d.udpLen = 8 + len;
    d.ipTotalLen = 28 + len;
  } else if (proto === 1) {
    d.icmpType = spec.icmpType ?? 8;
    d.icmpCode = spec.icmpCode ?? 0;
    d.ipTotalLen = 28 + len;
  } else d.ipTotalLen = 20 + len;
  d.l4Len = d.ipTotalLen - 20;
  d.l4Caplen = d.l4Len;
  return d;
}
