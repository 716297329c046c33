/** Test helpers shared by the codec tests: bytes spelled out. */

/** Bytes from numbers, UTF-8 text and arrays of numbers, in order. */
export function bytesOf(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else if (typeof part === "string") out.push(...new TextEncoder().encode(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

/** The 8 big-endian bytes of `value` as a u64 (an i64 wraps). */
export function u64(value: bigint): number[] {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt.asUintN(64, value));
  return Array.from(new Uint8Array(view.buffer));
}
