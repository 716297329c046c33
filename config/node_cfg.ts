/**
 * zeekctl's `node.cfg`: one `[name]` section per node; `lb_procs` with
 * `lb_method` expands a worker section into `<name>-1 … <name>-N`; the
 * `af_packet_*` keys carry Zeek's `AF_Packet::*` options with Zeek's
 * defaults. The result lists nodes in zeekctl's order (manager, loggers,
 * proxies, workers; node.cfg order within a type), before any host name is
 * resolved or any port handed out.
 *
 * @module
 */

import { didYouMean, type Problems } from "./errors.ts";
import {
  BOOLEAN,
  duration,
  type Entry,
  EntryReader,
  ENV_VARS,
  integer,
  oneOf,
  parseIni,
  type Section,
  splitList,
  TCP_PORT,
  type ValueKind,
} from "./ini.ts";
import {
  type AfPacketChecksumMode,
  type AfPacketFanoutMode,
  type AfPacketSettings,
  DEFAULT_AF_PACKET_SETTINGS,
} from "../capture/mod.ts";

export type NodeType = "manager" | "logger" | "proxy" | "worker";

/** Where a worker captures: `af_packet::eth1`, `pcap::eth1`, or a plain name, which means AF_PACKET. */
export interface CaptureInterface {
  readonly method: "af_packet" | "pcap";
  readonly device: string;
}

/** A node as node.cfg describes it, before its host is resolved and its ports handed out. */
export interface NodeDraft {
  readonly name: string;
  readonly type: NodeType;
  /** As written in node.cfg. */
  readonly host: string;
  /** Workers only. */
  readonly capture?: CaptureInterface;
  readonly afPacket: AfPacketSettings;
  readonly pinCpu?: number;
  readonly envVars: Readonly<Record<string, string>>;
  readonly auxScripts: readonly string[];
  /** RFC 4007 zone of a link-local IPv6 host address. */
  readonly zoneId?: string;
  /** The section set af_packet_fanout_id itself (weir picks distinct ids for the rest). */
  readonly fanoutIdGiven?: boolean;
  /** weir's `websocket_port`: this node serves its own WebSocket entry point there. */
  readonly webSocketPort?: number;
  /** The node.cfg section it came from, and that section's line. */
  readonly section: string;
  readonly line: number;
}

/** A section's host (and its `host=` line), to resolve even when the section has other problems. */
export interface SectionHost {
  readonly section: string;
  readonly host: string;
  readonly line: number;
}

/** What node.cfg describes. */
export interface NodeCfg {
  /** In zeekctl order: manager, loggers, proxies, workers. */
  readonly nodes: readonly NodeDraft[];
  /** The file held zeekctl's single `type=standalone` node. */
  readonly standalone: boolean;
  /** Every section's host, in file order. */
  readonly hosts: readonly SectionHost[];
}

/** The longest Linux interface name (IFNAMSIZ less the terminating NUL). */
const MAX_DEVICE_NAME = 15;

/**
 * Parses an interface string as Zeek does: `prefix::device` picks a packet
 * source, and weir has two. A plain name means AF_PACKET (for Zeek it means
 * libpcap) because AF_PACKET is what spreads flows over several workers.
 * Returns what is wrong, as the end of "interface must …", when it is not one.
 */
export function parseCaptureInterface(text: string): CaptureInterface | string {
  const separator = text.indexOf("::");
  const prefix = separator < 0 ? "" : text.slice(0, separator).toLowerCase();
  const device = separator < 0 ? text : text.slice(separator + 2);
  if (prefix !== "" && prefix !== "af_packet" && prefix !== "pcap") {
    return `must be a device name, af_packet::<device> or pcap::<device> (weir has no "${prefix}" packet source)`;
  }
  if (device === "" || /[\s/:,]/.test(device)) {
    return 'must name one network device (no spaces, "/", ":" or ","); for several devices use lb_method=interfaces with lb_interfaces';
  }
  if (device.length > MAX_DEVICE_NAME) {
    return `must name a network device, and Linux device names have at most ${MAX_DEVICE_NAME} characters`;
  }
  return Object.freeze({ method: prefix === "pcap" ? "pcap" : "af_packet", device });
}

const SECTION_TYPES = ["standalone", "manager", "logger", "proxy", "worker"] as const;
const TYPE_ORDER: readonly NodeType[] = ["manager", "logger", "proxy", "worker"];
const LB_METHODS = ["af_packet", "custom", "interfaces"] as const;
const UNSUPPORTED_LB_METHODS: Readonly<Record<string, string>> = {
  pf_ring: "it needs Zeek's PF_RING plugin",
  myricom: "it needs Zeek's Myricom plugin",
};
const FANOUT_MODES = {
  FANOUT_HASH: "hash",
  FANOUT_QM: "qm",
  FANOUT_CPU: "cpu",
  FANOUT_LB: "lb",
  FANOUT_ROLLOVER: "rollover",
  FANOUT_RND: "rnd",
} as const satisfies Record<string, AfPacketFanoutMode>;
const CHECKSUM_MODES = {
  CHECKSUM_ON: "on",
  CHECKSUM_OFF: "off",
  CHECKSUM_KERNEL: "kernel",
} as const satisfies Record<string, AfPacketChecksumMode>;

/** The node.cfg keys weir reads; `zeekbase` and `ether` are accepted and mean nothing to weir. */
const KNOWN_KEYS = [
  "type",
  "host",
  "interface",
  "lb_method",
  "lb_procs",
  "lb_interfaces",
  "pin_cpus",
  "env_vars",
  "aux_scripts",
  "zone_id",
  "ether",
  "zeekbase",
  "af_packet_buffer_size",
  "af_packet_block_size",
  "af_packet_block_timeout",
  "af_packet_fanout_id",
  "af_packet_fanout_mode",
  "af_packet_enable_defrag",
  "af_packet_enable_fanout",
  "af_packet_enable_hw_timestamping",
  "af_packet_link_type",
  "af_packet_checksum_validation_mode",
  "websocket_port",
] as const;

const PAGE_SIZE = 4096;
const SECTION_TYPE = oneOf(SECTION_TYPES);
const MAX_LB_PROCS = 4096;
const LB_PROCS = integer(
  1,
  MAX_LB_PROCS,
  `a positive integer (the number of worker processes, at most ${MAX_LB_PROCS})`,
);
const CPU_LIST: ValueKind<number[]> = {
  expects: "a comma-separated list of CPU numbers (e.g. 2,3,4,5)",
  parse: (raw) => /^\d+(\s*,\s*\d+)*$/.test(raw) ? raw.split(",").map(Number) : undefined,
};
const BYTES = integer(1, Number.MAX_SAFE_INTEGER, "a positive number of bytes", true);
const BLOCK_SIZE = integer(
  PAGE_SIZE,
  2 ** 31,
  `a positive number of bytes that is a multiple of the page size, ${PAGE_SIZE}`,
  true,
);
const BLOCK_TIMEOUT = duration("msec", ["usec", "msec", "sec"]);
const FANOUT_ID = integer(0, 0xffff, "a fanout group id from 0 to 65535");
const FANOUT_MODE = oneOf(
  Object.keys(FANOUT_MODES) as (keyof typeof FANOUT_MODES)[],
  "af_packet::",
);
const LINK_TYPE = integer(0, 0xffff, "a link-layer type number (1 is Ethernet)");
const CHECKSUM_MODE = oneOf(
  Object.keys(CHECKSUM_MODES) as (keyof typeof CHECKSUM_MODES)[],
  "af_packet::",
);

function readAfPacket(reader: EntryReader): AfPacketSettings {
  const d = DEFAULT_AF_PACKET_SETTINGS;
  let blockSize = reader.read("af_packet_block_size", BLOCK_SIZE);
  if (blockSize !== undefined && blockSize % PAGE_SIZE !== 0) {
    reader.report(reader.entry("af_packet_block_size")!, `must be ${BLOCK_SIZE.expects}`);
    blockSize = undefined;
  }
  const bufferSize = reader.read("af_packet_buffer_size", BYTES);
  const effectiveBlock = blockSize ?? d.blockSize;
  if (bufferSize !== undefined && bufferSize < effectiveBlock) {
    reader.report(
      reader.entry("af_packet_buffer_size")!,
      `must hold at least one block of af_packet_block_size (${effectiveBlock} bytes)`,
    );
  }
  const timeoutSec = reader.read("af_packet_block_timeout", BLOCK_TIMEOUT);
  const mode = reader.read("af_packet_fanout_mode", FANOUT_MODE);
  const checksum = reader.read("af_packet_checksum_validation_mode", CHECKSUM_MODE);
  return Object.freeze({
    bufferSize: bufferSize ?? d.bufferSize,
    blockSize: effectiveBlock,
    blockTimeoutMs: timeoutSec === undefined ? d.blockTimeoutMs : Math.round(timeoutSec * 1000),
    fanoutId: reader.read("af_packet_fanout_id", FANOUT_ID) ?? d.fanoutId,
    fanoutMode: mode === undefined ? d.fanoutMode : FANOUT_MODES[mode],
    enableFanout: reader.read("af_packet_enable_fanout", BOOLEAN) ?? d.enableFanout,
    enableDefrag: reader.read("af_packet_enable_defrag", BOOLEAN) ?? d.enableDefrag,
    enableHwTimestamping: reader.read("af_packet_enable_hw_timestamping", BOOLEAN) ??
      d.enableHwTimestamping,
    linkType: reader.read("af_packet_link_type", LINK_TYPE) ?? d.linkType,
    checksumValidation: checksum === undefined ? d.checksumValidation : CHECKSUM_MODES[checksum],
  });
}

/** The parts every node of one section shares. */
type Common = Omit<NodeDraft, "name" | "type" | "capture" | "pinCpu">;

class SectionParser {
  readonly #section: Section;
  readonly #file: string;
  readonly #problems: Problems;
  readonly #reader: EntryReader;

  constructor(section: Section, file: string, problems: Problems) {
    this.#section = section;
    this.#file = file;
    this.#problems = problems;
    this.#reader = new EntryReader(section.entries, file, problems, ` in [${section.name}]`);
  }

  /** The nodes this section stands for; `type` is undefined when it is missing or bad. */
  parse(): {
    type: (typeof SECTION_TYPES)[number] | undefined;
    host: string | undefined;
    nodes: NodeDraft[];
  } {
    const reader = this.#reader;
    const { name, line } = this.#section;
    const type = reader.read("type", SECTION_TYPE);
    if (reader.entry("type") === undefined) {
      this.#problem(`[${name}] has no type: add type=${SECTION_TYPES.join("|")}`);
    }
    const host = reader.entry("host")?.value;
    if (host === undefined) {
      this.#problem(
        `[${name}] has no host: add host=localhost, or the name or address of the machine it runs on`,
      );
    }
    const zoneId = reader.entry("zone_id")?.value;
    const webSocketPort = reader.read("websocket_port", TCP_PORT);
    const fanoutIdGiven = reader.entry("af_packet_fanout_id") !== undefined;
    const procs = reader.entry("lb_procs")?.value;
    if (webSocketPort !== undefined && procs !== undefined && procs.trim() !== "1") {
      reader.report(
        reader.entry("websocket_port")!,
        "cannot be shared by the lb_procs processes of one section: give a single node its entry point",
      );
    }
    const pins = reader.read("pin_cpus", CPU_LIST) ?? [];
    const common: Common = {
      host: host ?? "",
      afPacket: readAfPacket(reader),
      envVars: reader.read("env_vars", ENV_VARS) ?? Object.freeze({}),
      auxScripts: Object.freeze(splitList(reader.entry("aux_scripts")?.value ?? "")),
      ...(zoneId === undefined ? {} : { zoneId }),
      ...(webSocketPort === undefined ? {} : { webSocketPort }),
      ...(fanoutIdGiven ? { fanoutIdGiven } : {}),
      section: name,
      line,
    };
    const nodes = type === undefined ? [] : this.#nodes(type, common, pins);
    for (const entry of reader.unknown(KNOWN_KEYS)) {
      this.#problems.add(
        this.#file,
        entry.line,
        `unknown key "${entry.name}" in [${name}]${didYouMean(entry.key, KNOWN_KEYS)}`,
      );
    }
    return { type, host, nodes: host === undefined ? [] : nodes };
  }

  #problem(message: string): void {
    this.#problems.add(this.#file, this.#section.line, message);
  }

  #nodes(type: (typeof SECTION_TYPES)[number], common: Common, pins: number[]): NodeDraft[] {
    const { name } = this.#section;
    const pinCpu = (i: number) => pins.length === 0 ? {} : { pinCpu: pins[i % pins.length]! };
    if (type !== "worker") {
      for (const key of ["lb_procs", "lb_method", "lb_interfaces"]) {
        const entry = this.#reader.entry(key);
        if (entry !== undefined) {
          this.#reader.report(entry, `applies only to workers, and [${name}] is a ${type}`);
        }
      }
    }
    // zeekctl passes an interface to workers only; on other nodes it means nothing.
    const iface = this.#reader.entry("interface");
    const capture = iface === undefined ? undefined : this.#capture(iface);
    if (type === "standalone") {
      // zeekctl's default node.cfg is one standalone Zeek process. weir runs it
      // as a manager named after the section that also writes the logs (no
      // logger: manager_is_logger) plus one worker, worker-1, capturing on the
      // section's interface with its af_packet options and CPU pin.
      const manager: NodeDraft = { ...common, name, type: "manager" };
      if (name.toLowerCase() === "worker-1") {
        this.#problem(
          `a type=standalone section cannot be named [${name}]: weir names its worker worker-1; rename the section`,
        );
        return [manager];
      }
      if (iface === undefined) {
        this.#problem(
          `[${name}] is type=standalone but has no interface: add interface=<device> (its worker captures there)`,
        );
        return [manager];
      }
      if (capture === undefined) return [manager];
      return [manager, { ...common, name: "worker-1", type: "worker", capture, ...pinCpu(0) }];
    }
    if (type !== "worker") return [{ ...common, name, type, ...pinCpu(0) }];
    return this.#workers(common, iface, capture, pinCpu);
  }

  #capture(entry: Entry): CaptureInterface | undefined {
    const parsed = parseCaptureInterface(entry.value);
    if (typeof parsed !== "string") return parsed;
    this.#reader.report(entry, parsed);
    return undefined;
  }

  #workers(
    common: Common,
    iface: Entry | undefined,
    capture: CaptureInterface | undefined,
    pinCpu: (i: number) => { pinCpu?: number },
  ): NodeDraft[] {
    const reader = this.#reader;
    const { name } = this.#section;
    const procsEntry = reader.entry("lb_procs");
    const procs = reader.read("lb_procs", LB_PROCS);
    const method = this.#lbMethod(procsEntry !== undefined);
    const lbInterfaces = reader.entry("lb_interfaces");
    if (lbInterfaces !== undefined && method !== "interfaces") {
      reader.report(lbInterfaces, "applies only with lb_method=interfaces");
    }
    if (method === "interfaces") {
      return procs === undefined
        ? []
        : this.#perInterfaceWorkers(common, procs, lbInterfaces, pinCpu);
    }
    if (iface === undefined) {
      this.#problem(
        `[${name}] is a worker but has no interface: add interface=<device> (e.g. eth0, af_packet::eth0 or pcap::eth0)`,
      );
      return [];
    }
    if (capture === undefined) return [];
    if (method === "af_packet" && capture.method !== "af_packet") {
      reader.report(
        iface,
        "must be an AF_PACKET device with lb_method=af_packet",
        "drop the pcap:: prefix",
      );
      return [];
    }
    if (procsEntry === undefined) {
      return [{ ...common, name, type: "worker", capture, ...pinCpu(0) }];
    }
    if (procs === undefined || method === undefined) return [];
    return Array.from({ length: procs }, (_, i) => ({
      ...common,
      name: `${name}-${i + 1}`,
      type: "worker" as const,
      capture,
      ...pinCpu(i),
    }));
  }

  #lbMethod(hasProcs: boolean): (typeof LB_METHODS)[number] | undefined {
    const reader = this.#reader;
    const entry = reader.entry("lb_method");
    if (entry === undefined) {
      if (hasProcs) {
        reader.report(reader.entry("lb_procs")!, "needs lb_method=af_packet, custom or interfaces");
      }
      return undefined;
    }
    if (!hasProcs) {
      reader.report(entry, "needs lb_procs, the number of worker processes");
      return undefined;
    }
    const lower = entry.value.toLowerCase();
    const unsupported = UNSUPPORTED_LB_METHODS[lower];
    if (unsupported !== undefined) {
      reader.report(entry, `is not supported by weir (${unsupported})`, "use lb_method=af_packet");
      return undefined;
    }
    return reader.read("lb_method", oneOf(LB_METHODS));
  }

  /**
   * lb_method=interfaces: one process per listed device, in list order
   * (zeekctl hands them out from the end of the list; the order only decides
   * which name captures where). Each process owns its device, so fanout is
   * off unless af_packet_enable_fanout says otherwise, as with Zeek, where
   * plain device names mean libpcap.
   */
  #perInterfaceWorkers(
    common: Common,
    procs: number,
    entry: Entry | undefined,
    pinCpu: (i: number) => { pinCpu?: number },
  ): NodeDraft[] {
    const reader = this.#reader;
    if (entry === undefined) {
      reader.report(
        reader.entry("lb_method")!,
        `needs lb_interfaces listing ${procs} devices, one per process (lb_procs=${procs})`,
      );
      return [];
    }
    const devices = entry.value.split(",").map((d) => d.trim());
    if (devices.length !== procs) {
      reader.report(
        entry,
        `must list exactly ${procs} devices, one per process (lb_procs=${procs}), and it lists ${devices.length}`,
      );
      return [];
    }
    const captures = devices.map(parseCaptureInterface);
    const bad = devices.filter((_, i) => typeof captures[i] === "string");
    if (bad.length > 0) {
      reader.report(
        entry,
        `must list network devices, and ${bad.map((d) => `"${d}"`).join(", ")} is not one`,
      );
      return [];
    }
    const fanoutIsExplicit = reader.entry("af_packet_enable_fanout") !== undefined;
    const afPacket = Object.freeze({
      ...common.afPacket,
      enableFanout: fanoutIsExplicit && common.afPacket.enableFanout,
    });
    return captures.map((capture, i) => ({
      ...common,
      afPacket,
      name: `${this.#section.name}-${i + 1}`,
      type: "worker" as const,
      capture: capture as CaptureInterface,
      ...pinCpu(i),
    }));
  }
}

/** Letters, digits, ".", "-", "_": a node name becomes a process title, a directory and a topic. */
const SECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses node.cfg text, reporting every problem to `problems`. */
export function parseNodeCfg(text: string, file: string, problems: Problems): NodeCfg {
  const sections = parseIni(text, file, problems);
  if (sections.length === 0) {
    problems.add(
      file,
      undefined,
      "defines no nodes: add a [manager] section (type=manager) and workers, or one type=standalone node",
    );
    return Object.freeze({ nodes: Object.freeze([]), standalone: false, hosts: Object.freeze([]) });
  }
  const drafts: NodeDraft[] = [];
  const hosts: SectionHost[] = [];
  const standalones: Section[] = [];
  let allTyped = true;
  const sectionLines = new Map<string, number>();
  for (const section of sections) {
    const firstLine = sectionLines.get(section.name.toLowerCase());
    if (firstLine !== undefined) {
      problems.add(
        file,
        section.line,
        `section [${section.name}] is defined twice (first at line ${firstLine}): rename or remove one`,
      );
      continue;
    }
    sectionLines.set(section.name.toLowerCase(), section.line);
    if (!SECTION_NAME.test(section.name)) {
      problems.add(
        file,
        section.line,
        `a section name may hold only letters, digits, ".", "-" and "_" (it names a process, a directory and a topic): current value is "${section.name}"`,
      );
    } else if (section.name.toLowerCase() === "control") {
      problems.add(
        file,
        section.line,
        `the section name "control" is reserved for the layout's control endpoint: rename [${section.name}]`,
      );
    }
    const { type, host, nodes } = new SectionParser(section, file, problems).parse();
    if (host !== undefined) {
      // An unresolvable host is blamed on its `host=` line.
      const line = section.entries.find((e) => e.key === "host")?.line ?? section.line;
      hosts.push({ section: section.name, host, line });
    }
    if (type === undefined) allTyped = false;
    if (type === "standalone") standalones.push(section);
    // A standalone node among others is reported below; its manager would only add noise.
    if (type !== "standalone" || sections.length === 1) drafts.push(...nodes);
  }
  for (const standalone of standalones) {
    if (sections.length === 1) continue;
    const others = sections.filter((s) => s !== standalone).map((s) => `[${s.name}]`);
    problems.add(
      file,
      standalone.line,
      `[${standalone.name}] is type=standalone, which must be the only node, but ${file} also defines ${
        others.join(", ")
      }: remove them, or make [${standalone.name}] a manager`,
    );
  }
  checkNames(drafts, file, problems);
  checkManager(drafts, allTyped, file, problems);
  const nodes = TYPE_ORDER.flatMap((type) => drafts.filter((d) => d.type === type));
  return Object.freeze({
    nodes: Object.freeze(nodes.map((n) => Object.freeze(n))),
    standalone: standalones.length === 1 && sections.length === 1,
    hosts: Object.freeze(hosts.map((h) => Object.freeze(h))),
  });
}

function origin(node: NodeDraft): string {
  const expanded = node.name === node.section ? "" : ", expanded from lb_procs";
  return `[${node.section}] at line ${node.line}${expanded}`;
}

/** zeekctl compares node names case-insensitively: they become directory names. */
function checkNames(nodes: readonly NodeDraft[], file: string, problems: Problems): void {
  const seen = new Map<string, NodeDraft>();
  const reported = new Set<string>();
  for (const node of nodes) {
    const key = node.name.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, node);
      continue;
    }
    const pair = `${first.line}/${node.line}`;
    if (reported.has(pair)) continue;
    reported.add(pair);
    problems.add(
      file,
      node.line,
      `node name "${node.name}" is used twice, by ${origin(first)} and by ${
        origin(node)
      }: rename one section`,
    );
  }
}

/** With a section of unknown type, it may be the manager: "no manager" would then only add noise. */
function checkManager(
  nodes: readonly NodeDraft[],
  allTyped: boolean,
  file: string,
  problems: Problems,
): void {
  const managers = nodes.filter((n) => n.type === "manager");
  if (managers.length === 0 && allTyped) {
    // Nothing single is to blame: the report points at where the cluster starts.
    problems.add(
      file,
      nodes[0]?.line,
      "no section has type=manager: add one (every cluster has exactly one manager)",
    );
  }
  const first = managers[0];
  for (const extra of managers.slice(1)) {
    problems.add(
      file,
      extra.line,
      `[${extra.section}] is a second manager (the first is [${first!.section}] at line ${
        first!.line
      }): a cluster has exactly one manager`,
    );
  }
}
