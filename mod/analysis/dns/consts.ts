/**
 * The name tables of Zeek's `base/protocols/dns/consts.zeek` that dns.log
 * prints (`qtype_name`, `qclass_name`, `rcode_name`, `opcode_name`), each
 * with the table's `&default` for numbers it does not list.
 *
 * @module
 */

const QUERY_TYPES: ReadonlyMap<number, string> = new Map([
  [1, "A"],
  [2, "NS"],
  [3, "MD"],
  [4, "MF"],
  [5, "CNAME"],
  [6, "SOA"],
  [7, "MB"],
  [8, "MG"],
  [9, "MR"],
  [10, "NULL"],
  [11, "WKS"],
  [12, "PTR"],
  [13, "HINFO"],
  [14, "MINFO"],
  [15, "MX"],
  [16, "TXT"],
  [17, "RP"],
  [18, "AFSDB"],
  [19, "X25"],
  [20, "ISDN"],
  [21, "RT"],
  [22, "NSAP"],
  [23, "NSAP-PTR"],
  [24, "SIG"],
  [25, "KEY"],
  [26, "PX"],
  [27, "GPOS"],
  [28, "AAAA"],
  [29, "LOC"],
  [30, "NXT"],
  [31, "EID"],
  [32, "NIMLOC"],
  [33, "SRV"],
  [34, "ATMA"],
  [35, "NAPTR"],
  [36, "KX"],
  [37, "CERT"],
  [38, "A6"],
  [39, "DNAME"],
  [40, "SINK"],
  [41, "OPT"],
  [42, "APL"],
  [43, "DS"],
  [44, "SSHFP"],
  [45, "IPSECKEY"],
  [46, "RRSIG"],
  [47, "NSEC"],
  [48, "DNSKEY"],
  [49, "DHCID"],
  [50, "NSEC3"],
  [51, "NSEC3PARAM"],
  [52, "TLSA"],
  [53, "SMIMEA"],
  [55, "HIP"],
  [56, "NINFO"],
  [57, "RKEY"],
  [58, "TALINK"],
  [59, "CDS"],
  [60, "CDNSKEY"],
  [61, "OPENPGPKEY"],
  [62, "CSYNC"],
  [63, "ZONEMD"],
  [64, "SVCB"],
  [65, "HTTPS"],
  [99, "SPF"],
  [100, "UINFO"],
  [101, "UID"],
  [102, "GID"],
  [103, "UNSPEC"],
  [104, "NID"],
  [105, "L32"],
  [106, "L64"],
  [107, "LP"],
  [108, "EUI48"],
  [109, "EUI64"],
  [249, "TKEY"],
  [250, "TSIG"],
  [251, "IXFR"],
  [252, "AXFR"],
  [253, "MAILB"],
  [254, "MAILA"],
  [255, "*"],
  [256, "URI"],
  [257, "CAA"],
  [32768, "TA"],
  [32769, "DLV"],
  [65281, "WINS"],
  [65282, "WINS-R"],
  [65422, "XPF"],
  [65521, "INTEGRITY"],
]);

const CLASSES: ReadonlyMap<number, string> = new Map([
  [1, "C_INTERNET"],
  [2, "C_CSNET"],
  [3, "C_CHAOS"],
  [4, "C_HESIOD"],
  [254, "C_NONE"],
  [255, "C_ANY"],
]);

const BASE_ERRORS: readonly string[] = [
  "NOERROR",
  "FORMERR",
  "SERVFAIL",
  "NXDOMAIN",
  "NOTIMP",
  "REFUSED",
  "YXDOMAIN",
  "YXRRSET",
  "NXRRSet", // sic: Zeek's table spells it in mixed case
  "NOTAUTH",
  "NOTZONE",
  "unassigned-11",
  "unassigned-12",
  "unassigned-13",
  "unassigned-14",
  "unassigned-15",
  "BADVERS",
  "BADKEY",
  "BADTIME",
  "BADMODE",
  "BADNAME",
  "BADALG",
  "BADTRUNC",
  "BADCOOKIE",
];

const OPCODES: ReadonlyMap<number, string> = new Map([
  [0, "query"],
  [1, "iquery"],
  [2, "server-status"],
  [4, "notify"],
  [5, "dynamic-update"],
  [6, "dso"],
]);

const NETBIOS_OPCODES: ReadonlyMap<number, string> = new Map([
  [0, "netbios-query"],
  [5, "netbios-registration"],
  [6, "netbios-release"],
  [7, "netbios-wack"],
  [8, "netbios-refresh"],
]);

/** `DNS::query_types[n]`: `A`, `AAAA`, …, `query-54`. */
export function queryTypeName(n: number): string {
  return QUERY_TYPES.get(n) ?? `query-${n}`;
}

/** `DNS::classes[n]`: `C_INTERNET`, …, `qclass-32769`. */
export function className(n: number): string {
  return CLASSES.get(n) ?? `qclass-${n}`;
}

/** `DNS::base_errors[n]`: `NOERROR`, …, `rcode-24`. */
export function rcodeName(n: number): string {
  if (n === 3842) return "BADSIG";
  return BASE_ERRORS[n] ?? `rcode-${n}`;
}

/** `DNS::opcodes[n]`, or `DNS::netbios_opcodes[n]` for NetBIOS name service messages. */
export function opcodeName(n: number, netbios: boolean): string {
  if (netbios) return NETBIOS_OPCODES.get(n) ?? `netbios-opcode-${n}`;
  return OPCODES.get(n) ?? `opcode-${n}`;
}
