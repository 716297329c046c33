/**
 * Typed, owned wrappers over libpcap 1.10 (`libpcap.so.0.8`, Debian
 * `libpcap0.8`) through `Deno.dlopen`: live and offline handles, BPF
 * compilation into classic BPF instructions (for `SO_ATTACH_FILTER` on
 * weir's own AF_PACKET sockets), and running a compiled filter over a packet
 * in memory.
 *
 * The research note measured libpcap's per-packet path through FFI at 4–5×
 * the CPU of reading a TPACKET_V3 ring in JS, so weir keeps libpcap for
 * what it is good at (filters, `pcap::` capture) and copies packets out of it
 * with plain `memcpy` on numeric addresses: no pointer object, view or
 * BigInt is made per packet.
 *
 * @module
 */

import { addressOf, copyFromAddress } from "./libc.ts";
import { LIBPCAP, openLibrary } from "./libraries.ts";

const SYMBOLS = {
  pcap_lib_version: { parameters: [], result: "pointer" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_open_live: { parameters: ["buffer", "i32", "i32", "i32", "buffer"], result: "pointer" },
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_open_dead: { parameters: ["i32", "i32"], result: "pointer" },
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_offline_filter: { parameters: ["buffer", "buffer", "u64"], result: "i32" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_close: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function pcap(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= openLibrary(LIBPCAP, SYMBOLS);
  return lib.symbols;
}

declare const pcapBrand: unique symbol;
/** A `pcap_t *`; the brand keeps other pointers out. */
type PcapPointer = Deno.PointerObject & { readonly [pcapBrand]: true };

/** PCAP_ERRBUF_SIZE. */
const ERRBUF_SIZE = 256;
/** PCAP_NETMASK_UNKNOWN: broadcast tests in filters cannot be compiled without a netmask. */
const NETMASK_UNKNOWN = 0xffffffff;
/** Size of `struct sock_filter` / `struct bpf_insn`. */
export const BPF_INSTRUCTION_SIZE = 8;
/** The kernel's BPF_MAXINSNS: SO_ATTACH_FILTER refuses longer programs. */
export const BPF_MAX_INSTRUCTIONS = 4096;

/** libpcap's status codes (`pcap_activate`, `pcap_next_ex`), named. */
export const PCAP_STATUS = Object.freeze({
  OK: 0,
  WARNING: 1,
  WARNING_PROMISC_NOTSUP: 2,
  WARNING_TSTAMP_TYPE_NOTSUP: 3,
  ERROR: -1,
  BREAK: -2,
  NOT_ACTIVATED: -3,
  ACTIVATED: -4,
  NO_SUCH_DEVICE: -5,
  RFMON_NOTSUP: -6,
  NOT_RFMON: -7,
  PERM_DENIED: -8,
  IFACE_NOT_UP: -9,
  CANTSET_TSTAMP_TYPE: -10,
  PROMISC_PERM_DENIED: -11,
  TSTAMP_PRECISION_NOTSUP: -12,
});

const STATUS_NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(PCAP_STATUS).map(([name, value]) => [value, `PCAP_${name}`])),
);

/** `pcap_next_ex` results besides 1 (a packet). */
export const NEXT_TIMEOUT = 0;
export const NEXT_ERROR = -1;
export const NEXT_END_OF_FILE = -2;

/** libpcap's version string, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`. */
export function pcapVersion(): string {
  const p = pcap().pcap_lib_version();
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

/** A failing libpcap call: `status` is the PCAP_* code (-1 when libpcap gave none). */
export class PcapError extends Error {
  readonly status: number;
  /** `PCAP_ERROR_PERM_DENIED`-style name of `status`. */
  readonly code: string;
  /** libpcap's own message (`pcap_geterr` or the error buffer). */
  readonly detail: string;
  constructor(action: string, status: number, detail: string, hint = "") {
    const code = pcapStatusName(status);
    super(`${action}: ${detail || code} (${code})${hint ? `; ${hint}` : ""}`);
    this.name = "PcapError";
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** `PCAP_ERROR_PERM_DENIED`-style name of a libpcap status code. */
export function pcapStatusName(status: number): string {
  const name = STATUS_NAMES[status];
  if (name === undefined) return `pcap status ${status}`;
  return status < 0 && name !== "PCAP_ERROR" ? name.replace("PCAP_", "PCAP_ERROR_") : name;
}

function pcapStatusHint(status: number): string {
  switch (status) {
    case PCAP_STATUS.PERM_DENIED:
    case PCAP_STATUS.PROMISC_PERM_DENIED:
      return "needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root or " +
        "`setcap cap_net_raw,cap_net_admin+eip` on the weir (or deno) binary";
    case PCAP_STATUS.NO_SUCH_DEVICE:
      return "no such network interface: list them with `ip link`";
    case PCAP_STATUS.IFACE_NOT_UP:
      return "bring it up with `ip link set <device> up`";
    default:
      return "";
  }
}

function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

function errbufText(errbuf: Uint8Array): string {
  const end = errbuf.indexOf(0);
  return new TextDecoder().decode(errbuf.subarray(0, end < 0 ? errbuf.length : end)).trim();
}

/** How to open a live handle; undefined fields keep libpcap's defaults. */
export interface PcapLiveOptions {
  /** Bytes kept of each packet (default 262144). */
  readonly snaplen?: number;
  /** Promiscuous mode (default true). */
  readonly promiscuous?: boolean;
  /** Packet buffer timeout in milliseconds (default 10; the ring's block retire timeout). */
  readonly timeoutMs?: number;
  /** Kernel buffer in bytes (default libpcap's 2 MiB). */
  readonly bufferSize?: number;
  /** Deliver packets at once instead of a block at a time (default false). */
  readonly immediate?: boolean;
}

/** libpcap's counters (`struct pcap_stat`); on Linux they add up since the handle was opened. */
export interface PcapStats {
  readonly received: number;
  readonly dropped: number;
  readonly ifDropped: number;
}

/** The header of the last packet `PcapHandle.nextInto` copied out. */
export class PcapPacketHeader {
  sec = 0;
  /** Microseconds (nanoseconds for handles opened with nanosecond precision). */
  fraction = 0;
  caplen = 0;
  wireLen = 0;
}

/**
 * A buffer at a fixed native address that packets are copied into. Its
 * memory is allocated with `new ArrayBuffer`, which V8 never moves.
 */
export class PacketBuffer {
  readonly bytes: Uint8Array;
  readonly #address: number;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4096) {
      throw new RangeError(`Cannot create a packet buffer of ${size} bytes: use at least 4096`);
    }
    this.bytes = new Uint8Array(new ArrayBuffer(size));
    this.#address = addressOf(this.bytes);
  }

  /** @internal The native address of `bytes[offset]`. */
  addressAt(offset: number): number {
    return this.#address + offset;
  }
}

/**
 * One libpcap handle (`pcap_t`), live, offline or dead. `close()` is
 * idempotent; every method throws `PcapError` naming the call.
 */
export class PcapHandle implements Disposable {
  /** What the handle reads: an interface, a file, or `dead:<linktype>`. */
  readonly name: string;
  /** A warning `pcap_activate` returned (promiscuous mode unsupported, …). */
  readonly warning: string | undefined;
  #handle: PcapPointer | null;
  readonly #headerOut = new Uint32Array(2);
  readonly #dataOut = new Uint32Array(2);
  readonly #header = new PacketBuffer(4096);
  readonly #headerWords = new Uint32Array(this.#header.bytes.buffer, 0, 6);
  readonly #statsOut = new Uint32Array(4);

  private constructor(name: string, handle: PcapPointer, warning: string | undefined) {
    this.name = name;
    this.#handle = handle;
    this.warning = warning;
  }

  /**
   * `pcap_create` + options + `pcap_activate` on `device`.
   *
   * @throws PcapError with PCAP_ERROR_NO_SUCH_DEVICE, _PERM_DENIED, _IFACE_NOT_UP, …
   */
  static openLive(device: string, options: PcapLiveOptions = {}): PcapHandle {
    const action = `Cannot open libpcap capture on interface "${device}"`;
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const p = pcap();
    const handle = p.pcap_create(cString(device), errbuf) as PcapPointer | null;
    if (handle === null) throw new PcapError(action, PCAP_STATUS.ERROR, errbufText(errbuf));
    const check = (status: number, call: string) => {
      if (status !== 0) {
        const detail = `${call} failed`;
        p.pcap_close(handle);
        throw new PcapError(action, status, detail);
      }
    };
    check(p.pcap_set_snaplen(handle, options.snaplen ?? 262144), "pcap_set_snaplen");
    check(p.pcap_set_promisc(handle, options.promiscuous === false ? 0 : 1), "pcap_set_promisc");
    check(p.pcap_set_timeout(handle, options.timeoutMs ?? 10), "pcap_set_timeout");
    if (options.bufferSize !== undefined) {
      check(p.pcap_set_buffer_size(handle, options.bufferSize), "pcap_set_buffer_size");
    }
    if (options.immediate === true) {
      check(p.pcap_set_immediate_mode(handle, 1), "pcap_set_immediate_mode");
    }
    const status = p.pcap_activate(handle);
    if (status < 0) {
      const detail = geterr(handle);
      p.pcap_close(handle);
      throw new PcapError(action, status, detail, pcapStatusHint(status));
    }
    const warning = status > 0 ? `${pcapStatusName(status)}: ${geterr(handle)}` : undefined;
    return new PcapHandle(device, handle, warning);
  }

  /** `pcap_open_live` (the one-call form: promiscuous, 10 ms timeout). */
  static openLiveSimple(device: string, snaplen = 262144): PcapHandle {
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const handle = pcap().pcap_open_live(cString(device), snaplen, 1, 10, errbuf) as
      | PcapPointer
      | null;
    if (handle === null) {
      throw new PcapError(
        `Cannot open libpcap capture on interface "${device}"`,
        PCAP_STATUS.ERROR,
        errbufText(errbuf),
      );
    }
    return new PcapHandle(device, handle, undefined);
  }

  /** `pcap_open_offline`: a pcap or pcapng file. */
  static openOffline(path: string): PcapHandle {
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const handle = pcap().pcap_open_offline(cString(path), errbuf) as PcapPointer | null;
    if (handle === null) {
      throw new PcapError(
        `Cannot open trace "${path}" with libpcap`,
        PCAP_STATUS.ERROR,
        errbufText(errbuf),
        "check that the file exists, is readable and is a pcap or pcapng file",
      );
    }
    return new PcapHandle(path, handle, undefined);
  }

  /** `pcap_open_dead`: a handle that only compiles filters for `linkType`. */
  static openDead(linkType: number, snaplen = 262144): PcapHandle {
    const handle = pcap().pcap_open_dead(linkType, snaplen) as PcapPointer | null;
    if (handle === null) {
      throw new PcapError(
        `Cannot create a libpcap handle for link type ${linkType}`,
        PCAP_STATUS.ERROR,
        "pcap_open_dead returned NULL",
      );
    }
    return new PcapHandle(`dead:${linkType}`, handle, undefined);
  }

  /** `pcap_datalink`: the LINKTYPE_* of the packets. */
  get datalink(): number {
    return pcap().pcap_datalink(this.#live());
  }

  /** `pcap_snapshot`: the snap length in effect. */
  get snaplen(): number {
    return pcap().pcap_snapshot(this.#live());
  }

  /** `pcap_geterr`: the handle's last error message. */
  lastError(): string {
    return this.#handle === null ? "" : geterr(this.#handle);
  }

  /** `pcap_setnonblock`: with `true`, `nextInto` returns 0 at once when nothing is there. */
  setNonblocking(on: boolean): void {
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    if (pcap().pcap_setnonblock(this.#live(), on ? 1 : 0, errbuf) < 0) {
      throw new PcapError(
        `Cannot make the libpcap handle on "${this.name}" ${on ? "non" : ""}blocking`,
        PCAP_STATUS.ERROR,
        errbufText(errbuf),
      );
    }
  }

  /** `pcap_get_selectable_fd`: a descriptor to poll for readability (-1 when there is none). */
  selectableFd(): number {
    return pcap().pcap_get_selectable_fd(this.#live());
  }

  /**
   * `pcap_next_ex`, copying the packet into `buffer` at `offset` and its
   * header into `header`. The caller guarantees `snaplen` bytes of room.
   * Returns 1 for a packet, `NEXT_TIMEOUT` (0) when none is ready,
   * `NEXT_END_OF_FILE` (-2) at the end of a file.
   *
   * @throws PcapError when libpcap reports an error (-1).
   */
  nextInto(buffer: PacketBuffer, offset: number, header: PcapPacketHeader): number {
    const handle = this.#live();
    const status = pcap().pcap_next_ex(handle, this.#headerOut, this.#dataOut);
    if (status !== 1) {
      if (status === NEXT_ERROR) {
        throw new PcapError(
          `Cannot read from libpcap handle "${this.name}"`,
          status,
          geterr(handle),
        );
      }
      return status;
    }
    const h = this.#headerOut;
    copyFromAddress(this.#header.addressAt(0), h[0]! + h[1]! * 4294967296, 24);
    const words = this.#headerWords;
    // struct pcap_pkthdr on x86-64: tv_sec i64 @0, tv_usec i64 @8, caplen @16, len @20.
    header.sec = words[0]! + (words[1]! | 0) * 4294967296;
    header.fraction = words[2]!;
    const caplen = words[4]!;
    header.caplen = caplen;
    header.wireLen = words[5]!;
    const d = this.#dataOut;
    copyFromAddress(buffer.addressAt(offset), d[0]! + d[1]! * 4294967296, caplen);
    return 1;
  }

  /** `pcap_stats`. */
  stats(): PcapStats {
    const out = this.#statsOut;
    if (pcap().pcap_stats(this.#live(), out) < 0) {
      throw new PcapError(
        `Cannot read libpcap statistics of "${this.name}"`,
        PCAP_STATUS.ERROR,
        this.lastError(),
      );
    }
    return Object.freeze({ received: out[0]!, dropped: out[1]!, ifDropped: out[2]! });
  }

  /**
   * `pcap_compile` + `pcap_setfilter` + `pcap_freecode`: only packets that
   * match `expression` (tcpdump's filter syntax) are delivered.
   */
  setFilter(expression: string): void {
    const handle = this.#live();
    const program = new Uint8Array(16);
    const p = pcap();
    const action = `Cannot apply BPF filter "${expression}" on "${this.name}"`;
    if (p.pcap_compile(handle, program, cString(expression), 1, NETMASK_UNKNOWN) < 0) {
      throw new PcapError(action, PCAP_STATUS.ERROR, geterr(handle), FILTER_HINT);
    }
    try {
      if (p.pcap_setfilter(handle, program) < 0) {
        throw new PcapError(action, PCAP_STATUS.ERROR, geterr(handle));
      }
    } finally {
      p.pcap_freecode(program);
    }
  }

  /** @internal The raw handle, for `compileFilter`. */
  pointer(): PcapPointer {
    return this.#live();
  }

  /** `pcap_close`. Idempotent. */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    pcap().pcap_close(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #live(): PcapPointer {
    if (this.#handle === null) {
      throw new Error(`The libpcap handle "${this.name}" is already closed`);
    }
    return this.#handle;
  }
}

function geterr(handle: PcapPointer): string {
  const p = pcap().pcap_geterr(handle);
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

const FILTER_HINT =
  "check the expression with `tcpdump -d '<filter>'`; the syntax is pcap-filter(7)";

/**
 * A classic BPF program compiled by libpcap: `count` instructions of 8
 * bytes (`struct sock_filter`: code u16, jt u8, jf u8, k u32), in memory
 * owned by JS, so there is nothing to free.
 */
export interface CompiledFilter {
  readonly expression: string;
  readonly linkType: number;
  readonly count: number;
  /** The instructions, `count * 8` bytes, at a fixed native address. */
  readonly instructions: Uint8Array;
}

/**
 * Compiles `expression` (tcpdump's filter syntax) for packets of
 * `linkType` with `pcap_compile` on a dead handle and copies the program
 * out, ready for `SO_ATTACH_FILTER` or `FilterProgram`.
 *
 * @throws PcapError with libpcap's message when the expression is invalid.
 * @throws LibraryMissingError when libpcap is not installed.
 */
export function compileFilter(
  expression: string,
  linkType = 1,
  snaplen = 262144,
): CompiledFilter {
  using dead = PcapHandle.openDead(linkType, snaplen);
  const handle = dead.pointer();
  const program = new Uint8Array(16);
  const p = pcap();
  if (p.pcap_compile(handle, program, cString(expression), 1, NETMASK_UNKNOWN) < 0) {
    throw new PcapError(
      `Cannot compile BPF filter "${expression}"`,
      PCAP_STATUS.ERROR,
      geterr(handle),
      FILTER_HINT,
    );
  }
  try {
    const view = new DataView(program.buffer);
    const count = view.getUint32(0, true);
    const address = view.getBigUint64(8, true);
    if (count > BPF_MAX_INSTRUCTIONS) {
      throw new PcapError(
        `Cannot use BPF filter "${expression}"`,
        PCAP_STATUS.ERROR,
        `it compiles to ${count} instructions, more than the kernel's ${BPF_MAX_INSTRUCTIONS}`,
        "simplify the expression",
      );
    }
    const bytes = count * BPF_INSTRUCTION_SIZE;
    // Its own ArrayBuffer: `FilterProgram` passes its address to libpcap.
    const instructions = new Uint8Array(new ArrayBuffer(Math.max(bytes, 4096)), 0, bytes);
    if (bytes > 0) copyFromAddress(addressOf(instructions), Number(address), bytes);
    return Object.freeze({ expression, linkType, count, instructions });
  } finally {
    p.pcap_freecode(program);
  }
}

type OfflineFilter = (program: Uint8Array, header: Uint32Array, packet: number) => number;

/**
 * Runs a compiled filter over packets in memory (`pcap_offline_filter`),
 * for sources whose packets never pass through the kernel (trace files).
 * One FFI call per packet and no allocation.
 */
export class FilterProgram {
  readonly filter: CompiledFilter;
  /** struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; } */
  readonly #program = new Uint8Array(16);
  readonly #header = new Uint32Array(new ArrayBuffer(4096), 0, 6);
  readonly #run: OfflineFilter;

  constructor(filter: CompiledFilter) {
    this.filter = filter;
    const view = new DataView(this.#program.buffer);
    view.setUint32(0, filter.count, true);
    view.setBigUint64(8, BigInt(addressOf(filter.instructions)), true);
    // Deno takes numbers for u64 parameters; its types ask for BigInt, which would allocate.
    this.#run = pcap().pcap_offline_filter as unknown as OfflineFilter;
  }

  /**
   * True when the packet at `buffer.bytes[offset …]` matches. `caplen`
   * bytes are present; `wireLen` is the length on the wire.
   */
  matches(buffer: FilterTarget, offset: number, caplen: number, wireLen: number): boolean {
    const header = this.#header;
    header[4] = caplen;
    header[5] = wireLen;
    return this.#run(this.#program, header, buffer.address + offset) !== 0;
  }
}

/**
 * A byte array and its native address, for `FilterProgram.matches`. Build
 * one per buffer (cheap) with `filterTarget`; the buffer must be a whole
 * ArrayBuffer allocated with `new` so V8 never moves it.
 */
export interface FilterTarget {
  readonly bytes: Uint8Array;
  readonly address: number;
}

/** Pairs `bytes` with its native address for `FilterProgram.matches`. */
export function filterTarget(bytes: Uint8Array): FilterTarget {
  return Object.freeze({ bytes, address: addressOf(bytes) });
}
