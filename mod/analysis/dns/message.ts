/**
 * One DNS message's header as Zeek's `DNS_MsgInfo` holds it, and the
 * answer types of its sections (Z: src/analyzer/protocol/dns/DNS.h).
 *
 * @module
 */

/** `DNS_AnswerType`: which section an RR came from. */
export const DNS_QUESTION = 0;
export const DNS_ANSWER = 1;
export const DNS_AUTHORITY = 2;
export const DNS_ADDITIONAL = 3;
export const DNS_PREREQUISITES = 4;
export const DNS_UPDATES = 5;

export const OP_QUERY = 0;
export const OP_NOTIFY = 4;
export const OP_DYNAMIC_UPDATE = 5;

/** The header fields of one message. */
export interface DnsHeader {
  readonly id: number;
  readonly opcode: number;
  readonly rcode: number;
  readonly QR: boolean;
  readonly AA: boolean;
  readonly TC: boolean;
  readonly RD: boolean;
  readonly RA: boolean;
  /** The 3 bits after RA (reserved, AD, CD), as Zeek's `Z`. */
  readonly Z: number;
  readonly qdCount: number;
  readonly anCount: number;
  readonly nsCount: number;
  readonly arCount: number;
  /** Either port of the connection is 137 (NetBIOS name service). */
  readonly isNetbios: boolean;
}

/** Reads the 12-byte header at `data[0]` (the caller checked the length). */
export function readHeader(data: Uint8Array, isNetbios: boolean): DnsHeader {
  const flags = (data[2]! << 8) | data[3]!;
  return {
    id: (data[0]! << 8) | data[1]!,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    QR: (flags & 0x8000) !== 0,
    AA: (flags & 0x0400) !== 0,
    TC: (flags & 0x0200) !== 0,
    RD: (flags & 0x0100) !== 0,
    RA: (flags & 0x0080) !== 0,
    Z: (flags & 0x0070) >> 4,
    qdCount: (data[4]! << 8) | data[5]!,
    anCount: (data[6]! << 8) | data[7]!,
    nsCount: (data[8]! << 8) | data[9]!,
    arCount: (data[10]! << 8) | data[11]!,
    isNetbios,
  };
}

/** What the script layer learns of one resource record (`dns_answer`). */
export interface DnsAnswer {
  readonly answerType: number;
  /** The owner name, lower-cased (a byte string). */
  readonly query: string;
  readonly qtype: number;
  readonly qclass: number;
  /** Seconds. */
  readonly ttl: number;
}
