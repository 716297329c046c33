/**
 * `networks.cfg` (zeekctl's `CIDR [tag…]` per line, `#` comments) and the
 * membership test behind conn.log's `local_orig`/`local_resp`.
 *
 * As in Zeek (6.0 and later, `Site::private_address_space_is_local`), the
 * private address space is local unless PrivateAddressSpaceIsLocal=0, in
 * addition to whatever networks.cfg lists; with no networks.cfg it is all
 * there is.
 *
 * @module
 */

import { parseAddrInto } from "../zeek/mod.ts";
import type { Problems } from "./errors.ts";
import { contentLines } from "./ini.ts";

type Words = readonly [number, number, number, number];

/**
 * A local network. Addresses are compared as four big-endian 32-bit words of
 * their 16-byte form (IPv4 mapped into ::ffff:0:0/96, as Zeek stores them),
 * so one loop serves both families and nothing is allocated per test.
 */
export interface LocalNet {
  /** As written, e.g. `10.0.0.0/8` or `2001:db8::/32`. */
  readonly cidr: string;
  readonly family: 4 | 6;
  /** Prefix length in the family's own bits (8 for 10.0.0.0/8). */
  readonly prefix: number;
  /** The tag text after the CIDR in networks.cfg. */
  readonly tag: string;
  /** The network, host bits cleared. */
  readonly words: Words;
  readonly masks: Words;
}

/**
 * Zeek's `Site::private_address_space` (Zeek 8): the IPv4 ranges, their 6to4
 * images under 2002::/16 (Zeek lists each one), and the IPv6 ranges.
 */
export const PRIVATE_ADDRESS_SPACE: readonly string[] = Object.freeze([
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
  "2002::/24",
  "2002:a00::/24",
  "2002:6440::/26",
  "2002:7f00::/24",
  "2002:a9fe::/32",
  "2002:ac10::/28",
  "2002:c000::/40",
  "2002:c000:200::/40",
  "2002:c0a8::/32",
  "2002:c612::/31",
  "2002:c633:6400::/40",
  "2002:cb00:7100::/40",
  "2002:e000::/40",
  "2002:ef00::/24",
  "2002:f000::/20",
  "2002:ffff:ffff::/48",
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

function word(bytes: Uint8Array, index: number): number {
  const at = index * 4;
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>>
    0;
}

function maskWord(index: number, bits: number): number {
  const inWord = Math.min(32, Math.max(0, bits - index * 32));
  return inWord === 0 ? 0 : (0xffffffff << (32 - inWord)) >>> 0;
}

/** Parses `10.0.0.0/8` or `2001:db8::/32` (brackets allowed: `[2001:db8::]/32`); a string says what is wrong. */
export function parseCidr(cidr: string, tag = ""): LocalNet | string {
  const slash = cidr.indexOf("/");
  if (slash < 0) return `a network needs a prefix length (e.g. /32 for one host)`;
  const address = cidr.slice(0, slash).replace(/^\[(.*)\]$/, "$1");
  const bytes = new Uint8Array(16);
  if (!parseAddrInto(address, bytes, 0)) return `"${address}" is not an IPv4 or IPv6 address`;
  const family = address.includes(":") ? 6 : 4;
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixText = cidr.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > maxPrefix) {
    return `the prefix length of an IPv${family} network must be 0 to ${maxPrefix}`;
  }
  const bits = family === 4 ? prefix + 96 : prefix;
  const masks = [0, 1, 2, 3].map((i) => maskWord(i, bits)) as unknown as Words;
  const words = [0, 1, 2, 3].map((i) => (word(bytes, i) & masks[i]!) >>> 0) as unknown as Words;
  return Object.freeze({
    cidr,
    family,
    prefix,
    tag,
    words: Object.freeze(words),
    masks: Object.freeze(masks),
  });
}

/** Zeek's private address space as local networks. */
export const PRIVATE_LOCAL_NETS: readonly LocalNet[] = Object.freeze(
  PRIVATE_ADDRESS_SPACE.map((cidr) => parseCidr(cidr, "private address space") as LocalNet),
);

function containsWords(
  nets: readonly LocalNet[],
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): boolean {
  for (let i = 0; i < nets.length; i++) {
    const { words, masks } = nets[i]!;
    if (
      ((w3 & masks[3]) >>> 0) === words[3] &&
      ((w2 & masks[2]) >>> 0) === words[2] &&
      ((w1 & masks[1]) >>> 0) === words[1] &&
      ((w0 & masks[0]) >>> 0) === words[0]
    ) return true;
  }
  return false;
}

const scratch = new Uint8Array(16);

/**
 * Whether `address` lies in one of `nets`. Takes text, or bytes: 4 for IPv4,
 * 16 for IPv6 (or IPv4-mapped). Text that is not an address is not local.
 */
export function isLocalAddress(nets: readonly LocalNet[], address: string | Uint8Array): boolean {
  let bytes: Uint8Array;
  if (typeof address === "string") {
    if (!parseAddrInto(address, scratch, 0)) return false;
    bytes = scratch;
  } else if (address.length === 4) {
    return isLocalIpv4(nets, word(address, 0));
  } else if (address.length === 16) {
    bytes = address;
  } else return false;
  return containsWords(nets, word(bytes, 0), word(bytes, 1), word(bytes, 2), word(bytes, 3));
}

/** Whether the IPv4 address `address` (an unsigned 32-bit number, 10.0.0.1 = 0x0a000001) is local. */
export function isLocalIpv4(nets: readonly LocalNet[], address: number): boolean {
  return containsWords(nets, 0, 0, 0xffff, address >>> 0);
}

/** The networks listed in networks.cfg text; bad lines are reported to `problems`. */
export function parseNetworksCfg(text: string, file: string, problems: Problems): LocalNet[] {
  const nets: LocalNet[] = [];
  for (const { line, text: content } of contentLines(text, ["#"], file, problems)) {
    const [cidr = "", ...tag] = content.split(/\s+/);
    const net = parseCidr(cidr, tag.join(" "));
    if (typeof net === "string") problems.add(file, line, `${net}: current value is "${cidr}"`);
    else nets.push(net);
  }
  return nets;
}

/** Local networks as Zeek computes `Site::local_nets`: the listed ones, plus the private space when it counts as local. */
export function createLocalNets(
  listed: readonly LocalNet[],
  privateAddressSpaceIsLocal: boolean,
): readonly LocalNet[] {
  return Object.freeze(
    privateAddressSpaceIsLocal ? [...listed, ...PRIVATE_LOCAL_NETS] : [...listed],
  );
}
