/**
 * `networks.cfg` (`CIDR [description]` per line) and local-address tests.
 * Without the file, the local networks are Zeek's default private address
 * space (`Site::private_address_space_is_local`); the 6to4 images of the
 * IPv4 ranges are left out.
 *
 * @module
 */

import type { ProblemList } from "./errors.ts";

/** A local network, stored as 16 bytes (IPv4 mapped into ::ffff:0:0/96) and a prefix in IPv6 bits. */
export interface LocalNet {
  readonly cidr: string;
  readonly description: string;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Zeek's `Site::private_address_space`. */
export const DEFAULT_LOCAL_NETS: readonly string[] = Object.freeze([
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/24",
  "239.0.0.0/8",
  "240.0.0.0/4",
  "255.255.255.255/32",
  "::/128",
  "::1/128",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:2::/48",
  "2001:db8::/32",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
]);

function parseIpv4(text: string, out: Uint8Array): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  out.fill(0);
  out[10] = 0xff;
  out[11] = 0xff;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return false;
    out[12 + i] = Number(p);
  }
  return true;
}

/** Parses an IPv4 or IPv6 address into 16 bytes; false when it is not one. */
export function parseAddress(text: string, out: Uint8Array): boolean {
  if (!text.includes(":")) return parseIpv4(text, out);
  let head = text, tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
    if (tail.includes("::")) return false;
  }
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const h = groups(head), t = groups(tail);
  const words: number[] = [];
  const v4 = new Uint8Array(16);
  const pushAll = (list: string[], into: number[]): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!;
      if (g.includes(".") && i === list.length - 1 && parseIpv4(g, v4)) {
        into.push((v4[12]! << 8) | v4[13]!, (v4[14]! << 8) | v4[15]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) into.push(parseInt(g, 16));
      else return false;
    }
    return true;
  };
  const hw: number[] = [], tw: number[] = [];
  if (!pushAll(h, hw) || !pushAll(t, tw)) return false;
  const fill = 8 - hw.length - tw.length;
  if (dbl < 0 ? fill !== 0 : fill < 1) return false;
  words.push(...hw, ...new Array(dbl < 0 ? 0 : fill).fill(0), ...tw);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return true;
}

/** Parses `a.b.c.d/n` or `x::/n` into a `LocalNet`, or returns an error message. */
export function parseCidr(cidr: string, description = ""): LocalNet | string {
  const slash = cidr.indexOf("/");
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const bytes = new Uint8Array(16);
  if (!parseAddress(addr, bytes)) return `"${cidr}" is not an IPv4 or IPv6 network`;
  const v4 = !addr.includes(":");
  const max = v4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    return `"${cidr}" has a bad prefix length (0 to ${max})`;
  }
  const prefix = Number(lenText) + (v4 ? 96 : 0);
  return Object.freeze({ cidr, description, bytes, prefix });
}

/** True when the 16-byte address lies in `net`. */
function contains(net: LocalNet, addr: Uint8Array): boolean {
  const full = net.prefix >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== net.bytes[i]) return false;
  const rest = net.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[full]! & mask) === (net.bytes[full]! & mask);
}

const scratch = new Uint8Array(16);

/** Whether `addr` (text or 16 bytes) is in any of `nets`. */
export function isLocalAddress(nets: readonly LocalNet[], addr: string | Uint8Array): boolean {
  let bytes: Uint8Array;
  if (typeof addr === "string") {
    if (!parseAddress(addr, scratch)) return false;
    bytes = scratch;
  } else bytes = addr;
  for (const net of nets) if (contains(net, bytes)) return true;
  return false;
}

/** Local networks from `networks.cfg` text, or Zeek's defaults when `text` is undefined. */
export function parseNetworksCfg(
  text: string | undefined,
  file: string,
  problems: ProblemList,
): LocalNet[] {
  if (text === undefined) return DEFAULT_LOCAL_NETS.map((c) => parseCidr(c) as LocalNet);
  const nets: LocalNet[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t === "" || t.startsWith("#")) return;
    const [cidr, ...rest] = t.split(/\s+/);
    const net = parseCidr(cidr!, rest.join(" "));
    if (typeof net === "string") problems.add(file, i + 1, net);
    else nets.push(net);
  });
  return nets;
}
