/**
 * The memory TCP stream reassembly may hold, for one packet pipeline: a
 * global bound over every connection's out-of-order bytes, a bound per
 * connection, and counters of what the bounds cut.
 *
 * Zeek has no such bounds (a connection may buffer up to
 * `tcp_excessive_data_without_further_acks`, 10 MiB per direction, and the
 * process as much as it likes). weir bounds both because a worker must
 * survive a flood of connections that each leave a hole. A segment that
 * would exceed a bound is not stored, as if the packet had been lost: when
 * the peer's ACK passes it, the analyzer is told the bytes are undelivered.
 *
 * Only connections with an analyzer attached touch this object, and only
 * when they store or free out-of-order bytes; in-order delivery never does.
 *
 * @module
 */

/** Bytes all connections of a pipeline may hold together (held: payload plus per-segment overhead). */
export const DEFAULT_REASSEMBLY_MAX_BYTES = 256 * 1024 * 1024;
/** Bytes one connection (both directions) may hold; Zeek's 10 MiB per direction is far more than live traffic needs. */
export const DEFAULT_REASSEMBLY_CONNECTION_MAX_BYTES = 4 * 1024 * 1024;
/**
 * What one stored segment costs beyond its payload: its `Uint8Array`
 * (object, ArrayBuffer, backing store) and its list slots; V8 measured
 * 226–308 B for a connection's only segment, varying with GC timing
 * (`deno task bench reassembly` prints the figure). Charging the top of
 * that range keeps the bound honest, a flood of 1-byte segments included.
 */
export const SEGMENT_OVERHEAD_BYTES = 320;

/** Bounds of a pipeline's reassembly memory; every field has a default. */
export interface ReassemblyMemoryOptions {
  /** Held bytes of all connections together (default `DEFAULT_REASSEMBLY_MAX_BYTES`). */
  readonly maxBytes?: number;
  /** Held bytes of one connection (default `DEFAULT_REASSEMBLY_CONNECTION_MAX_BYTES`). */
  readonly maxConnectionBytes?: number;
}

/** The counters, as plain data for metrics. */
export interface ReassemblyMemoryStats {
  /** Payload bytes stored now, out of order, waiting for a hole to fill. */
  readonly bufferedBytes: number;
  readonly bufferedSegments: number;
  /** What the bounds limit: payload plus `SEGMENT_OVERHEAD_BYTES` per segment. */
  readonly heldBytes: number;
  readonly peakHeldBytes: number;
  readonly maxBytes: number;
  readonly maxConnectionBytes: number;
  /** Payload bytes not stored because their connection was at its bound. */
  readonly cutBytesPerConnection: number;
  /** Payload bytes not stored because all connections together were at the global bound. */
  readonly cutBytesGlobal: number;
  /** Segments (or parts of segments) not stored, for either bound. */
  readonly cutSegments: number;
}

function bound(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot bound TCP reassembly memory with ${name} ${value}: use a whole number of bytes ≥ 0`,
    );
  }
  return value;
}

/** One pipeline's reassembly memory: bounds and counters shared by its `TcpStreams`. */
export class ReassemblyMemory {
  readonly maxBytes: number;
  readonly maxConnectionBytes: number;
  #held = 0;
  #peak = 0;
  #payload = 0;
  #segments = 0;
  #cutConnection = 0;
  #cutGlobal = 0;
  #cutSegments = 0;

  constructor(options: ReassemblyMemoryOptions = {}) {
    this.maxBytes = bound("maxBytes", options.maxBytes, DEFAULT_REASSEMBLY_MAX_BYTES);
    this.maxConnectionBytes = bound(
      "maxConnectionBytes",
      options.maxConnectionBytes,
      DEFAULT_REASSEMBLY_CONNECTION_MAX_BYTES,
    );
  }

  /** Held bytes now (payload plus overhead), without building a stats object. */
  get heldBytes(): number {
    return this.#held;
  }

  /**
   * Accounts a segment of `payload` bytes for a connection that holds
   * `connectionHeld` now, if both bounds allow it; otherwise counts the cut
   * and returns false. For `TcpStreams`.
   */
  reserve(payload: number, connectionHeld: number): boolean {
    const cost = payload + SEGMENT_OVERHEAD_BYTES;
    if (connectionHeld + cost > this.maxConnectionBytes) {
      this.#cutConnection += payload;
      this.#cutSegments++;
      return false;
    }
    if (this.#held + cost > this.maxBytes) {
      this.#cutGlobal += payload;
      this.#cutSegments++;
      return false;
    }
    this.#held += cost;
    this.#payload += payload;
    this.#segments++;
    if (this.#held > this.#peak) this.#peak = this.#held;
    return true;
  }

  /** Gives back `segments` segments holding `payload` bytes together. For `TcpStreams`. */
  release(payload: number, segments: number): void {
    this.#held -= payload + segments * SEGMENT_OVERHEAD_BYTES;
    this.#payload -= payload;
    this.#segments -= segments;
  }

  /** The counters now. */
  stats(): ReassemblyMemoryStats {
    return {
      bufferedBytes: this.#payload,
      bufferedSegments: this.#segments,
      heldBytes: this.#held,
      peakHeldBytes: this.#peak,
      maxBytes: this.maxBytes,
      maxConnectionBytes: this.maxConnectionBytes,
      cutBytesPerConnection: this.#cutConnection,
      cutBytesGlobal: this.#cutGlobal,
      cutSegments: this.#cutSegments,
    };
  }
}
