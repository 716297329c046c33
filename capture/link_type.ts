/**
 * The pcap LINKTYPE_* values weir decodes, as written in pcap and pcapng
 * headers (tcpdump.org/linktypes.html). Raw IP has three numbers in the wild
 * because BSDs used different DLT_RAW values before LINKTYPE_RAW existed.
 *
 * @module
 */

/** BSD loopback: a 4-byte address family in the capturing host's byte order. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** FDDI with an 802.2 LLC/SNAP header. */
export const LINKTYPE_FDDI = 10;
/** Raw IP as OpenBSD's DLT_RAW wrote it. */
export const LINKTYPE_RAW_12 = 12;
/** Raw IP as BSD/OS's DLT_RAW wrote it. */
export const LINKTYPE_RAW_14 = 14;
/** Raw IP, version taken from the first nibble. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: like NULL but the family is big-endian. */
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, "NULL"],
  [LINKTYPE_ETHERNET, "ETHERNET"],
  [LINKTYPE_FDDI, "FDDI"],
  [LINKTYPE_RAW_12, "RAW"],
  [LINKTYPE_RAW_14, "RAW"],
  [LINKTYPE_RAW, "RAW"],
  [LINKTYPE_LOOP, "LOOP"],
  [LINKTYPE_LINUX_SLL, "LINUX_SLL"],
  [LINKTYPE_IPV4, "IPV4"],
  [LINKTYPE_IPV6, "IPV6"],
  [LINKTYPE_LINUX_SLL2, "LINUX_SLL2"],
]);

/** Whether the decoder understands frames of this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  return NAMES.has(linkType);
}

/** `ETHERNET (1)`, or `LINKTYPE 147` for one weir does not decode. */
export function linkTypeName(linkType: number): string {
  const name = NAMES.get(linkType);
  return name === undefined ? `LINKTYPE ${linkType}` : `${name} (${linkType})`;
}
