/**
 * The Internet checksum (RFC 1071) over bytes in a Uint8Array, with the
 * IPv4 and IPv6 pseudo-headers TCP, UDP and ICMPv6 include.
 *
 * No DataView per word: short runs assemble words from byte pairs, long
 * runs read aligned 32-bit words through a Uint32Array over the same
 * memory. A JS number holds the unfolded sum exactly (64 KiB of 32-bit
 * words stays far below 2^53), so carries are folded once at the end.
 *
 * @module
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes the byte loop is cheaper than finding an aligned view. */
const WORD_PATH_MIN = 48;
let cachedBuffer: ArrayBufferLike | null = null;
let cachedWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

/**
 * The sum of the 16-bit big-endian words of `data[start … start+len)`, an
 * odd last byte padded with zero; congruent modulo 0xffff to the true sum
 * (callers fold). Long runs are read as aligned little-endian 32-bit words,
 * one load per four bytes, whose 16-bit halves are added in eight-word
 * steps with two accumulators (integer math throughout, so V8 keeps it in
 * registers). RFC 1071's byte-order independence turns the little-endian
 * sum into the big-endian one by a byte swap, or none when the run starts
 * at an odd address.
 */
export function sumWords(data: Uint8Array, start: number, len: number): number {
  if (len < WORD_PATH_MIN || !LITTLE_ENDIAN) return sumBytes(data, start, len);
  const buffer = data.buffer;
  if (buffer !== cachedBuffer) {
    cachedBuffer = buffer;
    cachedWords = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  const words = cachedWords;
  const base = data.byteOffset;
  const abs = base + start;
  const absEnd = abs + len;
  const alignedStart = (abs + 3) & ~3;
  const alignedEnd = absEnd & ~3;
  let s1 = 0;
  let s2 = 0;
  for (let a = abs; a < alignedStart; a++) {
    s1 += (a & 1) === 0 ? data[a - base]! : data[a - base]! << 8;
  }
  let i = alignedStart >>> 2;
  const end = alignedEnd >>> 2;
  const end8 = end - 7;
  while (i < end8) {
    const x0 = words[i]!;
    const x1 = words[i + 1]!;
    const x2 = words[i + 2]!;
    const x3 = words[i + 3]!;
    const x4 = words[i + 4]!;
    const x5 = words[i + 5]!;
    const x6 = words[i + 6]!;
    const x7 = words[i + 7]!;
    s1 += (x0 & 0xffff) + (x0 >>> 16) + (x1 & 0xffff) + (x1 >>> 16) + (x2 & 0xffff) +
      (x2 >>> 16) + (x3 & 0xffff) + (x3 >>> 16);
    s2 += (x4 & 0xffff) + (x4 >>> 16) + (x5 & 0xffff) + (x5 >>> 16) + (x6 & 0xffff) +
      (x6 >>> 16) + (x7 & 0xffff) + (x7 >>> 16);
    i += 8;
  }
  while (i < end) {
    const x = words[i++]!;
    s1 += (x & 0xffff) + (x >>> 16);
  }
  for (let a = alignedEnd; a < absEnd; a++) {
    s2 += (a & 1) === 0 ? data[a - base]! : data[a - base]! << 8;
  }
  const sum = foldSum(s1 + s2);
  return (abs & 1) === 0 ? ((sum & 0xff) << 8) | (sum >>> 8) : sum;
}

/** `sumWords` one byte pair at a time (short runs, big-endian hosts). */
export function sumBytes(data: Uint8Array, start: number, len: number): number {
  let sum = 0;
  let i = start;
  const end = start + len;
  const end8 = end - 7;
  while (i < end8) {
    sum += ((data[i]! << 8) | data[i + 1]!) + ((data[i + 2]! << 8) | data[i + 3]!) +
      ((data[i + 4]! << 8) | data[i + 5]!) + ((data[i + 6]! << 8) | data[i + 7]!);
    i += 8;
  }
  while (i + 1 < end) {
    sum += (data[i]! << 8) | data[i + 1]!;
    i += 2;
  }
  if (i < end) sum += data[i]! << 8;
  return sum;
}

/** Folds an unfolded sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  if (sum <= 0x7fffffff) {
    // The common case stays in 32-bit integer registers: two folds bring any int32 to 16 bits.
    sum = (sum & 0xffff) + (sum >>> 16);
    return (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

/** The checksum field value for the bytes (the complement of their folded sum). */
export function internetChecksum(data: Uint8Array, start: number, len: number): number {
  return ~foldSum(sumWords(data, start, len)) & 0xffff;
}

/**
 * Sum of the IPv4 pseudo-header: source and destination (taken from the
 * IPv4 header at `ipStart`), protocol and the transport length.
 */
export function pseudoSumV4(data: Uint8Array, ipStart: number, proto: number, len: number): number {
  return sumWords(data, ipStart + 12, 8) + proto + len;
}

/**
 * Sum of the IPv6 pseudo-header from two 16-byte addresses in `data`
 * (the destination may come from a routing header, hence two offsets).
 */
export function pseudoSumV6(
  data: Uint8Array,
  srcStart: number,
  dstData: Uint8Array,
  dstStart: number,
  proto: number,
  len: number,
): number {
  return sumWords(data, srcStart, 16) + sumWords(dstData, dstStart, 16) + proto +
    Math.floor(len / 65536) + (len & 0xffff);
}

/**
 * Sum of the pseudo-header built from addresses held as eight big-endian
 * 32-bit words (source 0–3, destination 4–7; IPv4 in words 3 and 7), as
 * `DecodedPacket.addr` holds them.
 */
export function pseudoSumWords(
  addr: Uint32Array,
  ipv6: boolean,
  proto: number,
  len: number,
): number {
  let sum = proto + Math.floor(len / 65536) + (len & 0xffff);
  if (!ipv6) {
    const s = addr[3]!;
    const d = addr[7]!;
    return sum + (s >>> 16) + (s & 0xffff) + (d >>> 16) + (d & 0xffff);
  }
  for (let i = 0; i < 8; i++) {
    const w = addr[i]!;
    sum += (w >>> 16) + (w & 0xffff);
  }
  return sum;
}

/** True when the bytes, with `pseudoSum` added, sum to 0xffff (i.e. the stored checksum is right). */
export function verifiesTo(
  pseudoSum: number,
  data: Uint8Array,
  start: number,
  len: number,
): boolean {
  return foldSum(pseudoSum + sumWords(data, start, len)) === 0xffff;
}
