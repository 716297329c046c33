/**
 * A symmetric flow key and hash over a decoded packet, to split one trace
 * across N workers so that every connection, both directions, lands on one
 * worker.
 *
 * Choices, and why:
 * - Both directions hash alike: each endpoint (address, port) is hashed on
 *   its own and the two are combined by addition, which does not care about
 *   order; the protocol is mixed in last.
 * - Fragments: every worker decodes the whole trace and reassembles, so a
 *   reassembled datagram hashes with its ports like the flow's other
 *   packets. A fragment that is not (or not yet) a whole datagram hashes on
 *   addresses and protocol only, the same for all fragments of a datagram.
 * - ICMP and protocols without ports hash on addresses and protocol, so an
 *   echo request and its reply (different types) stay together.
 * - Tunnels hash on the outermost layer: the outer UDP flow of a VXLAN or
 *   GTP tunnel is a connection of its own in Zeek, and every inner
 *   connection names it as a parent, so they must share a worker.
 * - Packets without IP hash to 0, so exactly one worker (worker 0) sees
 *   them.
 *
 * @module
 */

import { type DecodedPacket, OUTCOME_FRAGMENT, OUTCOME_IP } from "./decoded_packet.ts";

const SEED = 0x5eed_f10b;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * The symmetric hash of addresses (eight words as in
 * `DecodedPacket.addrWords`, the signed view of `addr`), ports and protocol: swapping source and destination gives the same value.
 * Each endpoint goes through MurmurHash3's mixing on its own (five words:
 * address and port), the two results are added, and the protocol is mixed
 * into the sum. Written out in one function: V8 does not inline helpers
 * this deep in the packet loop, and a call per word would cost more than
 * the arithmetic.
 */
export function hashTuple(
  words: Int32Array,
  proto: number,
  srcPort: number,
  dstPort: number,
): number {
  let a = SEED;
  let b = SEED;
  for (let i = 0; i < 5; i++) {
    let ka = i < 4 ? words[i]! : srcPort;
    let kb = i < 4 ? words[4 + i]! : dstPort;
    ka = Math.imul(ka, C1);
    kb = Math.imul(kb, C1);
    ka = (ka << 15) | (ka >>> 17);
    kb = (kb << 15) | (kb >>> 17);
    a ^= Math.imul(ka, C2);
    b ^= Math.imul(kb, C2);
    a = (a << 13) | (a >>> 19);
    b = (b << 13) | (b >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b = (Math.imul(b, 5) + 0xe6546b64) | 0;
  }
  a ^= 20;
  b ^= 20;
  a ^= a >>> 16;
  b ^= b >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  b = Math.imul(b, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  b = Math.imul(b, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  let h = ((a + b) | 0) ^ Math.imul(proto + 1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132;
}

/** The flow hash of a decoded packet (u32); see the module doc for what it covers. */
export function flowHash(d: DecodedPacket): number {
  const outcome = d.outcome;
  if (outcome !== OUTCOME_IP && outcome !== OUTCOME_FRAGMENT) return 0;
  if (d.tunnelDepth > 0) {
    const t = d.tunnels[0]!;
    return hasPorts(t.proto) && !t.fragment
      ? hashTuple(t.addrWords, t.proto, t.srcPort, t.dstPort)
      : hashTuple(t.addrWords, t.proto, 0, 0);
  }
  return hasPorts(d.proto) && !d.fragment && outcome === OUTCOME_IP
    ? hashTuple(d.addrWords, d.proto, d.srcPort, d.dstPort)
    : hashTuple(d.addrWords, d.proto, 0, 0);
}

/**
 * The worker (0 … n-1) for a hash: the hash scaled into n buckets, as the
 * kernel's fanout does, so buckets get equal shares of the hash space.
 */
export function workerFor(hash: number, n: number): number {
  return Math.floor(((hash >>> 0) * n) / 4294967296);
}

/**
 * Writes the packet's flow key in canonical order into `key` (11 words:
 * lower endpoint's address 0–3, higher's 4–7, lower's port 8, higher's 9,
 * protocol 10), so both directions produce the same key. Returns true when
 * the packet's source is the lower endpoint. Uses the packet's own
 * (innermost) layer, as a connection table needs.
 */
export function flowKeyInto(d: DecodedPacket, key: Uint32Array): boolean {
  const addr = d.addr;
  let srcLower = true;
  for (let i = 0; i < 4; i++) {
    const s = addr[i]!;
    const t = addr[4 + i]!;
    if (s !== t) {
      srcLower = s < t;
      break;
    }
    if (i === 3) srcLower = d.srcPort <= d.dstPort;
  }
  const a = srcLower ? 0 : 4;
  const b = srcLower ? 4 : 0;
  for (let i = 0; i < 4; i++) {
    key[i] = addr[a + i]!;
    key[4 + i] = addr[b + i]!;
  }
  key[8] = srcLower ? d.srcPort : d.dstPort;
  key[9] = srcLower ? d.dstPort : d.srcPort;
  key[10] = d.proto;
  return srcLower;
}
