/**
 * Linux AF_PACKET ABI on x86-64: constants and struct offsets of
 * TPACKET_V3 (from `linux/if_packet.h`, checked against live data in the
 * research note). Private to capture/.
 *
 * @module
 */

export const AF_PACKET = 17;
export const SOCK_RAW = 3;
/** `htons(ETH_P_ALL)`: every protocol, in network byte order as `socket()` and `sockaddr_ll` want it. */
export const ETH_P_ALL_BE = 0x0300;
export const SOL_PACKET = 263;

export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_MR_PROMISC = 1;
export const PACKET_RX_RING = 5;
export const PACKET_STATISTICS = 6;
export const PACKET_VERSION = 10;
export const PACKET_FANOUT = 18;
export const TPACKET_V3 = 2;

export const FANOUT_MODES = Object.freeze({
  hash: 0,
  lb: 1,
  cpu: 2,
  rollover: 3,
  rnd: 4,
  qm: 5,
});
export const FANOUT_FLAG_DEFRAG = 0x8000;

export const TP_STATUS_USER = 0x1;
export const TP_STATUS_CSUMNOTREADY = 0x8;
export const TP_STATUS_VLAN_VALID = 0x10;
export const TP_STATUS_CSUM_VALID = 0x80;

/** V3 frames only need a consistent size; Zeek uses 2048. */
export const FRAME_SIZE = 2048;
export const PAGE_SIZE = 4096;

/** `struct tpacket_req3`: seven u32. */
export const REQ3_WORDS = 7;
/** `struct sockaddr_ll`. */
export const SOCKADDR_LL_SIZE = 20;
/** `struct packet_mreq`. */
export const PACKET_MREQ_SIZE = 16;
/** `struct tpacket_stats_v3`: packets (drops included), drops, freeze_q_cnt. */
export const STATS_V3_WORDS = 3;

/** `struct tpacket_block_desc`, in u32 words from the block start. */
export const BLOCK_STATUS_WORD = 2;
export const BLOCK_NUM_PKTS_WORD = 3;
export const BLOCK_FIRST_PKT_WORD = 4;

/** `struct tpacket3_hdr`, in u32 words (and bytes for the u16 `tp_mac`). */
export const HDR_NEXT_WORD = 0;
export const HDR_SEC_WORD = 1;
export const HDR_NSEC_WORD = 2;
export const HDR_SNAPLEN_WORD = 3;
export const HDR_LEN_WORD = 4;
export const HDR_STATUS_WORD = 5;
export const HDR_MAC_BYTE = 24;
export const HDR_VLAN_TCI_WORD = 8;
