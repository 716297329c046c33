/**
 * Zeek's `decode_netbios_name` (Z: src/analyzer/protocol/netbios/functions.bif),
 * which dns.log applies to the query of a request whose responder port is
 * 137/udp.
 *
 * @module
 */

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isPunct(c: number): boolean {
  return c > 0x20 && c < 0x7f && !isAlnum(c);
}

/**
 * The 16 bytes a 32-letter `A`–`P` NetBIOS name encodes, kept while they
 * are alphanumeric, punctuation, space or below 3, without the 16th
 * (suffix) byte and without trailing spaces and NULs; `""` when `name` is
 * not such an encoding (the caller then keeps the name as it was).
 */
export function decodeNetbiosName(name: string): string {
  if (name.length !== 32) return "";
  const buf = new Array<number>(16);
  let length = 0;
  for (let i = 0, j = 0; i < 16; i++) {
    const c0 = upper(name.charCodeAt(j++));
    const c1 = upper(name.charCodeAt(j++));
    if (c0 < 0x41 || c0 > 0x50 || c1 < 0x41 || c1 > 0x50) return "";
    const b = ((c0 - 0x41) << 4) + (c1 - 0x41);
    buf[i] = b;
    if (isAlnum(b) || isPunct(b) || b === 0x20 || b < 3) length++;
    else break;
  }
  if (length === 16) length = 15;
  while (length > 0 && (buf[length - 1] === 0x20 || buf[length - 1] === 0)) length--;
  return String.fromCharCode(...buf.slice(0, length));
}

function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 32 : c;
}
