/**
 * Live capture from an AF_PACKET socket with a TPACKET_V3 ring, read in
 * place from JS: the ring is mmapped once and each ready block is handed
 * out as a batch of offsets into it, so no packet is copied and no system
 * call is made per packet. A block goes back to the kernel when the next
 * batch is requested. When no block is ready the source waits in a
 * nonblocking `poll` on a native thread, so the event loop stays free.
 *
 * Set-up follows Zeek's AF_Packet plugin with its defaults (fanout group
 * 23 in hash mode, 128 MiB ring of 32 KiB blocks, 10 ms block timeout):
 * socket, interface checks, TPACKET_V3, ring, mmap, filter, bind,
 * promiscuous membership, fanout, then one statistics read to zero the
 * counters. Every step is undone in reverse order when a later one fails.
 *
 * Block size: the research note measured 32 KiB blocks (Zeek's default) at
 * 3–4× the CPU per packet of 1 MiB blocks, because a reader that keeps up
 * wakes once per block; `bench/live.ts` measures both on this machine.
 * weir keeps Zeek's default so node.cfg means what it means for Zeek; set
 * `af_packet_block_size=1048576` for less CPU at high rates.
 *
 * VLAN: the kernel strips the outermost tag and reports it in the ring
 * header; the source puts its id into `PacketBatch.vlan`, which the decoder
 * treats as the outer tag, so nothing is copied to restore it. Wire lengths
 * are the kernel's (`tp_len`, without the stripped 4 bytes), as in Zeek.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  FdWaiter,
  IFF_UP,
  interfaceIndex,
  OwnedSocket,
  POLL_EVENTS,
  SharedMapping,
  SystemCallError,
} from "../ffi/mod.ts";
import {
  AF_PACKET,
  BLOCK_FIRST_PKT_WORD,
  BLOCK_NUM_PKTS_WORD,
  BLOCK_STATUS_WORD,
  ETH_P_ALL_BE,
  FANOUT_FLAG_DEFRAG,
  FANOUT_MODES,
  FRAME_SIZE,
  HDR_LEN_WORD,
  HDR_MAC_BYTE,
  HDR_NEXT_WORD,
  HDR_NSEC_WORD,
  HDR_SEC_WORD,
  HDR_SNAPLEN_WORD,
  HDR_STATUS_WORD,
  HDR_VLAN_TCI_WORD,
  PACKET_ADD_MEMBERSHIP,
  PACKET_FANOUT,
  PACKET_MR_PROMISC,
  PACKET_MREQ_SIZE,
  PACKET_RX_RING,
  PACKET_STATISTICS,
  PACKET_VERSION,
  PAGE_SIZE,
  REQ3_WORDS,
  SOCK_RAW,
  SOCKADDR_LL_SIZE,
  SOL_PACKET,
  STATS_V3_WORDS,
  TP_STATUS_CSUM_VALID,
  TP_STATUS_CSUMNOTREADY,
  TP_STATUS_USER,
  TP_STATUS_VLAN_VALID,
  TPACKET_V3,
} from "./_tpacket.ts";
import { attachFilter, compileBpf, type CompiledFilter } from "./bpf.ts";
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
import {
  type AfPacketFanoutMode,
  type AfPacketSettings,
  DEFAULT_AF_PACKET_SETTINGS,
} from "./af_packet_settings.ts";

export {
  type AfPacketChecksumMode,
  type AfPacketFanoutMode,
  type AfPacketSettings,
  DEFAULT_AF_PACKET_SETTINGS,
} from "./af_packet_settings.ts";

/** Milliseconds one native `poll` waits before the source looks again (bounds close latency). */
export const DEFAULT_POLL_TIMEOUT_MS = 100;
/** Longest stretch the source hands out ready blocks without letting timers and signals run. */
const YIELD_INTERVAL_MS = 10;
/** Offsets in a batch are u32. */
const MAX_RING_BYTES = 2 ** 32 - PAGE_SIZE;

/** Options of `openAfPacket`: the AF_Packet settings plus what a capture adds. */
export interface AfPacketOptions extends Partial<AfPacketSettings> {
  /** Promiscuous mode (default true, as Zeek). */
  readonly promiscuous?: boolean;
  /** A BPF filter expression, or one compiled with `compileBpf`, attached to the socket. */
  readonly filter?: string | CompiledFilter;
  /** Packets per batch (default 4096); a block with more is handed out in several batches. */
  readonly batchCapacity?: number;
  /** How long one native wait lasts (default 100 ms). */
  readonly pollTimeoutMs?: number;
}

/** The checked, complete options. */
interface Resolved extends AfPacketSettings {
  readonly blockCount: number;
  readonly promiscuous: boolean;
  readonly batchCapacity: number;
  readonly pollTimeoutMs: number;
}

function integerIn(name: string, value: number, min: number, max: number, hint: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot capture with AF_PACKET ${name} ${value}: ${hint}`);
  }
  return value;
}

/** Checks every option before any system call; throws RangeError naming the option. */
function resolveOptions(options: AfPacketOptions): Resolved {
  const s = { ...DEFAULT_AF_PACKET_SETTINGS };
  for (const key of Object.keys(s) as (keyof AfPacketSettings)[]) {
    const value = options[key];
    if (value !== undefined) (s as Record<string, unknown>)[key] = value;
  }
  integerIn(
    "blockSize",
    s.blockSize,
    PAGE_SIZE,
    2 ** 31,
    `use a multiple of the ${PAGE_SIZE}-byte page size`,
  );
  if (s.blockSize % PAGE_SIZE !== 0) {
    throw new RangeError(
      `Cannot capture with AF_PACKET blockSize ${s.blockSize}: use a multiple of the ${PAGE_SIZE}-byte page size`,
    );
  }
  integerIn(
    "bufferSize",
    s.bufferSize,
    s.blockSize,
    MAX_RING_BYTES,
    `use at least one block (${s.blockSize} bytes) and less than 4 GiB`,
  );
  integerIn("blockTimeoutMs", s.blockTimeoutMs, 0, 60_000, "use 0 … 60000 milliseconds");
  integerIn("fanoutId", s.fanoutId, 0, 0xffff, "use 0 … 65535");
  integerIn("linkType", s.linkType, 0, 0xffff, "use a LINKTYPE_* number (1 is Ethernet)");
  if (!(s.fanoutMode in FANOUT_MODES)) {
    throw new RangeError(
      `Cannot capture with AF_PACKET fanoutMode "${s.fanoutMode}": use one of ${
        Object.keys(FANOUT_MODES).join(", ")
      }`,
    );
  }
  if (!["on", "off", "kernel"].includes(s.checksumValidation)) {
    throw new RangeError(
      `Cannot capture with AF_PACKET checksumValidation "${s.checksumValidation}": use on, off or kernel`,
    );
  }
  if (s.enableHwTimestamping) {
    throw new RangeError(
      "Cannot capture with AF_PACKET hardware timestamps: weir does not support them; " +
        "set af_packet_enable_hw_timestamping=0",
    );
  }
  const batchCapacity = options.batchCapacity ?? DEFAULT_BATCH_CAPACITY;
  integerIn("batchCapacity", batchCapacity, 1, 1 << 24, "use 1 … 16777216 packets");
  const pollTimeoutMs = options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
  integerIn("pollTimeoutMs", pollTimeoutMs, 1, 10_000, "use 1 … 10000 milliseconds");
  return Object.freeze({
    ...s,
    blockCount: Math.floor(s.bufferSize / s.blockSize),
    promiscuous: options.promiscuous ?? true,
    batchCapacity,
    pollTimeoutMs,
  });
}

/** The PACKET_FANOUT argument: group id in the low 16 bits, mode and flags above. */
export function fanoutArgument(id: number, mode: AfPacketFanoutMode, defrag: boolean): number {
  return (id & 0xffff) | ((FANOUT_MODES[mode] | (defrag ? FANOUT_FLAG_DEFRAG : 0)) << 16);
}

/**
 * Opens an AF_PACKET capture on `device`.
 *
 * @throws RangeError for an impossible option, before any system call.
 * @throws CapturePermissionError without CAP_NET_RAW.
 * @throws InterfaceNotFoundError, InterfaceDownError for the interface.
 * @throws FilterSyntaxError for a filter that does not compile.
 * @throws CaptureSetupError when the kernel refuses a step (named, with errno).
 */
export function openAfPacket(device: string, options: AfPacketOptions = {}): AfPacketSource {
  const o = resolveOptions(options);
  const filter = typeof options.filter === "string"
    ? compileBpf(options.filter, o.linkType)
    : options.filter;
  return AfPacketSource.open(device, o, filter);
}

/** Translates a failed step into the error class an operator acts on. */
function setupError(device: string, error: unknown): unknown {
  if (!(error instanceof SystemCallError)) return error;
  if (error.code === "EPERM" || error.code === "EACCES") {
    return new CapturePermissionError(device, error.message, { cause: error });
  }
  if (error.code === "ENODEV") return new InterfaceNotFoundError(device, { cause: error });
  if (error.errno === 100) return new InterfaceDownError(device, { cause: error });
  return new CaptureSetupError(device, error.message, { cause: error });
}

/** An AF_PACKET TPACKET_V3 capture as a `PacketSource`; get one from `openAfPacket`. */
export class AfPacketSource implements PacketSource {
  readonly name: string;
  readonly device: string;
  /** The settings in effect, defaults filled in. */
  readonly settings: AfPacketSettings;
  readonly #socket: OwnedSocket;
  readonly #mapping: SharedMapping;
  readonly #waiter: FdWaiter;
  readonly #batch: PacketBatch;
  /**
   * The batch's `checksumVouched`: 1 when the kernel vouches for the
   * checksums (TP_STATUS_CSUM_VALID with CHECKSUM_KERNEL, or a locally
   * sent packet whose checksum the NIC would fill in, TP_STATUS_CSUMNOTREADY,
   * with CHECKSUM_ON or _KERNEL), as Zeek decides; 0 otherwise.
   */
  readonly #vouched: Uint8Array;
  readonly #ring: Uint8Array;
  readonly #words: Uint32Array;
  readonly #status: Int32Array;
  readonly #blockSize: number;
  readonly #blockCount: number;
  readonly #pollTimeoutMs: number;
  readonly #vouchMask: number;
  readonly #statsOut = new Uint32Array(STATS_V3_WORDS);
  #block = 0;
  /** The current block is user-owned and lent out (in part or whole). */
  #holding = false;
  /** Packets of the current block not yet handed out, and where the next one starts. */
  #left = 0;
  #position = 0;
  #lastYield = 0;
  #closed = false;
  #received = 0;
  #bytes = 0;
  #kernelPackets = 0;
  #kernelDrops = 0;
  #warning: string | undefined = undefined;

  private constructor(
    device: string,
    settings: Resolved,
    socket: OwnedSocket,
    mapping: SharedMapping,
    waiter: FdWaiter,
  ) {
    this.name = `af_packet::${device}`;
    this.device = device;
    const { blockCount: _b, promiscuous: _p, batchCapacity, pollTimeoutMs, ...rest } = settings;
    this.settings = Object.freeze(rest);
    this.#socket = socket;
    this.#mapping = mapping;
    this.#waiter = waiter;
    this.#batch = new PacketBatch(batchCapacity, { checksumVouched: true });
    this.#vouched = this.#batch.checksumVouched!;
    this.#ring = mapping.bytes();
    this.#words = new Uint32Array(this.#ring.buffer, this.#ring.byteOffset, mapping.length >>> 2);
    this.#status = new Int32Array(this.#ring.buffer, this.#ring.byteOffset, mapping.length >>> 2);
    this.#blockSize = settings.blockSize;
    this.#blockCount = settings.blockCount;
    this.#pollTimeoutMs = pollTimeoutMs;
    this.#vouchMask = settings.checksumValidation === "kernel"
      ? TP_STATUS_CSUM_VALID | TP_STATUS_CSUMNOTREADY
      : settings.checksumValidation === "on"
      ? TP_STATUS_CSUMNOTREADY
      : 0;
    this.#lastYield = performance.now();
  }

  /** @internal Use `openAfPacket`. */
  static open(
    device: string,
    o: Resolved,
    filter: CompiledFilter | undefined,
  ): AfPacketSource {
    const action = `Cannot capture on interface "${device}"`;
    using stack = new DisposableStack();
    let socket: OwnedSocket;
    try {
      // Protocol 0: the socket receives nothing until bind names the
      // interface, so no packet of another interface slips into the ring.
      socket = stack.use(OwnedSocket.open(AF_PACKET, SOCK_RAW, 0, action));
      const ifindex = interfaceIndex(device);
      if (ifindex === 0) throw new InterfaceNotFoundError(device);
      if ((socket.interfaceFlags(device, action) & IFF_UP) === 0) {
        throw new InterfaceDownError(device);
      }
      socket.setIntOption(SOL_PACKET, PACKET_VERSION, TPACKET_V3, action, "PACKET_VERSION");
      const req = new Uint32Array(REQ3_WORDS);
      req[0] = o.blockSize;
      req[1] = o.blockCount;
      req[2] = FRAME_SIZE;
      req[3] = (o.blockSize / FRAME_SIZE) * o.blockCount;
      req[4] = o.blockTimeoutMs;
      socket.setOption(
        SOL_PACKET,
        PACKET_RX_RING,
        req,
        action,
        `PACKET_RX_RING ${o.blockCount} × ${o.blockSize} bytes`,
      );
      const mapping = stack.use(
        SharedMapping.open(socket.fd, o.blockSize * o.blockCount, action),
      );
      if (filter !== undefined) attachFilter(socket, filter, action);
      const sll = new Uint8Array(SOCKADDR_LL_SIZE);
      const sllView = new DataView(sll.buffer);
      sllView.setUint16(0, AF_PACKET, true);
      sllView.setUint16(2, ETH_P_ALL_BE, true);
      sllView.setInt32(4, ifindex, true);
      socket.bind(sll, action, `bind(sockaddr_ll ifindex ${ifindex})`);
      if (o.promiscuous) {
        const mreq = new Uint8Array(PACKET_MREQ_SIZE);
        const mreqView = new DataView(mreq.buffer);
        mreqView.setInt32(0, ifindex, true);
        mreqView.setUint16(4, PACKET_MR_PROMISC, true);
        socket.setOption(
          SOL_PACKET,
          PACKET_ADD_MEMBERSHIP,
          mreq,
          action,
          "PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC",
        );
      }
      if (o.enableFanout) joinFanout(socket, device, o, action);
      socket.getOption(
        SOL_PACKET,
        PACKET_STATISTICS,
        new Uint32Array(STATS_V3_WORDS),
        action,
        "PACKET_STATISTICS",
      );
      const waiter = stack.use(new FdWaiter([socket.fd], POLL_EVENTS.IN));
      const source = new AfPacketSource(device, o, socket, mapping, waiter);
      stack.move();
      return source;
    } catch (error) {
      throw setupError(device, error);
    }
  }

  /** The checksum policy for the decoder: false only with CHECKSUM_OFF. */
  get verifyChecksums(): boolean {
    return this.settings.checksumValidation !== "off";
  }

  async next(): Promise<Borrowed<PacketBatch> | null> {
    const batch = this.#batch;
    batch.count = 0;
    for (;;) {
      if (this.#closed) return null;
      if (this.#left > 0) {
        this.#fill(batch);
        if (performance.now() - this.#lastYield > YIELD_INTERVAL_MS) {
          // Ready blocks resolve at once; without this, timers, signals and
          // pipes would wait as long as traffic keeps the ring busy.
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.#lastYield = performance.now();
          if (this.#closed) return null;
        }
        return lend(batch);
      }
      if (this.#holding) this.#release();
      const statusWord = (this.#block * this.#blockSize) / 4 + BLOCK_STATUS_WORD;
      if ((Atomics.load(this.#status, statusWord) & TP_STATUS_USER) !== 0) {
        this.#holding = true;
        const base = this.#block * this.#blockSize;
        this.#left = this.#words[base / 4 + BLOCK_NUM_PKTS_WORD]!;
        this.#position = base + this.#words[base / 4 + BLOCK_FIRST_PKT_WORD]!;
        continue;
      }
      const revents = await this.#waiter.wait(this.#pollTimeoutMs);
      this.#lastYield = performance.now();
      if ((revents & POLL_EVENTS.ERR) !== 0) this.#noteSocketError();
    }
  }

  /** Copies the metadata of up to `capacity` packets of the current block into the batch. */
  #fill(batch: PacketBatch): void {
    const ring = this.#ring;
    const words = this.#words;
    const capacity = batch.capacity;
    const tsSec = batch.tsSec;
    const tsNsec = batch.tsNsec;
    const caplens = batch.caplen;
    const wireLens = batch.wireLen;
    const offsets = batch.offset;
    const linkTypes = batch.linkType;
    const ifaces = batch.iface;
    const vlans = batch.vlan;
    const vouched = this.#vouched;
    const vouchMask = this.#vouchMask;
    const linkType = this.settings.linkType;
    let left = this.#left;
    let p = this.#position;
    let n = 0;
    let bytes = 0;
    while (n < capacity && left > 0) {
      const h = p >>> 2;
      const status = words[h + HDR_STATUS_WORD]!;
      const wire = words[h + HDR_LEN_WORD]!;
      tsSec[n] = words[h + HDR_SEC_WORD]!;
      tsNsec[n] = words[h + HDR_NSEC_WORD]!;
      caplens[n] = words[h + HDR_SNAPLEN_WORD]!;
      wireLens[n] = wire;
      offsets[n] = p + (ring[p + HDR_MAC_BYTE]! | (ring[p + HDR_MAC_BYTE + 1]! << 8));
      linkTypes[n] = linkType;
      ifaces[n] = 0;
      vlans[n] = (status & TP_STATUS_VLAN_VALID) !== 0 ? words[h + HDR_VLAN_TCI_WORD]! & 0xfff : 0;
      vouched[n] = (status & vouchMask) !== 0 ? 1 : 0;
      bytes += wire;
      n++;
      left--;
      p += words[h + HDR_NEXT_WORD]!;
    }
    this.#left = left;
    this.#position = p;
    this.#received += n;
    this.#bytes += bytes;
    batch.data = ring;
    batch.count = n;
  }

  /** Hands the current block back to the kernel and moves to the next. */
  #release(): void {
    const statusWord = (this.#block * this.#blockSize) / 4 + BLOCK_STATUS_WORD;
    // The store is ordered after every read of the block's packets.
    Atomics.store(this.#status, statusWord, 0);
    this.#holding = false;
    this.#block = this.#block + 1 === this.#blockCount ? 0 : this.#block + 1;
  }

  /**
   * POLLERR: the kernel set a socket error, ENETDOWN when the interface
   * went down. Reading SO_ERROR clears it; the capture goes on and picks up
   * packets again when the interface comes back, as Zeek's does.
   */
  #noteSocketError(): void {
    const errno = this.#socket.takeError();
    if (errno === 0) return;
    const what = errno === 100
      ? "went down (ENETDOWN)"
      : `reported error ${new SystemCallError("", errno).code}`;
    this.#warning = `interface "${this.device}" ${what} at ${new Date().toISOString()}`;
  }

  /**
   * Counters: `received` packets handed out, `dropped` by the kernel for
   * want of ring space, `link` packets the kernel passed to the socket
   * (dropped ones included). The kernel resets its counters on every read,
   * so they are accumulated here.
   */
  stats(): SourceStats {
    if (!this.#closed) this.#readKernelStats();
    return Object.freeze({
      received: this.#received,
      dropped: this.#kernelDrops,
      ifDropped: 0,
      link: this.#kernelPackets,
      bytes: this.#bytes,
      warning: this.#warning,
    });
  }

  #readKernelStats(): void {
    const out = this.#statsOut;
    out.fill(0);
    try {
      this.#socket.getOption(
        SOL_PACKET,
        PACKET_STATISTICS,
        out,
        `Cannot read statistics of interface "${this.device}"`,
        "PACKET_STATISTICS",
      );
    } catch (error) {
      this.#warning = error instanceof Error ? error.message : String(error);
      return;
    }
    this.#kernelPackets += out[0]!;
    this.#kernelDrops += out[1]!;
  }

  /**
   * Ends a pending `next()` (it resolves to null), unmaps the ring and
   * closes the socket, which leaves the fanout group. Every batch view
   * becomes invalid: touching a saved `batch.data` afterwards crashes the
   * process. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#readKernelStats();
    this.#closed = true;
    this.#batch.count = 0;
    this.#batch.data = new Uint8Array(0);
    this.#waiter.close();
    this.#mapping.close();
    this.#socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function joinFanout(socket: OwnedSocket, device: string, o: Resolved, action: string): void {
  try {
    socket.setIntOption(
      SOL_PACKET,
      PACKET_FANOUT,
      fanoutArgument(o.fanoutId, o.fanoutMode, o.enableDefrag),
      action,
      `PACKET_FANOUT id ${o.fanoutId} mode ${o.fanoutMode}${o.enableDefrag ? "+defrag" : ""}`,
    );
  } catch (error) {
    if (error instanceof SystemCallError && error.code === "EINVAL") {
      throw new CaptureSetupError(
        device,
        `${error.message}; fanout group ${o.fanoutId} already exists with another mode or ` +
          "defrag flag, or on another interface: give every worker on this interface the same " +
          "af_packet_fanout_mode and af_packet_enable_defrag, and each interface its own " +
          "af_packet_fanout_id",
        { cause: error },
      );
    }
    throw error;
  }
}
