/**
 * TCP stream reassembly with Zeek's rules: relative sequence numbers,
 * first-arrival-wins overlaps, holes declared when the peer acknowledges
 * past them, FIN and RST handling, Zeek's limits and their weirds, and
 * memory bounded per connection and per pipeline.
 *
 * One `ReassemblyMemory` per pipeline; one `TcpStreams` per connection that
 * has an analyzer, fed every packet of the connection:
 *
 * ```ts
 * import { ReassemblyMemory, TcpStreams } from "./mod.ts";
 * import { DecodedPacket } from "../../../capture/mod.ts";
 *
 * const memory = new ReassemblyMemory({ maxBytes: 64 * 1024 * 1024 });
 * const streams = new TcpStreams({
 *   stream: (data, isOrig) => console.log(isOrig ? ">" : "<", data.length),
 *   undelivered: (seq, len, isOrig) => console.log("gap", seq, len, isOrig),
 *   closed: (isOrig) => console.log("closed", isOrig),
 *   weird: (name, _addl, source) => console.log("weird", name, source),
 * }, memory);
 * const packet = new DecodedPacket(); // filled by the decoder for each packet of the connection
 * streams.packet(packet, true);
 * streams.close(); // the connection was removed
 * console.log(memory.stats());
 * ```
 *
 * @module
 */

export {
  DEFAULT_REASSEMBLY_CONNECTION_MAX_BYTES,
  DEFAULT_REASSEMBLY_MAX_BYTES,
  ReassemblyMemory,
  type ReassemblyMemoryOptions,
  type ReassemblyMemoryStats,
  SEGMENT_OVERHEAD_BYTES,
} from "./reassembly_memory.ts";
export {
  DEFAULT_TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS,
  DEFAULT_TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS,
  DEFAULT_TCP_MAX_INITIAL_WINDOW,
  DEFAULT_TCP_STREAM_OPTIONS,
  type TcpStreamOptions,
  TcpStreams,
  type TcpStreamSink,
  type TcpStreamStats,
} from "./tcp_streams.ts";
