/**
 * The one interface every packet source implements (pcap files, AF_PACKET
 * rings, libpcap live handles), and the batch they hand packets out in.
 *
 * A batch is a struct of parallel typed arrays describing packets that lie
 * somewhere in one `data` buffer: the file reader's read buffer, or the
 * mmapped TPACKET_V3 ring. Nothing is copied and nothing is allocated per
 * packet; in exchange the views are borrowed and go stale at the next
 * `next()` call.
 *
 * @module
 */

declare const borrowedBrand: unique symbol;

/**
 * A value lent by its owner until the owner's next call (for a packet batch:
 * until the next `PacketSource.next()` or `close()`). Copy what must live
 * longer; never keep the object or a subarray of its buffer.
 */
export type Borrowed<T> = T & { readonly [borrowedBrand]: true };

/** How many packets a batch can describe unless the source asks for another size. */
export const DEFAULT_BATCH_CAPACITY = 4096;

const EMPTY = new Uint8Array(0);

/** What a source asks of the batch it fills, beyond its capacity. */
export interface PacketBatchOptions {
  /** Carry `checksumVouched` (only a source that learns it from the kernel asks). */
  readonly checksumVouched?: boolean;
}

/**
 * Packets `0 … count-1`, each at `data[offset[i] … offset[i] + caplen[i])`.
 * Sources reuse one batch for the whole capture and may point `data` at a
 * different buffer for each batch (a ring has one view per block, a file
 * reader may grow its buffer), so read `data` once per batch, not once per
 * capture.
 */
export class PacketBatch {
  /** How many packets the arrays can hold. */
  readonly capacity: number;
  /** How many packets this batch holds. */
  count = 0;
  /** The buffer every `offset` points into. */
  data: Uint8Array = EMPTY;
  /** Whole seconds of the capture timestamp (may exceed 2^32). */
  readonly tsSec: Float64Array;
  /** Nanoseconds within the second, 0 … 999 999 999. */
  readonly tsNsec: Uint32Array;
  /** Bytes present in `data` for the packet. */
  readonly caplen: Uint32Array;
  /** Bytes the packet had on the wire (≥ caplen when the snap length cut it). */
  readonly wireLen: Uint32Array;
  /** Where the packet's first byte (link layer included) is in `data`. */
  readonly offset: Uint32Array;
  /** LINKTYPE_* of the packet (pcapng lets it vary by interface). */
  readonly linkType: Uint16Array;
  /** Interface index within the source (pcapng IDB number; 0 otherwise). */
  readonly iface: Uint32Array;
  /**
   * The VLAN id a NIC or the kernel stripped from the frame and reported
   * out of band (AF_PACKET's `tp_vlan_tci`); 0 when the frame carries its
   * tags itself or has none.
   */
  readonly vlan: Uint16Array;
  /**
   * Per packet, 1 when the capture layer vouches for the transport checksum,
   * so bytes that do not sum must not count against the connection; 0 when
   * the bytes are to be judged. Only AF_PACKET knows this (from the ring's
   * per-packet status); sources that do not leave it undefined.
   */
  readonly checksumVouched: Uint8Array | undefined;

  constructor(capacity: number = DEFAULT_BATCH_CAPACITY, options: PacketBatchOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new RangeError(
        `Cannot create a packet batch of capacity ${capacity}: use an integer from 1 to ${1 << 24}`,
      );
    }
    this.capacity = capacity;
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Uint32Array(capacity);
    this.caplen = new Uint32Array(capacity);
    this.wireLen = new Uint32Array(capacity);
    this.offset = new Uint32Array(capacity);
    this.linkType = new Uint16Array(capacity);
    this.iface = new Uint32Array(capacity);
    this.vlan = new Uint16Array(capacity);
    this.checksumVouched = options.checksumVouched ? new Uint8Array(capacity) : undefined;
  }

  /** The timestamp of packet `i` as fractional epoch seconds (microsecond-exact for today's dates). */
  time(i: number): number {
    return this.tsSec[i]! + this.tsNsec[i]! * 1e-9;
  }

  /**
   * Packet `i`'s captured bytes as a view (allocates a view: for tests and
   * slow paths; hot loops index `data` with `offset` directly).
   */
  bytes(i: number): Uint8Array {
    const start = this.offset[i]!;
    return this.data.subarray(start, start + this.caplen[i]!);
  }
}

/**
 * Counters of a source. Named as Zeek's packet source statistics:
 * `received` packets handed out, `dropped` by the capture layer (kernel or
 * libpcap), `link` seen on the link (received + dropped where the source
 * knows it), `bytes` wire bytes of the received packets.
 */
export interface SourceStats {
  readonly received: number;
  readonly dropped: number;
  readonly ifDropped: number;
  readonly link: number;
  readonly bytes: number;
  /**
   * Something went wrong that did not stop the capture (a trace that ends
   * inside a record); `undefined` when all is well.
   */
  readonly warning: string | undefined;
}

/**
 * A producer of packet batches. `next()` resolves to the next batch, or
 * `null` when the source is exhausted (end of file) or closed. The batch and
 * everything it points to are borrowed: valid until the next `next()` or
 * `close()`. `close()` is idempotent; `using`/`await using` call it.
 */
export interface PacketSource extends Disposable, AsyncDisposable {
  /** What the operator named: a file path or an interface string. */
  readonly name: string;
  next(): Promise<Borrowed<PacketBatch> | null>;
  stats(): SourceStats;
  close(): void;
}

/**
 * Packet `i`'s time in seconds as Zeek sees it: whole microseconds, as
 * libpcap's timeval gives them, whatever resolution the source had.
 */
export function packetTime(batch: PacketBatch, i: number): number {
  return batch.tsSec[i]! + Math.floor(batch.tsNsec[i]! / 1000) / 1e6;
}

/** Marks a batch as lent out; only sources call this. */
export function lend(batch: PacketBatch): Borrowed<PacketBatch> {
  return batch as Borrowed<PacketBatch>;
}
