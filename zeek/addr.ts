/**
 * Text ⇄ bytes for Zeek's addr, subnet and port values, as Broker carries
 * them: an address is always 16 bytes, IPv4 as `::ffff:a.b.c.d`; a subnet
 * is such an address plus a prefix length counted in IPv6 bits (an IPv4 /8
 * is 104); a port is a number plus a protocol code (0 unknown, 1 tcp,
 * 2 udp, 3 icmp).
 *
 * Text forms follow Zeek: IPv4 in dotted quads (leading zeros are refused,
 * as `inet_pton` does, because they read as octal elsewhere), IPv6 per
 * RFC 5952 (lower case, longest zero run compressed), IPv4-mapped addresses
 * printed as the bare IPv4 address, ports as `80/tcp`.
 *
 * The `*Into`/`*Packed` variants write into caller-owned buffers and report
 * failure by return value, so the codecs' hot paths allocate nothing; the
 * codecs, networks.cfg and packet decoding all parse and print addresses
 * here, so a text form weir reads is one it also writes.
 *
 * @example
 * ```ts
 * formatAddr(parseAddr("2001:DB8:0:0:0:0:0:1")); // "2001:db8::1"
 * parseSubnet("10.0.0.0/8").prefix;              // 104
 * parsePort("53/udp");                           // { port: 53, proto: "udp" }
 * ```
 *
 * @module
 */

/** Which kind of text `AddrSyntaxError` was asked to parse. */
export type AddrTextKind = "addr" | "subnet" | "port";

const ADDR_TEXT_FORMS: Readonly<Record<AddrTextKind, string>> = Object.freeze({
  addr: "a dotted IPv4 address (10.0.0.1) or an IPv6 address (2001:db8::1)",
  subnet: "an address, a slash and a prefix length (10.0.0.0/8, 2001:db8::/32)",
  port: "a number up to 65535, a slash and tcp, udp, icmp or unknown (80/tcp)",
});

const MAX_QUOTED = 40;

/** Text is not a valid Zeek addr, subnet or port. */
export class AddrSyntaxError extends SyntaxError {
  override readonly name = "AddrSyntaxError";
  readonly kind: AddrTextKind;
  readonly text: string;

  constructor(kind: AddrTextKind, text: string) {
    const shown = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
    super(
      `Cannot parse ${JSON.stringify(shown)} as a Zeek ${kind}: expected ${ADDR_TEXT_FORMS[kind]}`,
    );
    this.kind = kind;
    this.text = text;
  }
}

/** A port's transport protocol, in Zeek's spelling. */
export type PortProto = "unknown" | "tcp" | "udp" | "icmp";

/** Protocol names indexed by their broker-bin-v1 code. */
export const PORT_PROTOS: readonly PortProto[] = Object.freeze(["unknown", "tcp", "udp", "icmp"]);

/** A parsed port. */
export interface Port {
  readonly port: number;
  readonly proto: PortProto;
}

/** A parsed subnet: the network address (host bits cleared) and its prefix in IPv6 bits. */
export interface Subnet {
  readonly addr: Uint8Array;
  readonly prefix: number;
}

/** Bits of an IPv4 address inside its IPv4-mapped IPv6 form. */
export const IPV4_PREFIX_OFFSET = 96;

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DOT = 46;
const CHAR_COLON = 58;
const MAX_ADDR_TEXT = 45; // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

/** Parses an address into a new 16-byte array; throws `AddrSyntaxError`. */
export function parseAddr(text: string): Uint8Array {
  const out = new Uint8Array(16);
  if (!parseAddrInto(text, out, 0)) throw new AddrSyntaxError("addr", text);
  return out;
}

/** Parses an address into `out[offset..offset+16)`; false (and garbage in `out`) when invalid. */
export function parseAddrInto(text: string, out: Uint8Array, offset: number): boolean {
  if (text.length === 0 || text.length > MAX_ADDR_TEXT) return false;
  if (text.indexOf(":") < 0) {
    out.fill(0, offset, offset + 10);
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    return parseIpv4(text, 0, text.length, out, offset + 12);
  }
  return parseIpv6(text, out, offset);
}

/** Parses a dotted-quad IPv4 address into the 4 bytes at `out[at]`; false when it is not one. */
export function parseIpv4Into(text: string, out: Uint8Array, at: number): boolean {
  return text.length <= 15 && parseIpv4(text, 0, text.length, out, at);
}

/** True when the 16 bytes at `offset` are an IPv4-mapped address (`::ffff:a.b.c.d`). */
export function isIpv4Mapped(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

/**
 * Formats the address in `bytes[offset..offset+length)`: 4 bytes (an IPv4
 * header's) as a dotted quad; 16 bytes as a dotted quad when IPv4-mapped,
 * else as RFC 5952 IPv6. Allocates only the returned string.
 */
export function formatAddr(bytes: Uint8Array, offset = 0, length: 4 | 16 = 16): string {
  if (length === 4) return formatIpv4(bytes, offset);
  if (isIpv4Mapped(bytes, offset)) return formatIpv4(bytes, offset + 12);
  return formatIpv6(bytes, offset);
}

/** Parses `addr/len` text; the prefix is returned in IPv6 bits and host bits are cleared. */
export function parseSubnet(text: string): Subnet {
  const addr = new Uint8Array(16);
  const prefix = parseSubnetInto(text, addr, 0);
  if (prefix < 0) throw new AddrSyntaxError("subnet", text);
  return { addr, prefix };
}

/**
 * Parses `addr/len` text into `out[offset..offset+16)` with host bits
 * cleared, returning the prefix in IPv6 bits, or -1 when invalid.
 */
export function parseSubnetInto(text: string, out: Uint8Array, offset: number): number {
  const slash = text.lastIndexOf("/");
  if (slash <= 0) return -1;
  const length = parseDecimal(text, slash + 1, text.length, 128);
  if (length < 0) return -1;
  const addrText = text.slice(0, slash);
  if (!parseAddrInto(addrText, out, offset)) return -1;
  let prefix = length;
  if (addrText.indexOf(":") < 0) {
    if (length > 32) return -1;
    prefix += IPV4_PREFIX_OFFSET;
  }
  maskAddr(out, offset, prefix);
  return prefix;
}

/** Clears the bits after the first `prefix` bits of the 16 bytes at `offset`. */
export function maskAddr(bytes: Uint8Array, offset: number, prefix: number): void {
  const full = prefix >>> 3;
  const rest = prefix & 7;
  if (full >= 16) return;
  let i = full;
  if (rest !== 0) {
    bytes[offset + i] = (bytes[offset + i] ?? 0) & (0xff << (8 - rest));
    i++;
  }
  bytes.fill(0, offset + i, offset + 16);
}

/**
 * Formats a subnet from its 16 address bytes and IPv6-bit prefix:
 * `10.0.0.0/8` for IPv4-mapped networks, `2001:db8::/32` otherwise.
 */
export function formatSubnet(bytes: Uint8Array, prefix: number, offset = 0): string {
  if (isIpv4Mapped(bytes, offset)) {
    if (prefix >= IPV4_PREFIX_OFFSET) {
      return `${formatAddr(bytes, offset)}/${prefix - IPV4_PREFIX_OFFSET}`;
    }
    // A network wider than the IPv4 range has no dotted form.
    return `${formatIpv6(bytes, offset)}/${prefix}`;
  }
  return `${formatIpv6(bytes, offset)}/${prefix}`;
}

/** Parses `80/tcp` (also `0/?`, Broker's spelling of unknown); throws `AddrSyntaxError`. */
export function parsePort(text: string): Port {
  const packed = parsePortPacked(text);
  if (packed < 0) throw new AddrSyntaxError("port", text);
  return { port: packed & 0xffff, proto: PORT_PROTOS[packed >>> 16] ?? "unknown" };
}

/** Parses port text to `number | code << 16`, or -1 when invalid. */
export function parsePortPacked(text: string): number {
  const slash = text.indexOf("/");
  if (slash <= 0) return -1;
  const port = parseDecimal(text, 0, slash, 0xffff);
  if (port < 0) return -1;
  const code = protoCode(text, slash + 1);
  return code < 0 ? -1 : port | (code << 16);
}

/** Formats a port from its number and protocol name or code (`0/unknown` for unknown). */
export function formatPort(port: number, proto: PortProto | number): string {
  const name = typeof proto === "number" ? (PORT_PROTOS[proto] ?? "unknown") : proto;
  return `${port}/${name}`;
}

function protoCode(text: string, start: number): number {
  switch (text.length - start) {
    case 1:
      return text.charCodeAt(start) === 63 /* ? */ ? 0 : -1;
    case 3:
      if (text.startsWith("tcp", start)) return 1;
      if (text.startsWith("udp", start)) return 2;
      return -1;
    case 4:
      return text.startsWith("icmp", start) ? 3 : -1;
    case 7:
      return text.startsWith("unknown", start) ? 0 : -1;
    default:
      return -1;
  }
}

/** Decimal digits in `text[start..end)` without leading zeros, at most `max`; -1 otherwise. */
function parseDecimal(text: string, start: number, end: number, max: number): number {
  if (end <= start || end - start > 5) return -1;
  if (text.charCodeAt(start) === CHAR_0 && end - start > 1) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < CHAR_0 || c > CHAR_9) return -1;
    value = value * 10 + (c - CHAR_0);
  }
  return value > max ? -1 : value;
}

function parseIpv4(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= CHAR_0 && c <= CHAR_9) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - CHAR_0);
      if (value > 255) return false;
      digits++;
    } else if (c === CHAR_DOT) {
      if (digits === 0 || parts === 3) return false;
      out[at + parts++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (digits === 0 || parts !== 3) return false;
  out[at + 3] = value;
  return true;
}

function hexValue(c: number): number {
  if (c >= CHAR_0 && c <= CHAR_9) return c - CHAR_0;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

// Scratch for the groups of one IPv6 parse; parsing never yields, so one suffices.
const groups = new Uint16Array(8);

function parseIpv6(text: string, out: Uint8Array, offset: number): boolean {
  const end = text.length;
  let i = 0;
  let count = 0;
  let gap = -1;
  if (text.charCodeAt(0) === CHAR_COLON) {
    if (text.charCodeAt(1) !== CHAR_COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const start = i;
    let value = 0;
    while (i < end) {
      const digit = hexValue(text.charCodeAt(i));
      if (digit < 0) break;
      value = value * 16 + digit;
      i++;
    }
    if (i === start) return false;
    if (i < end && text.charCodeAt(i) === CHAR_DOT) {
      // An IPv4 tail fills the last two groups.
      if (count > 6) return false;
      const at = offset + 12;
      if (!parseIpv4(text, start, end, out, at)) return false;
      groups[count++] = ((out[at] ?? 0) << 8) | (out[at + 1] ?? 0);
      groups[count++] = ((out[at + 2] ?? 0) << 8) | (out[at + 3] ?? 0);
      i = end;
      break;
    }
    if (i - start > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== CHAR_COLON) return false;
    i++;
    if (i === end) return false;
    if (text.charCodeAt(i) === CHAR_COLON) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  out.fill(0, offset, offset + 16);
  const tail = gap < 0 ? 0 : count - gap;
  const head = count - tail;
  for (let g = 0; g < head; g++) writeGroup(out, offset + 2 * g, groups[g] ?? 0);
  for (let g = 0; g < tail; g++) {
    writeGroup(out, offset + 16 - 2 * (tail - g), groups[head + g] ?? 0);
  }
  return true;
}

function writeGroup(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value & 0xff;
}

function formatIpv4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function formatIpv6(bytes: Uint8Array, offset: number): string {
  let best = -1;
  let bestLength = 1;
  let run = -1;
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && bytes[offset + 2 * g] === 0 && bytes[offset + 2 * g + 1] === 0;
    if (zero) {
      if (run < 0) run = g;
    } else if (run >= 0) {
      if (g - run > bestLength) {
        best = run;
        bestLength = g - run;
      }
      run = -1;
    }
  }
  let text = "";
  for (let g = 0; g < 8; g++) {
    if (g === best) {
      text += "::";
      g += bestLength - 1;
      continue;
    }
    if (g > 0 && g !== best + bestLength) text += ":";
    text += (((bytes[offset + 2 * g] ?? 0) << 8) | (bytes[offset + 2 * g + 1] ?? 0)).toString(16);
  }
  return text;
}
