/**
 * The native libraries weir uses, through `Deno.dlopen`: typed, owned
 * wrappers of libc (sockets, mmap, poll), libzmq, libpcap, zlib and libcrypto
 * (X.509 certificates as Zeek reads them). Raw symbols never leave this
 * folder; library names and the install hint live in `libraries.ts`.
 *
 * ```ts
 * import { LibraryMissingError, zmqVersion } from "./mod.ts";
 *
 * try {
 *   console.log(zmqVersion());
 * } catch (error) {
 *   if (error instanceof LibraryMissingError) console.error(error.message);
 * }
 * ```
 *
 * @module
 */

export {
  LIBC,
  LIBCRYPTO,
  LIBPCAP,
  LibraryMissingError,
  type LibrarySpec,
  LIBZ,
  LIBZMQ,
} from "./libraries.ts";
export {
  type Asn1StringReading,
  type BasicConstraintsReading,
  EVP_PKEY_DSA,
  EVP_PKEY_EC,
  EVP_PKEY_RSA,
  type ExtensionReading,
  GEN,
  type GeneralNameReading,
  libcryptoVersion,
  NID_BASIC_CONSTRAINTS,
  NID_SUBJECT_ALT_NAME,
  type PublicKeyReading,
  readX509,
  V_ASN1_GENERALIZEDTIME,
  V_ASN1_IA5STRING,
  V_ASN1_UTCTIME,
  type X509Reading,
} from "./libcrypto.ts";
export { INFLATE_CHUNK, MAX_WBITS, Z_DATA_ERROR, Z_OK, Z_STREAM_END, ZStream } from "./libz.ts";
export {
  type BorrowedMessage,
  type CurveKeyPair,
  curveKeyPair,
  curvePublicKey,
  isZ85Key,
  MONITOR_EVENTS,
  parseMonitorEvent,
  tcpEndpoint,
  yieldToEventLoop,
  z85Encode,
  ZMQ_OPTION,
  ZmqContext,
  ZmqError,
  zmqHasCurve,
  ZmqReactor,
  type ZmqSocket,
  zmqVersion,
} from "./libzmq.ts";
export {
  type CheckedForwarderCounters,
  type ForwarderOptions,
  type ForwarderStatistics,
  type SenderRule,
  ZmqCheckedForwarder,
  ZmqForwarder,
} from "./zmq_forwarder.ts";
export {
  type CompiledFilter,
  compileFilter,
  FilterProgram,
  type FilterTarget,
  filterTarget,
  NEXT_END_OF_FILE,
  PacketBuffer,
  PCAP_STATUS,
  PcapError,
  PcapHandle,
  PcapPacketHeader,
  type PcapStats,
  pcapVersion,
} from "./libpcap.ts";
export {
  FdWaiter,
  IFF_UP,
  interfaceIndex,
  mallocInUse,
  OwnedSocket,
  POLL_EVENTS,
  releaseFreeMemory,
  SharedMapping,
  SO_ATTACH_FILTER,
  SOL_SOCKET,
  SystemCallError,
} from "./libc.ts";
