/**
 * Zeek's value types and their text forms: the type descriptors (`T.*`)
 * that drive the codecs, log schemas and validation, and the parsing and
 * printing of addr, subnet and port as Zeek writes them. The bottom layer:
 * it imports nothing from the rest of weir, so config/, capture/ and mod/
 * can all build on it.
 *
 * @example
 * ```ts
 * import { formatAddr, parseAddr, parseSubnet, T, typeName } from "./zeek/mod.ts";
 *
 * typeName(T.table(T.addr, T.port));              // "table[addr] of port"
 * formatAddr(parseAddr("2001:DB8:0:0:0:0:0:1"));  // "2001:db8::1"
 * formatAddr(new Uint8Array([10, 0, 0, 1]), 0, 4); // "10.0.0.1"
 * parseSubnet("10.0.0.0/8").prefix;               // 104: counted in IPv6 bits
 * ```
 *
 * @module
 */

export {
  isTypedValue,
  type RecordField,
  T,
  type TypedValue,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "./types.ts";
export {
  AddrSyntaxError,
  type AddrTextKind,
  formatAddr,
  formatPort,
  formatSubnet,
  IPV4_PREFIX_OFFSET,
  isIpv4Mapped,
  maskAddr,
  parseAddr,
  parseAddrInto,
  parseIpv4Into,
  parsePort,
  parsePortPacked,
  parseSubnet,
  parseSubnetInto,
  type Port,
  PORT_PROTOS,
  type PortProto,
  type Subnet,
} from "./addr.ts";
export {
  ByteReader,
  bytesEqual,
  ByteWriter,
  DEFAULT_WRITER_CAPACITY,
  latin1LogValue,
  latin1String,
} from "./bytes.ts";
export { DEFAULT_DIGEST_SALT, fileId, formatHandleTime, HighwayHash128 } from "./file_id.ts";
