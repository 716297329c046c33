/**
 * The native libraries weir uses, through `Deno.dlopen`: typed, owned
 * wrappers of libc (sockets, mmap, poll), libzmq, libpcap and zlib. Raw symbols
 * never leave this folder; library names and the install hint live in
 * `libraries.ts`.
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

export { LIBC, LIBPCAP, LibraryMissingError, type LibrarySpec, LIBZ, LIBZMQ } from "./libraries.ts";
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
  OwnedSocket,
  POLL_EVENTS,
  SharedMapping,
  SO_ATTACH_FILTER,
  SOL_SOCKET,
  SystemCallError,
} from "./libc.ts";
