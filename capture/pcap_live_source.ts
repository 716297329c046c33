/**
 * Live capture through libpcap (`pcap::eth1`), for interfaces and setups
 * where weir's own AF_PACKET ring does not fit. Packets are copied out of
 * libpcap one `pcap_next_ex` at a time into one preallocated buffer (plain
 * `memcpy` on numeric addresses, nothing allocated per packet) and handed
 * out in batches. The handle is nonblocking; when it has nothing, the
 * source waits in a nonblocking `poll` on libpcap's descriptor, so the
 * event loop stays free.
 *
 * The research note measured this route at 4–5× the CPU per packet of the
 * AF_PACKET ring, so it does not join fanout groups and is meant for one
 * process per interface. libpcap re-inserts VLAN tags the kernel stripped,
 * so tags arrive inside the frame.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  FdWaiter,
  IFF_UP,
  interfaceIndex,
  LibraryMissingError,
  NEXT_END_OF_FILE,
  OwnedSocket,
  PacketBuffer,
  PCAP_STATUS,
  PcapError,
  PcapHandle,
  PcapPacketHeader,
  type PcapStats,
} from "../ffi/mod.ts";
import { FilterSyntaxError } from "./bpf.ts";
import {
  CapturePermissionError,
  CaptureSetupError,
  InterfaceDownError,
  InterfaceNotFoundError,
} from "./capture_errors.ts";
import {
  type Borrowed,
  DEFAULT_BATCH_CAPACITY,
  lend,
  PacketBatch,
  type PacketSource,
  type SourceStats,
} from "./packet_source.ts";

/** libpcap's default and largest snap length. */
export const DEFAULT_PCAP_SNAPLEN = 262144;
/** Bytes of packet data one batch can hold (at least two snap lengths). */
export const DEFAULT_PCAP_BATCH_BYTES = 4 * 1024 * 1024;
const POLL_TIMEOUT_MS = 100;
const YIELD_INTERVAL_MS = 10;
const AF_INET = 2;
const SOCK_DGRAM = 2;

/** Options of `openPcapLive`. */
export interface PcapLiveSourceOptions {
  /** Bytes kept of each packet (default 262144). */
  readonly snaplen?: number;
  /** Promiscuous mode (default true). */
  readonly promiscuous?: boolean;
  /** Kernel buffer in bytes (default libpcap's). */
  readonly bufferSize?: number;
  /** libpcap's packet buffer timeout in milliseconds (default 10). */
  readonly timeoutMs?: number;
  /** A BPF filter expression, applied with `pcap_setfilter`. */
  readonly filter?: string;
  /** Packets per batch (default 4096). */
  readonly batchCapacity?: number;
  /** Bytes of packet data per batch (default 4 MiB). */
  readonly batchBytes?: number;
}

/** Fails early with the error an operator acts on, before libpcap's more generic ones. */
function checkInterface(device: string): void {
  if (interfaceIndex(device) === 0) throw new InterfaceNotFoundError(device);
  using probe = OwnedSocket.open(AF_INET, SOCK_DGRAM, 0, `Cannot check interface "${device}"`);
  const flags = probe.interfaceFlags(device, `Cannot check interface "${device}"`);
  if ((flags & IFF_UP) === 0) throw new InterfaceDownError(device);
}

function translate(device: string, error: unknown): unknown {
  if (!(error instanceof PcapError)) return error;
  switch (error.status) {
    case PCAP_STATUS.PERM_DENIED:
    case PCAP_STATUS.PROMISC_PERM_DENIED:
      return new CapturePermissionError(device, error.message, { cause: error });
    case PCAP_STATUS.NO_SUCH_DEVICE:
      return new InterfaceNotFoundError(device, { cause: error });
    case PCAP_STATUS.IFACE_NOT_UP:
      return new InterfaceDownError(device, { cause: error });
    default:
      return new CaptureSetupError(device, error.message, { cause: error });
  }
}

/**
 * Opens a libpcap live capture on `device`.
 *
 * @throws CapturePermissionError, InterfaceNotFoundError, InterfaceDownError,
 *   FilterSyntaxError, CaptureSetupError, LibraryMissingError.
 */
export function openPcapLive(device: string, options: PcapLiveSourceOptions = {}): PcapLiveSource {
  const snaplen = options.snaplen ?? DEFAULT_PCAP_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 64 || snaplen > DEFAULT_PCAP_SNAPLEN) {
    throw new RangeError(
      `Cannot capture with libpcap snaplen ${snaplen}: use 64 … ${DEFAULT_PCAP_SNAPLEN}`,
    );
  }
  const capacity = options.batchCapacity ?? DEFAULT_BATCH_CAPACITY;
  const bytes = Math.max(options.batchBytes ?? DEFAULT_PCAP_BATCH_BYTES, 2 * snaplen);
  checkInterface(device);
  using stack = new DisposableStack();
  let handle: PcapHandle;
  try {
    handle = stack.use(PcapHandle.openLive(device, {
      snaplen,
      promiscuous: options.promiscuous ?? true,
      timeoutMs: options.timeoutMs ?? 10,
      ...(options.bufferSize === undefined ? {} : { bufferSize: options.bufferSize }),
    }));
  } catch (error) {
    if (error instanceof LibraryMissingError) throw error;
    throw translate(device, error);
  }
  if (options.filter !== undefined) {
    try {
      handle.setFilter(options.filter);
    } catch (error) {
      if (error instanceof PcapError) {
        throw new FilterSyntaxError(options.filter, error.detail, { cause: error });
      }
      throw error;
    }
  }
  handle.setNonblocking(true);
  const fd = handle.selectableFd();
  if (fd < 0) {
    throw new CaptureSetupError(
      device,
      `Cannot capture on interface "${device}" with libpcap: it offers no descriptor to wait on`,
    );
  }
  const waiter = stack.use(new FdWaiter([fd]));
  const source = new PcapLiveSource(device, handle, waiter, capacity, bytes, snaplen);
  stack.move();
  return source;
}

/** A libpcap live capture as a `PacketSource`; get one from `openPcapLive`. */
export class PcapLiveSource implements PacketSource {
  readonly name: string;
  readonly device: string;
  /** libpcap's LINKTYPE_* for the interface. */
  readonly linkType: number;
  readonly #handle: PcapHandle;
  readonly #waiter: FdWaiter;
  readonly #batch: PacketBatch;
  readonly #buffer: PacketBuffer;
  readonly #header = new PcapPacketHeader();
  readonly #snaplen: number;
  #lastYield = performance.now();
  #closed = false;
  #received = 0;
  #bytes = 0;
  #last: PcapStats = Object.freeze({ received: 0, dropped: 0, ifDropped: 0 });

  /** @internal Use `openPcapLive`. */
  constructor(
    device: string,
    handle: PcapHandle,
    waiter: FdWaiter,
    capacity: number,
    bytes: number,
    snaplen: number,
  ) {
    this.name = `pcap::${device}`;
    this.device = device;
    this.#handle = handle;
    this.#waiter = waiter;
    this.#batch = new PacketBatch(capacity);
    this.#buffer = new PacketBuffer(bytes);
    this.#snaplen = snaplen;
    this.linkType = handle.datalink;
  }

  /** A warning libpcap gave on activation (promiscuous mode not supported, …). */
  get warning(): string | undefined {
    return this.#handle.warning;
  }

  async next(): Promise<Borrowed<PacketBatch> | null> {
    const batch = this.#batch;
    batch.count = 0;
    for (;;) {
      if (this.#closed) return null;
      this.#fill(batch);
      if (batch.count > 0) {
        if (performance.now() - this.#lastYield > YIELD_INTERVAL_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.#lastYield = performance.now();
          if (this.#closed) return null;
        }
        return lend(batch);
      }
      await this.#waiter.wait(POLL_TIMEOUT_MS);
      this.#lastYield = performance.now();
    }
  }

  #fill(batch: PacketBatch): void {
    const handle = this.#handle;
    const buffer = this.#buffer;
    const header = this.#header;
    const limit = buffer.bytes.length - this.#snaplen;
    const capacity = batch.capacity;
    const linkType = this.linkType;
    let n = 0;
    let offset = 0;
    let bytes = 0;
    while (n < capacity && offset <= limit) {
      const status = handle.nextInto(buffer, offset, header);
      if (status !== 1) {
        if (status === NEXT_END_OF_FILE) this.close();
        break;
      }
      batch.tsSec[n] = header.sec;
      batch.tsNsec[n] = header.fraction * 1000;
      batch.caplen[n] = header.caplen;
      batch.wireLen[n] = header.wireLen;
      batch.offset[n] = offset;
      batch.linkType[n] = linkType;
      batch.iface[n] = 0;
      batch.vlan[n] = 0;
      bytes += header.wireLen;
      offset += (header.caplen + 7) & ~7;
      n++;
    }
    this.#received += n;
    this.#bytes += bytes;
    batch.data = buffer.bytes;
    batch.count = n;
  }

  /** `received` handed out; `dropped` and `link` as libpcap counts them (`ps_drop`, `ps_recv`). */
  stats(): SourceStats {
    if (!this.#closed) {
      try {
        this.#last = this.#handle.stats();
      } catch {
        // The last good counters stand; a closing handle has nothing newer.
      }
    }
    return Object.freeze({
      received: this.#received,
      dropped: this.#last.dropped,
      ifDropped: this.#last.ifDropped,
      link: this.#last.received,
      bytes: this.#bytes,
      warning: this.#handle.warning,
    });
  }

  /** Ends a pending `next()` and closes the handle. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.stats();
    this.#closed = true;
    this.#batch.count = 0;
    this.#waiter.close();
    this.#handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
