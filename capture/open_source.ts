/**
 * Opens the packet source an operator named: an interface string as Zeek
 * writes it (`af_packet::eth1`, `pcap::eth1`, or a plain name, which means
 * AF_PACKET in weir because AF_PACKET is what spreads flows over workers),
 * or a trace file, with the same BPF filter applied to each kind.
 *
 * @module
 */

import { type AfPacketOptions, type AfPacketSettings, openAfPacket } from "./af_packet_source.ts";
import { compileBpf, filterSource } from "./bpf.ts";
import type { PacketSource } from "./packet_source.ts";
import { openPcapFile, type PcapFileOptions } from "./pcap_file.ts";
import { openPcapLive } from "./pcap_live_source.ts";

/** Which live source an interface string selects, and on which device. */
export interface InterfaceSpec {
  readonly method: "af_packet" | "pcap";
  readonly device: string;
}

/** The interface string is not one weir can capture on. */
export class InterfaceSyntaxError extends Error {
  readonly text: string;
  constructor(text: string, problem: string) {
    super(`Cannot capture on "${text}": ${problem}`);
    this.name = "InterfaceSyntaxError";
    this.text = text;
  }
}

/** Linux device names have at most IFNAMSIZ − 1 characters. */
const MAX_DEVICE_NAME = 15;

/**
 * Parses `af_packet::eth1`, `pcap::eth1` or `eth1` (AF_PACKET).
 *
 * @throws InterfaceSyntaxError for an unknown prefix or an impossible device name.
 */
export function parseInterfaceSpec(text: string): InterfaceSpec {
  const separator = text.indexOf("::");
  const prefix = separator < 0 ? "" : text.slice(0, separator).toLowerCase();
  const device = separator < 0 ? text : text.slice(separator + 2);
  if (prefix !== "" && prefix !== "af_packet" && prefix !== "pcap") {
    throw new InterfaceSyntaxError(
      text,
      `weir has no "${prefix}" packet source; write a device name, af_packet::<device> or pcap::<device>`,
    );
  }
  if (device === "" || /[\s/:,]/.test(device)) {
    throw new InterfaceSyntaxError(
      text,
      'name one network device (no spaces, "/", ":" or ","), e.g. af_packet::eth1',
    );
  }
  if (device.length > MAX_DEVICE_NAME) {
    throw new InterfaceSyntaxError(
      text,
      `Linux device names have at most ${MAX_DEVICE_NAME} characters`,
    );
  }
  return Object.freeze({ method: prefix === "pcap" ? "pcap" : "af_packet", device });
}

/** Options for `openInterface`. */
export interface OpenInterfaceOptions {
  /** The node's `AF_Packet::*` settings (a `NodeSpec.afPacket` fits as it is). */
  readonly afPacket?: Partial<AfPacketSettings>;
  /** A BPF filter expression (tcpdump syntax), applied in the kernel or libpcap. */
  readonly filter?: string;
  /** Promiscuous mode (default true). */
  readonly promiscuous?: boolean;
  /** Packets per batch (default 4096). */
  readonly batchCapacity?: number;
  /** libpcap's snap length for `pcap::` (default 262144). */
  readonly snaplen?: number;
}

/**
 * Opens a live capture as `text` says: AF_PACKET (with the fanout group
 * and ring of `afPacket`) or libpcap.
 *
 * @throws InterfaceSyntaxError, RangeError (options), FilterSyntaxError,
 *   CapturePermissionError, InterfaceNotFoundError, InterfaceDownError,
 *   CaptureSetupError, LibraryMissingError.
 */
export function openInterface(
  text: string,
  options: OpenInterfaceOptions = {},
): Promise<PacketSource> {
  try {
    const spec = parseInterfaceSpec(text);
    if (spec.method === "pcap") {
      return Promise.resolve(openPcapLive(spec.device, {
        ...(options.filter === undefined ? {} : { filter: options.filter }),
        ...(options.promiscuous === undefined ? {} : { promiscuous: options.promiscuous }),
        ...(options.batchCapacity === undefined ? {} : { batchCapacity: options.batchCapacity }),
        ...(options.snaplen === undefined ? {} : { snaplen: options.snaplen }),
      }));
    }
    const afOptions: AfPacketOptions = {
      ...options.afPacket,
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      ...(options.promiscuous === undefined ? {} : { promiscuous: options.promiscuous }),
      ...(options.batchCapacity === undefined ? {} : { batchCapacity: options.batchCapacity }),
    };
    return Promise.resolve(openAfPacket(spec.device, afOptions));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Options for `openTrace`: the file reader's, plus a filter. */
export interface OpenTraceOptions extends PcapFileOptions {
  /** A BPF filter expression; each packet is run through it with `pcap_offline_filter`. */
  readonly filter?: string;
}

/**
 * Opens a pcap or pcapng file; with a filter, only matching packets come out.
 *
 * @throws FilterSyntaxError before the file is opened when the filter does not compile.
 * @throws TraceOpenError, TraceFormatError for the file.
 */
export async function openTrace(
  path: string,
  options: OpenTraceOptions = {},
): Promise<PacketSource> {
  const { filter, ...fileOptions } = options;
  if (filter !== undefined) compileBpf(filter);
  const source = await openPcapFile(path, fileOptions);
  if (filter === undefined) return source;
  try {
    return filterSource(source, filter);
  } catch (error) {
    source.close();
    throw error;
  }
}
