/**
 * Zeek's `DNS_Interpreter` (Z: src/analyzer/protocol/dns/DNS.cc): one
 * message at a time, header, questions, answers and (when configured) the
 * authority and additional sections, with Zeek's weirds, its confirmation
 * and violation points, and its exact cursor arithmetic, quirks included
 * (a name-bearing RR advances by what its name consumed, not by
 * `rdlength`; WKS and dynamic-update prerequisites consume nothing; short
 * reads yield 0 without advancing). What Zeek raises as events goes to a
 * `DnsScript`, the part of the base scripts that builds dns.log.
 *
 * Which RR types are parsed and which are skipped follows the event
 * handlers of `base/protocols/dns`: types without a handler there (HINFO,
 * CAA, TKEY) are skipped by `rdlength`, so their weirds cannot fire, as in
 * Zeek.
 *
 * Never throws on input: every read is checked against the message end,
 * every loop is bounded by a count and by the bytes left.
 *
 * @module
 */

import { formatAddr } from "../../../zeek/mod.ts";
import { asciiLower, byteString, fmtString, hexString } from "./byte_strings.ts";
import { queryTypeName } from "./consts.ts";
import {
  DNS_ADDITIONAL,
  DNS_ANSWER,
  DNS_AUTHORITY,
  DNS_PREREQUISITES,
  DNS_UPDATES,
  type DnsAnswer,
  type DnsHeader,
  OP_DYNAMIC_UPDATE,
  OP_NOTIFY,
  OP_QUERY,
  readHeader,
} from "./message.ts";
import { NAME_CAPACITY, NameReader, TSIG_NAME_CAPACITY } from "./names.ts";

/** `dns_max_queries`. */
export const DEFAULT_MAX_QUERIES = 25;

/** The events of one message, as the script layer receives them. */
export interface DnsScript {
  /** `dns_message`. */
  message(msg: DnsHeader): void;
  /** `dns_request`, once per question of a query; `query` is lower-cased. */
  request(msg: DnsHeader, query: string, qtype: number, qclass: number): void;
  /** `dns_rejected`, once per question of a reply without any RR. */
  rejected(msg: DnsHeader): void;
  /** `DNS::do_reply`, through the per-type reply event, with the rendered answer. */
  reply(msg: DnsHeader, ans: DnsAnswer, reply: string): void;
  /** `dns_end`. */
  end(msg: DnsHeader): void;
}

/** What the interpreter needs of its connection. */
export interface InterpreterHost {
  weird(name: string, addl?: string): void;
  history(letter: string): void;
  violate(reason: string): void;
  confirm(): void;
  flip(): void;
  respIsMulticast(): boolean;
  /** The responder port now (after any flip). */
  respPort(): number;
  /** The connection runs over UDP (EDNS TCP keepalive weird). */
  readonly udp: boolean;
}

/** Zeek options the interpreter reads. */
export interface InterpreterOptions {
  /** `dns_max_queries` (0 disables the check). */
  readonly maxQueries?: number | undefined;
  /** `dns_max_compression_chain_depth`. */
  readonly maxCompressionDepth?: number | undefined;
  /** `dns_skip_all_auth` (default true). */
  readonly skipAllAuth?: boolean;
  /** `dns_skip_all_addl` (default true). */
  readonly skipAllAddl?: boolean;
}

const TYPE_A = 1;
const TYPE_NS = 2;
const TYPE_CNAME = 5;
const TYPE_SOA = 6;
const TYPE_WKS = 11;
const TYPE_PTR = 12;
const TYPE_HINFO = 13;
const TYPE_MX = 15;
const TYPE_TXT = 16;
const TYPE_AAAA = 28;
const TYPE_LOC = 29;
const TYPE_NBS = 32;
const TYPE_SRV = 33;
const TYPE_NAPTR = 35;
const TYPE_A6 = 38;
const TYPE_EDNS = 41;
const TYPE_DS = 43;
const TYPE_SSHFP = 44;
const TYPE_RRSIG = 46;
const TYPE_NSEC = 47;
const TYPE_DNSKEY = 48;
const TYPE_NSEC3 = 50;
const TYPE_NSEC3PARAM = 51;
const TYPE_SVCB = 64;
const TYPE_HTTPS = 65;
const TYPE_SPF = 99;
const TYPE_TKEY = 249;
const TYPE_TSIG = 250;
const TYPE_CAA = 257;
const TYPE_BINDS = 65534;

const TYPE_ANY = 255;
const CLASS_NONE = 254;
const CLASS_ANY = 255;
const NETBIOS_PORT = 137;

const EDNS_ECS = 8;
const EDNS_TCP_KA = 11;

/** DNSSEC algorithms Zeek accepts silently (RSA_MD5 1, 252–254 and others raise weirds). */
const KNOWN_ALGORITHMS = new Set([2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16]);

const NO_BYTES = new Uint8Array(0);

/** One connection's interpreter (Zeek has one per DNS analyzer). */
export class DnsInterpreter {
  readonly #host: InterpreterHost;
  readonly #script: DnsScript;
  readonly #names: NameReader;
  readonly #maxQueries: number;
  readonly #skipAllAuth: boolean;
  readonly #skipAllAddl: boolean;
  readonly #isNetbios: boolean;
  #firstMessage = true;

  // The message being parsed and Zeek's (data, len) cursor as [#p, #end).
  #d: Uint8Array = NO_BYTES;
  #p = 0;
  #end = 0;
  // Per-RR state of DNS_MsgInfo.
  #msg!: DnsHeader;
  #isDynamicUpdate = false;
  #skipEvent = false;
  #answerType = 0;
  #owner = "";
  #atype = 0;
  #aclass = 0;
  #zclass = 0;
  #ttl = 0;

  constructor(
    host: InterpreterHost,
    script: DnsScript,
    isNetbios: boolean,
    options: InterpreterOptions = {},
  ) {
    this.#host = host;
    this.#script = script;
    this.#isNetbios = isNetbios;
    this.#maxQueries = options.maxQueries ?? DEFAULT_MAX_QUERIES;
    this.#skipAllAuth = options.skipAllAuth ?? true;
    this.#skipAllAddl = options.skipAllAddl ?? true;
    this.#names = new NameReader(this, options.maxCompressionDepth);
  }

  /** `NameProblems`: a name weird goes to the connection. */
  weird(name: string, addl?: string): void {
    this.#host.weird(name, addl);
  }

  /** `NameProblems`: `LimitReachedWeird`, a weird with the value and history `X`. */
  limitReached(name: string, value: number): void {
    this.#host.weird(name, String(value));
    this.#host.history("X");
  }

  /**
   * `ParseMessage`: `isQuery` is 1 from the originator, 0 from the
   * responder, 2 for a TCP partial message flushed at close (direction
   * unknown, never flips).
   */
  parseMessage(data: Uint8Array, isQuery: 0 | 1 | 2): void {
    const host = this.#host;
    if (data.length < 12) {
      host.weird("DNS_truncated_len_lt_hdr_len");
      return;
    }
    const opcode = (data[2]! >> 3) & 0xf;
    if (
      opcode !== OP_QUERY && opcode !== OP_DYNAMIC_UPDATE && !this.#isNetbios &&
      opcode !== OP_NOTIFY
    ) {
      host.weird("DNS_unknown_opcode", String(opcode));
      host.history("X");
      return;
    }
    const msg = readHeader(data, this.#isNetbios);
    if (this.#firstMessage && msg.QR && isQuery === 1 && !host.respIsMulticast()) host.flip();
    this.#firstMessage = false;
    this.#names.longLabels = host.respPort() === NETBIOS_PORT;
    this.#msg = msg;
    this.#d = data;
    this.#p = 12;
    this.#end = data.length;
    this.#isDynamicUpdate = opcode === OP_DYNAMIC_UPDATE && !this.#isNetbios;
    this.#skipEvent = false;
    this.#zclass = 0;
    const script = this.#script;
    script.message(msg);

    if (this.#maxQueries > 0 && msg.qdCount > this.#maxQueries) {
      host.violate("DNS_Conn_count_too_large");
      host.weird("DNS_Conn_count_too_large", `${msg.qdCount} > ${this.#maxQueries}`);
      host.history("X");
      script.end(msg);
      return;
    }

    if (this.#isDynamicUpdate) {
      if (msg.qdCount !== 1) {
        host.weird("DNS_DU_invalid_zone_count", String(msg.qdCount));
        script.end(msg);
        return;
      }
      if (!this.#answerHeader()) {
        script.end(msg);
        return;
      }
      if (this.#atype !== TYPE_SOA) {
        host.weird("DNS_DU_incorrect_zone_type");
        return;
      }
      this.#zclass = this.#aclass;
      if (
        !this.#answers(msg.anCount, DNS_PREREQUISITES) ||
        !this.#answers(msg.nsCount, DNS_UPDATES)
      ) {
        script.end(msg);
        return;
      }
    } else {
      if (!this.#questions(msg.qdCount) || !this.#answers(msg.anCount, DNS_ANSWER)) {
        script.end(msg);
        return;
      }
    }

    host.confirm();

    let skipAuth = this.#skipAllAuth;
    let skipAddl = this.#skipAllAddl;
    if (msg.anCount > 0) {
      skipAuth ||= msg.nsCount === 0;
      skipAddl ||= msg.arCount === 0;
    }
    if (skipAuth && skipAddl) {
      script.end(msg);
      return;
    }
    if (!this.#isDynamicUpdate) {
      this.#skipEvent = skipAuth;
      if (!this.#answers(msg.nsCount, DNS_AUTHORITY)) {
        script.end(msg);
        return;
      }
    }
    if (!skipAddl) {
      this.#skipEvent = false;
      this.#answers(msg.arCount, DNS_ADDITIONAL);
    }
    script.end(msg);
  }

  // Zeek's ExtractByte/Short/Long: 0 without advancing when too few bytes are left.

  #byte(): number {
    if (this.#end - this.#p < 1) return 0;
    return this.#d[this.#p++]!;
  }

  #short(): number {
    if (this.#end - this.#p < 2) return 0;
    const d = this.#d;
    const p = this.#p;
    this.#p = p + 2;
    return (d[p]! << 8) | d[p + 1]!;
  }

  #long(): number {
    if (this.#end - this.#p < 4) return 0;
    const d = this.#d;
    const p = this.#p;
    this.#p = p + 4;
    return ((d[p]! << 24) | (d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!) >>> 0;
  }

  get #len(): number {
    return this.#end - this.#p;
  }

  /** Advances by `n` bytes, never past the end (`ExtractStream`'s min with len). */
  #skip(n: number): number {
    const k = Math.max(0, Math.min(n, this.#end - this.#p));
    this.#p += k;
    return k;
  }

  #name(downcase: boolean, capacity = NAME_CAPACITY): string | undefined {
    const p = this.#names.read(this.#d, this.#p, this.#end, downcase, capacity);
    if (p < 0) return undefined;
    this.#p = p;
    return this.#names.name;
  }

  #questions(n: number): boolean {
    while (n > 0 && this.#question()) n--;
    return n === 0;
  }

  #answers(n: number, answerType: number): boolean {
    this.#answerType = answerType;
    while (n > 0 && this.#answer()) n--;
    return n === 0;
  }

  #question(): boolean {
    const name = this.#name(false);
    if (name === undefined) return false;
    if (this.#len < 4) {
      this.#host.weird("DNS_truncated_quest_too_short");
      return false;
    }
    const msg = this.#msg;
    const qtype = this.#short();
    const qclass = this.#short();
    if (!msg.QR) {
      this.#script.request(msg, asciiLower(name), qtype, qclass);
    } else if (msg.anCount === 0 && msg.nsCount === 0 && msg.arCount === 0) {
      this.#script.rejected(msg);
    }
    return true;
  }

  #answerHeader(): boolean {
    const name = this.#name(true);
    if (name === undefined) return false;
    if (this.#len < 4) {
      this.#host.weird("DNS_truncated_ans_too_short");
      return false;
    }
    this.#owner = name;
    this.#atype = this.#short();
    this.#aclass = this.#short();
    return true;
  }

  #reply(reply: string): void {
    if (this.#skipEvent) return;
    this.#script.reply(this.#msg, {
      answerType: this.#answerType,
      query: this.#owner,
      qtype: this.#atype,
      qclass: this.#aclass,
      ttl: this.#ttl,
    }, reply);
  }

  #answer(): boolean {
    if (!this.#answerHeader()) return false;
    const host = this.#host;
    this.#ttl = this.#long();
    const rdlength = this.#short();
    if (rdlength > this.#len) {
      host.weird("DNS_truncated_RR_rdlength_lt_len");
      return false;
    }
    if (this.#isDynamicUpdate) {
      if (this.#answerType === DNS_UPDATES) {
        if (this.#aclass === CLASS_ANY && this.#ttl === 0 && rdlength === 0) {
          this.#reply(
            this.#atype === TYPE_ANY
              ? `del: RRSet * ${fmtString(this.#owner)}`
              : `del: RRSet ${queryTypeName(this.#atype)}`,
          );
          return true;
        }
        if (
          !((this.#aclass === CLASS_NONE && this.#ttl === 0) || this.#aclass === this.#zclass)
        ) {
          host.weird("DNS_dynamic_update_invalid_update");
          return true;
        }
      } else if (this.#answerType === DNS_PREREQUISITES) {
        if (this.#ttl !== 0) {
          host.weird("DNS_dynamic_update_prereq_nonzero_ttl", String(this.#ttl | 0));
        } else if (
          ((this.#aclass === CLASS_ANY || this.#aclass === CLASS_NONE) && rdlength === 0) ||
          this.#aclass === this.#zclass
        ) {
          this.#reply(`pre: ${prerequisite(this.#aclass, this.#atype, this.#owner)}`);
        } else {
          host.weird("DNS_dynamic_update_invalid_prereq");
        }
        return true;
      }
    }
    if (rdlength === 0 && this.#len > 0) {
      if (this.#isDynamicUpdate) return true;
      host.weird("DNS_zero_rdlength");
      return false;
    }
    switch (this.#atype) {
      case TYPE_A:
        return this.#rrA(rdlength);
      case TYPE_A6:
      case TYPE_AAAA:
        return this.#rrAAAA();
      case TYPE_NS:
      case TYPE_CNAME:
      case TYPE_PTR:
        return this.#rrName(rdlength);
      case TYPE_SOA:
        return this.#rrSOA(rdlength);
      case TYPE_WKS:
        // The base scripts handle dns_WKS_reply, and Zeek's WKS parser then consumes nothing.
        if (this.#skipEvent) this.#skip(rdlength);
        else this.#reply("");
        return true;
      case TYPE_HINFO:
      case TYPE_CAA:
      case TYPE_NBS:
      case TYPE_TKEY:
        // No handler in the base scripts (NBS is never parsed): skipped by rdlength.
        this.#skip(rdlength);
        return true;
      case TYPE_MX:
        return this.#rrMX(rdlength);
      case TYPE_TXT:
        return this.#rrTXT(rdlength, "TXT");
      case TYPE_SPF:
        return this.#rrTXT(rdlength, "SPF");
      case TYPE_SRV:
        // On the NetBIOS name service this is NBSTAT, which Zeek leaves unparsed and unconsumed.
        if (host.respPort() === NETBIOS_PORT) return true;
        return this.#rrSRV(rdlength);
      case TYPE_NAPTR:
        return this.#rrNAPTR(rdlength);
      case TYPE_EDNS:
        return this.#rrEDNS(rdlength);
      case TYPE_TSIG:
        return this.#rrTSIG();
      case TYPE_RRSIG:
        return this.#rrRRSIG(rdlength);
      case TYPE_DNSKEY:
        return this.#rrDNSKEY(rdlength);
      case TYPE_NSEC:
        return this.#rrNSEC(rdlength);
      case TYPE_NSEC3:
        return this.#rrNSEC3(rdlength);
      case TYPE_NSEC3PARAM:
        return this.#rrNSEC3PARAM(rdlength);
      case TYPE_DS:
        return this.#rrDS(rdlength);
      case TYPE_BINDS:
        return this.#rrBINDS(rdlength);
      case TYPE_SSHFP:
        return this.#rrSSHFP(rdlength);
      case TYPE_LOC:
        return this.#rrLOC(rdlength);
      case TYPE_SVCB:
      case TYPE_HTTPS:
        return this.#rrSVCB(rdlength);
      default:
        this.#reply(`<unknown type=${this.#atype}>`);
        host.weird("DNS_RR_unknown_type", String(this.#atype));
        this.#skip(rdlength);
        return true;
    }
  }

  /** Whether an event-driven parser would skip the rdata (no handler, or a skipped section). */
  #skipped(rdlength: number): boolean {
    if (!this.#skipEvent) return false;
    this.#skip(rdlength);
    return true;
  }

  #rrA(rdlength: number): boolean {
    if (rdlength !== 4) {
      this.#host.weird("DNS_RR_bad_length");
      return false;
    }
    const a = this.#long();
    const text = `${a >>> 24}.${(a >> 16) & 0xff}.${(a >> 8) & 0xff}.${a & 0xff}`;
    this.#reply(this.#duPrefix("A") + text);
    return true;
  }

  #rrAAAA(): boolean {
    const addr = new Uint8Array(16);
    for (let i = 0; i < 4; i++) {
      const w = this.#long();
      addr[4 * i] = w >>> 24;
      addr[4 * i + 1] = (w >> 16) & 0xff;
      addr[4 * i + 2] = (w >> 8) & 0xff;
      addr[4 * i + 3] = w & 0xff;
    }
    this.#reply(
      this.#duPrefix(this.#atype === TYPE_AAAA ? "AAAA" : "A6") + formatAddr(addr, 0, 16),
    );
    return true;
  }

  /** `A <owner> ` in a dynamic update (`fmt("A %s %s", ans$query, a)`), else nothing. */
  #duPrefix(type: string): string {
    if (this.#msg.opcode === OP_DYNAMIC_UPDATE && !this.#isNetbios) {
      return `${type} ${fmtString(this.#owner)} `;
    }
    return "";
  }

  #rrName(rdlength: number): boolean {
    const start = this.#p;
    const name = this.#name(true);
    if (name === undefined) return false;
    if (this.#p - start !== rdlength) this.#host.weird("DNS_RR_length_mismatch");
    this.#reply(name);
    return true;
  }

  #rrSOA(rdlength: number): boolean {
    const start = this.#p;
    const mname = this.#name(true);
    if (mname === undefined) return false;
    if (this.#name(true) === undefined) return false;
    if (this.#len < 20) return false;
    this.#p += 20;
    if (this.#p - start !== rdlength) this.#host.weird("DNS_RR_length_mismatch");
    this.#reply(mname);
    return true;
  }

  #rrMX(rdlength: number): boolean {
    const start = this.#p;
    this.#short();
    const name = this.#name(true);
    if (name === undefined) return false;
    if (this.#p - start !== rdlength) this.#host.weird("DNS_RR_length_mismatch");
    this.#reply(name);
    return true;
  }

  #rrSRV(rdlength: number): boolean {
    const start = this.#p;
    this.#short();
    this.#short();
    this.#short();
    const name = this.#name(true);
    if (name === undefined) return false;
    if (this.#p - start !== rdlength) this.#host.weird("DNS_RR_length_mismatch");
    this.#reply(name);
    return true;
  }

  /**
   * `extract_char_string`: a length byte and that many bytes, within
   * `rd.left`; undefined at the end or (with a weird) when it overruns.
   */
  #charString(rd: { left: number }): string | undefined {
    if (rd.left <= 0) return undefined;
    const size = this.#d[this.#p]!;
    rd.left--;
    this.#p++;
    if (size > rd.left) {
      this.#host.weird("DNS_TXT_char_str_past_rdlen");
      return undefined;
    }
    const s = byteString(this.#d, this.#p, this.#p + size);
    rd.left -= size;
    this.#p += size;
    return s;
  }

  #rrTXT(rdlength: number, kind: "TXT" | "SPF"): boolean {
    if (this.#skipped(rdlength)) return true;
    const rd = { left: rdlength };
    let out = "";
    let first = true;
    for (let s = this.#charString(rd); s !== undefined; s = this.#charString(rd)) {
      if (!first) out += " ";
      first = false;
      out += `${kind} ${s.length} ${fmtString(s)}`;
    }
    this.#reply(out);
    return rd.left === 0;
  }

  #rrNAPTR(rdlength: number): boolean {
    const order = this.#short();
    const preference = this.#short();
    const rd = { left: rdlength - 4 };
    if (this.#len <= 0 || rd.left <= 0) {
      this.#host.violate("DNS_NAPTR_too_short");
      return false;
    }
    const flags = this.#charString(rd);
    const service = this.#charString(rd);
    const regexp = this.#charString(rd);
    const replacement = this.#name(false);
    if (
      flags === undefined || service === undefined || regexp === undefined ||
      replacement === undefined
    ) {
      this.#host.violate("DNS_NAPTR_RR_too_short");
      return false;
    }
    let tail = regexp;
    if (replacement.length > 0) {
      if (tail.length > 0) tail += " ";
      tail += replacement;
    }
    this.#reply(
      `NAPTR ${order} ${preference} ${fmtString(flags)} ${fmtString(service)} ${fmtString(tail)}`,
    );
    return true;
  }

  #rrEDNS(rdlength: number): boolean {
    const host = this.#host;
    let remaining = rdlength;
    while (remaining >= 4) {
      const code = this.#short();
      const optionLen = this.#short();
      remaining -= 4;
      if (optionLen > remaining) {
        host.weird("EDNS_truncated_option");
        return false;
      }
      const at = this.#p;
      if (code === EDNS_ECS) {
        this.#ecs(at, optionLen);
      } else if (code === EDNS_TCP_KA) {
        if ((optionLen === 0 || optionLen === 2) && host.udp) {
          host.weird("EDNS_TCP_Keepalive_In_UDP");
        }
      }
      this.#p = at;
      this.#skip(optionLen);
      remaining -= optionLen;
    }
    if (remaining !== 0) {
      host.weird("EDNS_truncated_option");
      return false;
    }
    return true;
  }

  /** The EDNS client subnet option's checks (its event has no handler). */
  #ecs(at: number, optionLen: number): void {
    const host = this.#host;
    if (optionLen <= 4) {
      host.weird("EDNS_ECS_invalid_option_len");
      return;
    }
    const family = this.#short();
    const sourceScope = this.#short();
    const sourcePrefix = (sourceScope >> 8) & 0xff;
    const have = (optionLen - (this.#p - at)) * 8;
    if (family === 1) {
      if (sourcePrefix > 32) {
        host.weird("EDNS_ECS_invalid_addr_v4_prefix", `${sourcePrefix} bits`);
      } else if (sourcePrefix > have) {
        host.weird("EDNS_ECS_invalid_addr_v4", `need ${sourcePrefix} bits, have ${have} bits`);
      }
    } else if (family === 2) {
      if (sourcePrefix > 128) {
        host.weird("EDNS_ECS_invalid_addr_v6_prefix", `${sourcePrefix} bits`);
      } else if (sourcePrefix > have) {
        host.weird("EDNS_ECS_invalid_addr_v6", `need ${sourcePrefix} bits, have ${have} bits`);
      }
    }
  }

  /** `ExtractOctets`: a 16-bit length and up to that many bytes. */
  #octets(): void {
    this.#skip(this.#short());
  }

  #rrTSIG(): boolean {
    if (this.#name(true, TSIG_NAME_CAPACITY) === undefined) return false;
    this.#long();
    this.#short();
    this.#short();
    this.#octets();
    this.#short();
    this.#short();
    this.#octets();
    return true;
  }

  #rrRRSIG(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 18) return false;
    const typeCovered = this.#short();
    const algorithm = this.#short() >> 8;
    this.#p += 14;
    const start = this.#p;
    const signer = this.#name(true);
    if (signer === undefined) return false;
    this.#skip(rdlength - ((this.#p - start) + 18));
    this.#algorithmWeird("RRSIG", algorithm);
    this.#reply(`RRSIG ${typeCovered} ${signer === "" ? "<Root>" : fmtString(signer)}`);
    return true;
  }

  #algorithmWeird(rr: "RRSIG" | "DNSKEY", algorithm: number): void {
    if (KNOWN_ALGORITHMS.has(algorithm)) return;
    const kind = algorithm === 1
      ? "NotRecommended"
      : algorithm === 252
      ? "Indirect"
      : algorithm === 253
      ? "PrivateDNS"
      : algorithm === 254
      ? "PrivateOID"
      : "unknown";
    this.#host.weird(`DNSSEC_${rr}_${kind}_ZoneSignAlgo`, String(algorithm));
  }

  #rrDNSKEY(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 4) return false;
    const flags = this.#short();
    const protoAlgo = this.#short();
    const protocol = protoAlgo >> 8;
    const algorithm = protoAlgo & 0xff;
    this.#skip(rdlength - 4);
    const host = this.#host;
    if ((flags & 0xfe7e) !== 0) host.weird("DNSSEC_DNSKEY_Invalid_Flag", String(flags));
    if ((flags & 0x0181) === 0x0181) host.weird("DNSSEC_DNSKEY_Revoked_KSK", String(flags));
    if (protocol !== 3) host.weird("DNSSEC_DNSKEY_Invalid_Protocol", String(protocol));
    this.#algorithmWeird("DNSKEY", algorithm);
    this.#reply(`DNSKEY ${algorithm}`);
    return true;
  }

  /** NSEC/NSEC3 type bitmaps: `(window, length, bitmap)` blocks within what rdlength leaves. */
  #bitmaps(left: number, weird: string): void {
    while (left > 0 && this.#len > 0) {
      const blockLen = this.#short();
      const bmlen = blockLen & 0xff;
      if (bmlen === 0) {
        this.#host.weird(weird, String(blockLen >> 8));
        return;
      }
      this.#skip(bmlen);
      left -= 2 + bmlen;
    }
  }

  #rrNSEC(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    const start = this.#p;
    const next = this.#name(true);
    if (next === undefined) return false;
    this.#bitmaps(rdlength - (this.#p - start), "DNSSEC_NSEC_bitmapLen0");
    this.#reply(`NSEC ${fmtString(this.#owner)} ${fmtString(next)}`);
    return true;
  }

  #rrNSEC3(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 6) return false;
    const start = this.#p;
    this.#short();
    this.#short();
    this.#skip(this.#byte());
    this.#skip(this.#byte());
    this.#bitmaps(rdlength - (this.#p - start), "DNSSEC_NSEC3_bitmapLen0");
    this.#reply("NSEC3");
    return true;
  }

  #rrNSEC3PARAM(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 5) return false;
    this.#short();
    this.#short();
    this.#skip(this.#byte());
    this.#reply("NSEC3PARAM");
    return true;
  }

  #rrDS(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 4) return false;
    this.#short();
    const algoType = this.#short();
    const algorithm = algoType >> 8;
    const digestType = algoType & 0xff;
    this.#skip(rdlength - 4);
    if (digestType === 0) {
      this.#host.weird("DNSSEC_DS_ReservedDigestType", String(digestType));
    } else if (digestType > 4) {
      this.#host.weird("DNSSEC_DS_unknown_DigestType", String(digestType));
    }
    this.#reply(`DS ${algorithm} ${digestType}`);
    return true;
  }

  #rrBINDS(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 5) return false;
    this.#p += 5;
    this.#reply("BIND9 signing signal");
    return true;
  }

  #rrSSHFP(rdlength: number): boolean {
    if (this.#skipped(rdlength)) return true;
    if (this.#len < 2) return false;
    this.#short();
    const from = this.#p;
    const n = this.#skip(rdlength - 2);
    this.#reply(`SSHFP: ${hexString(this.#d, from, from + n)}`);
    return true;
  }

  #rrLOC(rdlength: number): boolean {
    if (rdlength !== 16) {
      this.#host.weird("dns_invalid_loc_length");
      return false;
    }
    if (this.#skipped(rdlength)) return true;
    const d = this.#d;
    const p = this.#p;
    const version = d[p]!;
    const size = d[p + 1]!;
    const horizontal = d[p + 2]!;
    const vertical = d[p + 3]!;
    this.#p = p + 16;
    if (version !== 0) this.#host.weird("DNS_LOC_version_unrecognized", String(version));
    this.#reply(`LOC:  ${size} ${horizontal} ${vertical}`);
    return true;
  }

  #rrSVCB(rdlength: number): boolean {
    const host = this.#host;
    const start = this.#p;
    if (rdlength < 3) {
      host.weird("DNS_SVCB_wrong_length");
      return false;
    }
    const priority = this.#short();
    if (this.#name(false) === undefined) return false;
    const paramsLen = rdlength - (this.#p - start);
    if (paramsLen > 0) {
      if (priority === 0) host.weird("DNS_SVCB_aliasmode_with_params");
      this.#svcParams(paramsLen);
    }
    return true;
  }

  /** `Parse_SvcParams`: only its weirds and consumption matter (no handler in the base scripts). */
  #svcParams(left: number): void {
    const host = this.#host;
    while (left >= 4) {
      const key = this.#short();
      let valueLen = this.#short();
      left -= 4;
      let malformed = false;
      if (valueLen > left) {
        host.weird("DNS_SVCB_param_value_toobig", `${valueLen} capped to ${left}`);
        valueLen = left;
        malformed = true;
      } else {
        switch (key) {
          case 0: // mandatory
            if (valueLen === 0 || valueLen % 2 !== 0) {
              host.weird("DNS_SVCB_mandatory_length_invalid");
              malformed = true;
            } else {
              this.#skip(valueLen);
            }
            break;
          case 1: { // alpn
            const at = this.#p;
            let parsed = 0;
            let bad = false;
            while (parsed + 2 <= valueLen) {
              const n = this.#byte();
              parsed += 1;
              if (n === 0 || n + parsed > valueLen) {
                bad = true;
                break;
              }
              this.#skip(n);
              parsed += n;
            }
            if (bad || parsed !== valueLen) {
              host.weird("DNS_SVCB_alpn_length_invalid");
              this.#p = at;
              malformed = true;
            }
            break;
          }
          case 2: // no-default-alpn
            if (valueLen > 0) {
              host.weird("DNS_SVCB_nodefaultalpn_value");
              malformed = true;
            }
            break;
          case 3: // port
            if (valueLen !== 2) {
              host.weird("DNS_SVCB_port_length_invalid");
              malformed = true;
            } else {
              this.#short();
            }
            break;
          case 4: // ipv4hint
          case 6: // ipv6hint
            if (valueLen % (key === 4 ? 4 : 16) !== 0) {
              host.weird("DNS_SVCB_hint_length_invalid");
              malformed = true;
            } else {
              this.#skip(valueLen);
            }
            break;
          case 5: // ech
            this.#skip(valueLen);
            break;
          default:
            host.weird("DNS_SVCB_key_reserved_or_invalid");
            malformed = true;
        }
      }
      if (malformed) this.#skip(valueLen);
      left -= valueLen;
    }
  }
}

/** The text of `dns_dynamic_update_pre` in `base/protocols/dns/main.zeek`. */
function prerequisite(qclass: number, qtype: number, name: string): string {
  const owner = fmtString(name);
  if (qclass === CLASS_NONE && qtype === TYPE_ANY) return `NameNotInUse ${owner}`;
  if (qclass === CLASS_ANY && qtype === TYPE_ANY) return `NameInUse ${owner}`;
  if (qclass === CLASS_NONE) return `NoRRSet ${queryTypeName(qtype)} ${owner}`;
  return `RRSetExists ${queryTypeName(qtype)} ${owner}`;
}
