/**
 * Hand-built frames for the capture tests: each layer as a small function
 * returning bytes, with correct lengths and checksums unless asked
 * otherwise. Test support only; nothing outside `capture/` imports it.
 *
 * @module
 */

import { foldSum, sumBytes } from "../capture/mod.ts";

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bytes from numbers. */
export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** `"10.0.0.1"` as 4 bytes. */
export function v4(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

/** An IPv6 address text (with at most one `::`) as 16 bytes. */
export function v6(text: string): Uint8Array {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined
    ? h
    : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function checksumOf(data: Uint8Array, extra = 0): number {
  return ~foldSum(sumBytes(data, 0, data.length) + extra) & 0xffff;
}

function pseudo(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  return sumBytes(src, 0, src.length) + sumBytes(dst, 0, dst.length) + proto +
    Math.floor(len / 65536) + (len & 0xffff);
}

/** Offset of the checksum field in a transport header, or -1. */
function checksumAt(proto: number): number {
  return proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 || proto === 58 ? 2 : -1;
}

/** Writes the transport checksum of `l4` in place (pseudo-header for all but ICMPv4). */
function fixTransport(l4: Uint8Array, proto: number, src: Uint8Array, dst: Uint8Array): void {
  const at = checksumAt(proto);
  if (at < 0 || l4.length < at + 2) return;
  l4[at] = 0;
  l4[at + 1] = 0;
  const extra = proto === 1 ? 0 : pseudo(src, dst, proto, l4.length);
  let sum = checksumOf(l4, extra);
  if (proto === 17 && sum === 0) sum = 0xffff;
  l4[at] = sum >>> 8;
  l4[at + 1] = sum & 0xff;
}

/** A TCP header (20 bytes plus `options`) and payload; checksum left for the IP builder. */
export function tcp(opts: {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  payload?: Uint8Array;
  options?: Uint8Array;
  dataOffset?: number;
}): Uint8Array {
  const options = opts.options ?? new Uint8Array(0);
  const hl = 20 + options.length;
  const off = opts.dataOffset ?? hl / 4;
  return concat(
    bytes(
      ...u16(opts.sport),
      ...u16(opts.dport),
      ...u32(opts.seq ?? 1000),
      ...u32(opts.ack ?? 0),
      off << 4,
      opts.flags ?? 0x02,
      ...u16(opts.window ?? 65535),
      0,
      0,
      0,
      0,
    ),
    options,
    opts.payload ?? new Uint8Array(0),
  );
}

/** A UDP header and payload; the length field is right unless `length` says otherwise. */
export function udp(
  sport: number,
  dport: number,
  payload: Uint8Array,
  length?: number,
): Uint8Array {
  return concat(
    bytes(...u16(sport), ...u16(dport), ...u16(length ?? 8 + payload.length), 0, 0),
    payload,
  );
}

/** An ICMP or ICMPv6 message: type, code, 4 bytes of rest-of-header, payload. */
export function icmp(type: number, code: number, rest: number, payload: Uint8Array): Uint8Array {
  return concat(bytes(type, code, 0, 0, ...u32(rest)), payload);
}

/** Options of the IPv4 builder. */
export interface Ipv4Options {
  src?: string;
  dst?: string;
  id?: number;
  ttl?: number;
  /** Flags and fragment offset field (default DF). */
  frag?: number;
  options?: Uint8Array;
  /** Overrides the total length field. */
  totalLength?: number;
  badChecksum?: boolean;
  /** Leave the transport checksum as built (default: compute it). */
  keepTransportChecksum?: boolean;
}

/** An IPv4 packet around `l4`; header and transport checksums computed. */
export function ipv4(proto: number, l4: Uint8Array, o: Ipv4Options = {}): Uint8Array {
  const src = v4(o.src ?? "10.0.0.1");
  const dst = v4(o.dst ?? "10.0.0.2");
  const options = o.options ?? new Uint8Array(0);
  const hl = 20 + options.length;
  const body = l4.slice();
  if (!o.keepTransportChecksum) fixTransport(body, proto, src, dst);
  const header = concat(
    bytes(
      0x40 | (hl >> 2),
      0,
      ...u16(o.totalLength ?? hl + body.length),
      ...u16(o.id ?? 0x1234),
      ...u16(o.frag ?? 0x4000),
      o.ttl ?? 64,
      proto,
      0,
      0,
    ),
    src,
    dst,
    options,
  );
  const sum = checksumOf(header) ^ (o.badChecksum ? 0x5a5a : 0);
  header[10] = sum >>> 8;
  header[11] = sum & 0xff;
  return concat(header, body);
}

/** An IPv6 extension header: next header, then `body` padded to a multiple of 8 with the length byte set. */
export interface Ipv6Extension {
  type: number;
  /** Bytes after the next-header and length bytes. */
  body: Uint8Array;
}

/** Options of the IPv6 builder. */
export interface Ipv6Options {
  src?: string;
  dst?: string;
  extensions?: Ipv6Extension[];
  /** The destination the transport checksum uses (a routing header's final hop). */
  checksumDst?: string;
  payloadLength?: number;
  keepTransportChecksum?: boolean;
}

function extensionBytes(type: number, next: number, body: Uint8Array): Uint8Array {
  if (type === 44) return concat(bytes(next, 0), body);
  if (type === 51) {
    const len = 2 + body.length;
    return concat(bytes(next, len / 4 - 2), body);
  }
  const len = 2 + body.length;
  const padded = Math.ceil(len / 8) * 8;
  return concat(bytes(next, padded / 8 - 1), body, new Uint8Array(padded - len));
}

/** An IPv6 packet around `l4` with optional extension headers. */
export function ipv6(proto: number, l4: Uint8Array, o: Ipv6Options = {}): Uint8Array {
  const src = v6(o.src ?? "2001:db8::1");
  const dst = v6(o.dst ?? "2001:db8::2");
  const body = l4.slice();
  if (!o.keepTransportChecksum) {
    fixTransport(body, proto, src, o.checksumDst ? v6(o.checksumDst) : dst);
  }
  const exts = o.extensions ?? [];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? exts[i + 1]!.type : proto;
    parts.push(extensionBytes(exts[i]!.type, next, exts[i]!.body));
  }
  const payload = concat(...parts, body);
  const first = exts.length > 0 ? exts[0]!.type : proto;
  return concat(
    bytes(0x60, 0, 0, 1, ...u16(o.payloadLength ?? payload.length), first, 64),
    src,
    dst,
    payload,
  );
}

/** Splits an IPv4 packet (20-byte header, no options) into fragments of at most `chunk` payload bytes. */
export function fragmentV4(packet: Uint8Array, chunk: number): Uint8Array[] {
  const hl = (packet[0]! & 0x0f) << 2;
  const payload = packet.subarray(hl);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, Math.min(payload.length, off + chunk));
    const more = off + chunk < payload.length;
    const header = packet.slice(0, hl);
    const total = hl + part.length;
    header[2] = total >>> 8;
    header[3] = total & 0xff;
    const frag = (more ? 0x2000 : 0) | (off >>> 3);
    header[6] = frag >>> 8;
    header[7] = frag & 0xff;
    header[10] = 0;
    header[11] = 0;
    const sum = checksumOf(header);
    header[10] = sum >>> 8;
    header[11] = sum & 0xff;
    out.push(concat(header, part));
  }
  return out;
}

/** Splits an IPv6 packet without extension headers into fragments with a fragment header. */
export function fragmentV6(packet: Uint8Array, chunk: number, id = 0xabcdef01): Uint8Array[] {
  const next = packet[6]!;
  const payload = packet.subarray(40);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, Math.min(payload.length, off + chunk));
    const more = off + chunk < payload.length;
    const header = packet.slice(0, 40);
    const plen = 8 + part.length;
    header[4] = plen >>> 8;
    header[5] = plen & 0xff;
    header[6] = 44;
    const fragHeader = bytes(next, 0, ...u16(off | (more ? 1 : 0)), ...u32(id));
    out.push(concat(header, fragHeader, part));
  }
  return out;
}

/** An Ethernet frame; `tags` are [tpid, vlan id] pairs, outermost first. */
export function ethernet(
  type: number,
  payload: Uint8Array,
  tags: Array<[number, number]> = [],
): Uint8Array {
  const tagBytes = tags.flatMap(([tpid, id]) => [...u16(tpid), ...u16(id)]);
  return concat(
    bytes(0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, ...tagBytes, ...u16(type)),
    payload,
  );
}

/** An MPLS label stack (bottom-of-stack set on the last label). */
export function mpls(labels: number[], payload: Uint8Array): Uint8Array {
  const stack = labels.flatMap((label, i) => {
    const v = (label << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64;
    return u32(v >>> 0);
  });
  return concat(bytes(...stack), payload);
}

/** A PPPoE session header and PPP protocol field. */
export function pppoe(pppProto: number, payload: Uint8Array): Uint8Array {
  return concat(
    bytes(0x11, 0, ...u16(0x0042), ...u16(payload.length + 2), ...u16(pppProto)),
    payload,
  );
}

/** A GRE header (version 0) with an optional key. */
export function gre(protoType: number, payload: Uint8Array, key?: number): Uint8Array {
  const flags = key === undefined ? 0 : 0x2000;
  return concat(
    bytes(...u16(flags), ...u16(protoType), ...(key === undefined ? [] : u32(key))),
    payload,
  );
}

/** A VXLAN header with the I flag and `vni`, followed by an Ethernet frame. */
export function vxlan(vni: number, frame: Uint8Array): Uint8Array {
  return concat(bytes(0x08, 0, 0, 0, ...u32(vni << 8)), frame);
}

/** A GTPv1-U G-PDU header (optionally with sequence number and one extension header). */
export function gtp(teid: number, inner: Uint8Array, withExtension = false): Uint8Array {
  const optional = withExtension ? [0, 1, 0, 0x85, 1, 0x09, 0, 0] : [];
  const flags = withExtension ? 0x36 : 0x30;
  return concat(
    bytes(flags, 0xff, ...u16(optional.length + inner.length), ...u32(teid), ...optional),
    inner,
  );
}

/** A Geneve header carrying `protoType`. */
export function geneve(vni: number, protoType: number, payload: Uint8Array): Uint8Array {
  return concat(bytes(0, 0, ...u16(protoType), ...u32(vni << 8)), payload);
}
