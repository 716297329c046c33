/**
 * Zeek's `likely_server_ports`: the ports the connection tracker treats as
 * server ports when it decides who originated a connection whose first
 * packet is not a plain SYN (TCP) or that comes from such a port (UDP).
 * Zeek fills the set from the `register_for_ports` calls of the loaded
 * scripts, so the right set depends on what Zeek would load; the two
 * ready-made lists are bare mode (`zeek -b`, tunnel ports only) and the
 * default `zeek -r` (every base analyzer).
 *
 * @module
 */

/** `zeek -b … base/protocols/conn`: the tunnel decapsulation ports. */
export const BARE_LIKELY_SERVER_PORTS: readonly string[] = Object.freeze([
  "2123/udp",
  "2152/udp",
  "3544/udp",
  "4754/udp",
  "4789/udp",
  "5072/udp",
  "6081/udp",
]);

const tcp = (...ports: number[]) => ports.map((p) => `${p}/tcp`);
const udp = (...ports: number[]) => ports.map((p) => `${p}/udp`);

/** Plain `zeek -r` with every base script loaded (research note §4.2, last row). */
export const DEFAULT_LIKELY_SERVER_PORTS: readonly string[] = Object.freeze([
  ...BARE_LIKELY_SERVER_PORTS,
  ...tcp(80, 81, 631, 1080, 3128, 8000, 8080, 8888),
  ...tcp(21, 2811),
  ...tcp(53),
  ...udp(53, 137, 5353, 5355),
  ...udp(67, 4011),
  ...tcp(22),
  ...udp(123),
  ...tcp(25, 587),
  ...tcp(88),
  ...udp(88),
  ...tcp(135, 139, 445, 143),
  ...udp(161, 162),
  ...tcp(389, 3268),
  ...udp(389),
  ...tcp(443, 465, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223),
  ...udp(443),
  ...tcp(502),
  ...tcp(514),
  ...udp(514),
  ...tcp(1434, 3306),
  ...udp(1812),
  ...tcp(1883),
  ...tcp(3389),
  ...udp(3389),
  ...udp(5060),
  ...tcp(5222, 5269, 5432, 6379, 6666, 6667, 6668, 6669),
  ...tcp(20000),
  ...udp(20000),
  ...tcp(79),
]);

const TCP_BIT = 1;
const UDP_BIT = 2;

/** Thrown when a port in a likely-server-ports list cannot be read. */
export class LikelyServerPortError extends Error {
  override readonly name = "LikelyServerPortError";
}

/** A set of TCP and UDP ports, tested in constant time on the packet path. */
export class LikelyServerPorts {
  readonly #bits = new Uint8Array(65536);
  /** The ports as given, normalised (`80/tcp`). */
  readonly list: readonly string[];

  private constructor(list: readonly string[]) {
    this.list = Object.freeze([...list]);
  }

  /**
   * Reads ports written as Zeek prints them: `80/tcp`, `53/udp`. Other
   * protocols never take part in the originator decision and are refused.
   */
  static parse(ports: Iterable<string>): LikelyServerPorts {
    const list: string[] = [];
    const bad: string[] = [];
    for (const text of ports) {
      const m = /^\s*(\d{1,5})\/(tcp|udp)\s*$/.exec(text);
      const port = m ? Number(m[1]) : -1;
      if (m === null || port > 65535) bad.push(JSON.stringify(text));
      else list.push(`${port}/${m[2]}`);
    }
    if (bad.length > 0) {
      throw new LikelyServerPortError(
        `Cannot use likely server ports ${
          bad.join(", ")
        }: write each as <0-65535>/tcp or <0-65535>/udp, e.g. "80/tcp"`,
      );
    }
    const set = new LikelyServerPorts(list);
    for (const entry of list) {
      const [port, proto] = entry.split("/");
      set.#bits[Number(port)]! |= proto === "tcp" ? TCP_BIT : UDP_BIT;
    }
    return set;
  }

  /** Whether `port` of IP protocol `proto` (6 or 17) is in the set. */
  has(port: number, proto: number): boolean {
    const bit = proto === 6 ? TCP_BIT : proto === 17 ? UDP_BIT : 0;
    return (this.#bits[port]! & bit) !== 0;
  }
}
