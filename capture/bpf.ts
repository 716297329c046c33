/**
 * BPF capture filters (`-f 'tcp port 80'`), compiled once by libpcap and
 * applied to every kind of source:
 * - AF_PACKET: the classic BPF program is attached to the socket with
 *   `SO_ATTACH_FILTER`, so the kernel drops what does not match before it
 *   reaches the ring (`attachFilter`).
 * - libpcap live: `pcap_setfilter` (see `pcap_live_source.ts`).
 * - trace files: nothing passes through a kernel, so `filterSource` runs the
 *   same program over each packet with `pcap_offline_filter` (one FFI call
 *   per packet, no allocation), and only when a filter was given.
 *
 * A filter sees the frame as the source delivers it. AF_PACKET strips the
 * outermost VLAN tag from the frame (the ring reports it out of band), so
 * there a filter such as `vlan 42` does not match while `tcp port 80` does
 * match tagged traffic; libpcap live and files keep tags in the frame.
 *
 * @module
 */

import {
  type CompiledFilter,
  compileFilter,
  FilterProgram,
  type FilterTarget,
  filterTarget,
  LibraryMissingError,
  type OwnedSocket,
  PcapError,
  SO_ATTACH_FILTER,
  SOL_SOCKET,
} from "../ffi/mod.ts";
import { linkTypeName } from "./link_type.ts";
import {
  type Borrowed,
  lend,
  PacketBatch,
  type PacketSource,
  type SourceStats,
} from "./packet_source.ts";

export type { CompiledFilter } from "../ffi/mod.ts";

/**
 * Trace files carry LINKTYPE_* numbers, libpcap's `pcap_open_dead` takes
 * DLT_* numbers; they differ for these few (Linux values).
 */
const LINKTYPE_TO_DLT: Readonly<Record<number, number>> = Object.freeze({
  100: 11,
  101: 12,
  102: 15,
  103: 16,
});

/** The filter expression does not compile; the message carries libpcap's reason. */
export class FilterSyntaxError extends Error {
  readonly expression: string;
  constructor(expression: string, detail: string, options?: ErrorOptions) {
    super(
      `Cannot compile capture filter "${expression}": ${detail}; the syntax is tcpdump's ` +
        "(pcap-filter(7)): try it with `tcpdump -d '<filter>'`",
      options,
    );
    this.name = "FilterSyntaxError";
    this.expression = expression;
  }
}

/**
 * Compiles `expression` for frames of `linkType` (1, Ethernet, by default).
 *
 * @throws FilterSyntaxError when libpcap rejects the expression.
 * @throws LibraryMissingError when libpcap is not installed.
 */
export function compileBpf(expression: string, linkType = 1): CompiledFilter {
  try {
    const compiled = compileFilter(expression, LINKTYPE_TO_DLT[linkType] ?? linkType);
    return compiled.linkType === linkType ? compiled : Object.freeze({ ...compiled, linkType });
  } catch (error) {
    if (error instanceof LibraryMissingError) throw error;
    if (error instanceof PcapError) {
      throw new FilterSyntaxError(
        expression,
        `${error.detail} (link type ${linkTypeName(linkType)})`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** `struct sock_fprog { unsigned short len; struct sock_filter *filter; }` for `filter`. */
function sockFprog(filter: CompiledFilter): Uint8Array {
  const fprog = new Uint8Array(16);
  const view = new DataView(fprog.buffer);
  view.setUint16(0, filter.count, true);
  const pointer = Deno.UnsafePointer.of(filter.instructions);
  view.setBigUint64(8, pointer === null ? 0n : Deno.UnsafePointer.value(pointer), true);
  return fprog;
}

/**
 * Attaches a compiled filter to a packet socket (`SO_ATTACH_FILTER`); the
 * kernel copies the program, so `filter` need not outlive the call.
 */
export function attachFilter(socket: OwnedSocket, filter: CompiledFilter, action: string): void {
  socket.setOption(
    SOL_SOCKET,
    SO_ATTACH_FILTER,
    sockFprog(filter),
    action,
    `SO_ATTACH_FILTER "${filter.expression}"`,
  );
}

/**
 * Wraps `source` so that only packets matching `expression` come out; the
 * expression is compiled for each link type the source delivers. Stats
 * count only the packets that passed.
 *
 * @throws FilterSyntaxError at once when the expression does not compile for Ethernet.
 */
export function filterSource(source: PacketSource, expression: string): PacketSource {
  return new FilteredSource(source, expression);
}

class FilteredSource implements PacketSource {
  readonly name: string;
  readonly #inner: PacketSource;
  readonly #expression: string;
  readonly #programs = new Map<number, FilterProgram>();
  #batch: PacketBatch | null = null;
  #target: FilterTarget | null = null;
  #rejected = 0;
  #rejectedBytes = 0;

  constructor(inner: PacketSource, expression: string) {
    this.name = inner.name;
    this.#inner = inner;
    this.#expression = expression;
    this.#program(1);
  }

  async next(): Promise<Borrowed<PacketBatch> | null> {
    for (;;) {
      const input = await this.#inner.next();
      if (input === null) return null;
      const out = this.#batch?.capacity === input.capacity
        ? this.#batch
        : (this.#batch = new PacketBatch(input.capacity));
      if (this.#target?.bytes !== input.data) this.#target = filterTarget(input.data);
      const target = this.#target;
      out.data = input.data;
      let kept = 0;
      let linkType = -1;
      let program: FilterProgram | undefined;
      let rejectedBytes = 0;
      for (let i = 0; i < input.count; i++) {
        const lt = input.linkType[i]!;
        if (lt !== linkType) {
          linkType = lt;
          program = this.#program(lt);
        }
        if (!program!.matches(target, input.offset[i]!, input.caplen[i]!, input.wireLen[i]!)) {
          rejectedBytes += input.wireLen[i]!;
          continue;
        }
        out.tsSec[kept] = input.tsSec[i]!;
        out.tsNsec[kept] = input.tsNsec[i]!;
        out.caplen[kept] = input.caplen[i]!;
        out.wireLen[kept] = input.wireLen[i]!;
        out.offset[kept] = input.offset[i]!;
        out.linkType[kept] = lt;
        out.iface[kept] = input.iface[i]!;
        out.vlan[kept] = input.vlan[i]!;
        kept++;
      }
      this.#rejected += input.count - kept;
      this.#rejectedBytes += rejectedBytes;
      out.count = kept;
      if (kept > 0) return lend(out);
    }
  }

  stats(): SourceStats {
    const s = this.#inner.stats();
    return Object.freeze({
      received: s.received - this.#rejected,
      dropped: s.dropped,
      ifDropped: s.ifDropped,
      link: s.link - this.#rejected,
      bytes: s.bytes - this.#rejectedBytes,
      warning: s.warning,
    });
  }

  close(): void {
    this.#inner.close();
    if (this.#batch !== null) {
      this.#batch.count = 0;
      this.#batch.data = new Uint8Array(0);
    }
    this.#target = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #program(linkType: number): FilterProgram {
    let program = this.#programs.get(linkType);
    if (program === undefined) {
      program = new FilterProgram(compileBpf(this.#expression, linkType));
      this.#programs.set(linkType, program);
    }
    return program;
  }
}
