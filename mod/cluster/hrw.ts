/**
 * Zeek's hashing for pools: fnv1a32 and highest-random-weight (rendezvous)
 * selection, bit for bit, so a key lands on the same pool member in weir as
 * in Zeek.
 *
 * @module
 */

const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;
const encoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `key` (Zeek's `fnv1a32` for strings). */
export function fnv1a32(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? encoder.encode(key) : key;
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME) >>> 0;
  return h >>> 0;
}

const HRW_A = 1103515245;
const HRW_B = 12345;

/** The weight of `site` for a key digest: `(a·((a·site + b) XOR d) + b) mod 2³¹`. */
export function hrwWeight(site: number, digest: number): number {
  const inner = (Math.imul(HRW_A, site) + HRW_B) >>> 0;
  return ((Math.imul(HRW_A, (inner ^ digest) >>> 0) + HRW_B) >>> 0) & 0x7fffffff;
}

/** Index of the site that wins for `key`; ties go to the larger site id. -1 when there is none. */
export function hrwPick(siteIds: readonly number[], key: string): number {
  const digest = fnv1a32(key) & 0x7fffffff;
  let best = -1;
  let bestWeight = -1;
  for (let i = 0; i < siteIds.length; i++) {
    const site = siteIds[i]!;
    const w = hrwWeight(site, digest);
    if (w > bestWeight || (w === bestWeight && site > siteIds[best]!)) {
      best = i;
      bestWeight = w;
    }
  }
  return best;
}
