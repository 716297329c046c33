/**
 * The Internet checksum (RFC 1071) over bytes in a Uint8Array, with the
 * IPv4 and IPv6 pseudo-headers TCP, UDP and ICMPv6 include.
 *
 * Words are assembled from byte pairs rather than read through a
 * Uint16Array or DataView: packet offsets are rarely even, and two byte
 * loads per word beat an unaligned view in V8. A JS number holds the
 * unfolded sum exactly (65535 × 2^16 words stays far below 2^53), so the
 * carries are folded once at the end.
 *
 * @module
 */

/** The unfolded sum of the 16-bit big-endian words of `data[start … start+len)`; an odd last byte is padded with zero. */
export function sumWords(data: Uint8Array, start: number, len: number): number {
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

/** True when the bytes, with `pseudoSum` added, sum to 0xffff (i.e. the stored checksum is right). */
export function verifiesTo(pseudoSum: number, data: Uint8Array, start: number, len: number): boolean {
  return foldSum(pseudoSum + sumWords(data, start, len)) === 0xffff;
}
