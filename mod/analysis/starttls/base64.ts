/**
 * Zeek's `decode_base64` (Z: src/Base64.cc), for POP3's AUTH lines and
 * FTP's ADAT tokens: `=` counts as a zero digit and marks padding, any
 * other character outside the alphabet makes the whole decoding fail
 * (`base64_illegal_encoding`, reported once), as do groups after padding;
 * an unfinished last group is padded with zero bits
 * (`incomplete base64 group`, reported, the bytes still returned).
 *
 * @module
 */

const TABLE: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  t[61] = 0;
  return t;
})();

const EQUALS = 61;

/**
 * Decodes `data`; undefined when Zeek's decoder reports it as errored.
 * `weird` receives `base64_illegal_encoding` and its message.
 */
export function decodeBase64(
  data: Uint8Array,
  weird: (name: string, addl: string) => void,
): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((data.length + 3) / 4) * 3);
  const group = [0, 0, 0, 0];
  let next = 0;
  let padding = 0;
  let afterPadding = false;
  let errored = 0;
  let n = 0;
  const illegal = (message: string) => {
    if (++errored === 1) weird("base64_illegal_encoding", message);
  };
  const take = (c: number) => {
    if (next === 4) {
      if (afterPadding) {
        illegal("extra base64 groups after '=' padding are ignored");
        next = 0;
      } else {
        const bits = (group[0]! << 18) | (group[1]! << 12) | (group[2]! << 6) | group[3]!;
        const octets = 3 - padding;
        if (octets >= 1) out[n++] = (bits >> 16) & 0xff;
        if (octets >= 2) out[n++] = (bits >> 8) & 0xff;
        if (octets >= 3) out[n++] = bits & 0xff;
        if (padding > 0) afterPadding = true;
        next = 0;
        padding = 0;
      }
    }
    if (c < 0) return;
    if (c === EQUALS) padding++;
    const k = TABLE[c]!;
    if (k >= 0) group[next++] = k;
    else illegal(`character ${c} ignored by Base64 decoding`);
  };
  for (const c of data) take(c);
  take(-1);
  if (errored > 0) return undefined;
  if (next !== 0) {
    weird(
      "base64_illegal_encoding",
      `incomplete base64 group, padding with ${(4 - next) * 6} bits of 0`,
    );
    while (next < 4) take(EQUALS);
    take(-1);
  }
  return out.subarray(0, n);
}
