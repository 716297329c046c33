/**
 * Packet capture: sources that hand out borrowed batches of packets, the
 * decoder from link layer to transport header, IP fragment reassembly, the
 * symmetric flow hash that splits a trace across workers, and a generator
 * of synthetic traces for tests and benchmarks.
 *
 * Reading a trace, decoding every packet and keeping this worker's flows:
 *
 * ```ts
 * import { DecodedPacket, flowHash, openPcapFile, OUTCOME_IP, PacketDecoder, workerFor } from "./mod.ts";
 *
 * await using source = await openPcapFile("trace.pcap");
 * const decoder = new PacketDecoder({ checksums: true });
 * const packet = new DecodedPacket();
 * for (let batch = await source.next(); batch !== null; batch = await source.next()) {
 *   for (let i = 0; i < batch.count; i++) {
 *     if (decoder.decode(batch, i, packet) !== OUTCOME_IP) continue;
 *     if (workerFor(flowHash(packet), 4) !== 0) continue;
 *     // packet.addr, packet.srcPort, packet.tcpFlags … are valid until the next decode
 *   }
 * }
 * console.log(source.stats(), decoder.weirds.entries());
 * ```
 *
 * @module
 */

export {
  type Borrowed,
  DEFAULT_BATCH_CAPACITY,
  lend,
  PacketBatch,
  type PacketBatchOptions,
  type PacketSource,
  packetTime,
  type SourceStats,
} from "./packet_source.ts";
export {
  DEFAULT_MAX_CAPLEN,
  DEFAULT_READ_BUFFER_SIZE,
  openPcapFile,
  type PcapFileOptions,
  PcapFileSource,
  type TraceFileFormat,
} from "./pcap_file.ts";
export { TraceFormatError, TraceOpenError } from "./trace_errors.ts";
export {
  isSupportedLinkType,
  LINKTYPE_ETHERNET,
  LINKTYPE_FDDI,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_12,
  LINKTYPE_RAW_14,
  linkTypeName,
} from "./link_type.ts";
export {
  CHECKSUM_ABSENT,
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  CHECKSUM_UNCHECKED,
  DecodedPacket,
  formatAddress,
  MAX_TUNNEL_DEPTH,
  OUTCOME_FRAGMENT,
  OUTCOME_IP,
  OUTCOME_MALFORMED,
  OUTCOME_NOT_IP,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  TUNNEL_GENEVE,
  TUNNEL_GRE,
  TUNNEL_GTPV1,
  TUNNEL_IP,
  TUNNEL_VXLAN,
  TunnelLayer,
} from "./decoded_packet.ts";
export {
  type DecoderOptions,
  DEFAULT_MAX_TUNNEL_DEPTH,
  GENEVE_PORT,
  GTPV1_U_PORT,
  PacketDecoder,
  VXLAN_PORT,
} from "./decode.ts";
export {
  RAISED_CAPACITY,
  SOURCE_TRANSPORT,
  SOURCE_TUNNEL,
  WEIRD,
  WEIRD_NAMES,
  WeirdCounters,
  type WeirdKind,
  type WeirdName,
  ZEEK_WEIRDS,
  type ZeekWeird,
} from "./weird.ts";
export {
  DEFAULT_FRAG_MAX_BYTES,
  DEFAULT_FRAG_MAX_DATAGRAMS,
  DEFAULT_FRAG_TIMEOUT,
  FRAG_COMPLETE,
  FRAG_DROPPED,
  FRAG_HELD,
  FragmentReassembler,
  type ReassemblerOptions,
  type ReassemblerStats,
} from "./reassembly.ts";
export { flowHash, flowKeyInto, hashTuple, workerFor } from "./flow_hash.ts";
export { foldSum, internetChecksum, sumBytes, sumWords } from "./checksum.ts";
export {
  createPcapWriter,
  openPcapWriter,
  PcapWriter,
  type PcapWriterOptions,
  type TraceWriteFormat,
} from "./pcap_writer.ts";
export {
  type AfPacketChecksumMode,
  type AfPacketFanoutMode,
  type AfPacketOptions,
  type AfPacketSettings,
  AfPacketSource,
  DEFAULT_AF_PACKET_SETTINGS,
  DEFAULT_POLL_TIMEOUT_MS,
  fanoutArgument,
  openAfPacket,
} from "./af_packet_source.ts";
export {
  DEFAULT_PCAP_BATCH_BYTES,
  DEFAULT_PCAP_SNAPLEN,
  openPcapLive,
  PcapLiveSource,
  type PcapLiveSourceOptions,
} from "./pcap_live_source.ts";
export {
  attachFilter,
  compileBpf,
  type CompiledFilter,
  filterSource,
  FilterSyntaxError,
} from "./bpf.ts";
export {
  type InterfaceSpec,
  InterfaceSyntaxError,
  openInterface,
  type OpenInterfaceOptions,
  openTrace,
  type OpenTraceOptions,
  parseInterfaceSpec,
} from "./open_source.ts";
export {
  CapturePermissionError,
  CaptureSetupError,
  InterfaceDownError,
  InterfaceNotFoundError,
} from "./capture_errors.ts";
