/**
 * Zeek's AF_Packet plugin options and their defaults: what node.cfg's
 * `af_packet_*` keys set and what the AF_PACKET source takes. Plain data, so
 * the configuration reads it without loading any capture code.
 *
 * @module
 */

/** PACKET_FANOUT modes weir offers (Zeek's FANOUT_* without the eBPF/cBPF ones). */
export type AfPacketFanoutMode = "hash" | "lb" | "cpu" | "rollover" | "rnd" | "qm";
/** Zeek's `AF_Packet::checksum_validation_mode`: CHECKSUM_ON, _OFF, _KERNEL. */
export type AfPacketChecksumMode = "on" | "off" | "kernel";

/**
 * Zeek's `AF_Packet::*` options, as node.cfg's `af_packet_*` keys give them
 * (the layout's `NodeSpec.afPacket`) and as the AF_PACKET source takes them.
 */
export interface AfPacketSettings {
  /** Ring size in bytes (Zeek: `buffer_size`, 128 MiB). */
  readonly bufferSize: number;
  /** Block size in bytes, a multiple of the 4096-byte page (Zeek: `block_size`, 32 KiB). */
  readonly blockSize: number;
  /** Milliseconds after which the kernel hands over a block that is not full (Zeek: 10). */
  readonly blockTimeoutMs: number;
  /** PACKET_FANOUT group id, 0 … 65535 (Zeek: 23). */
  readonly fanoutId: number;
  readonly fanoutMode: AfPacketFanoutMode;
  readonly enableFanout: boolean;
  /** PACKET_FANOUT_FLAG_DEFRAG: the kernel reassembles IPv4 before hashing (the sockets then see no fragments). */
  readonly enableDefrag: boolean;
  /** NIC timestamps: not supported by weir; `true` is refused. */
  readonly enableHwTimestamping: boolean;
  /** The LINKTYPE_* reported for the packets (Zeek: 1, Ethernet). */
  readonly linkType: number;
  readonly checksumValidation: AfPacketChecksumMode;
}

/** Zeek's defaults (`scripts/init.zeek` of its AF_Packet plugin). */
export const DEFAULT_AF_PACKET_SETTINGS: AfPacketSettings = Object.freeze({
  bufferSize: 128 * 1024 * 1024,
  blockSize: 32 * 1024,
  blockTimeoutMs: 10,
  fanoutId: 23,
  fanoutMode: "hash",
  enableFanout: true,
  enableDefrag: false,
  enableHwTimestamping: false,
  linkType: 1,
  checksumValidation: "on",
});
