/**
 * The cluster layout: node.cfg, weir.cfg and networks.cfg read once into
 * one frozen value, with zeekctl's port allocation. With the ZeroMQ backend
 * the forwarder takes ZeekPort (central XPUB) and ZeekPort+1 (central XSUB);
 * node ports follow from ZeekPort+2 in the order control, manager, loggers,
 * proxies, workers; the log writers' acknowledgement ports go down from
 * ZeekPort-2 (below the WebSocket API's ZeekPort-1); metrics ports start at MetricsPort in the order manager,
 * loggers, proxies, workers.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { ConfigError, Problems } from "./errors.ts";
import { createLocalNets, type LocalNet, parseNetworksCfg } from "./networks_cfg.ts";
import { type AfPacketSettings, DEFAULT_AF_PACKET_SETTINGS } from "../capture/mod.ts";
import {
  type NodeDraft,
  type NodeType,
  parseCaptureInterface,
  parseNodeCfg,
  type SectionHost,
} from "./node_cfg.ts";
import { createDefaultSettings, parseWeirCfg, type WeirSettings } from "./weir_cfg.ts";

/**
 * A node with its resolved address and its ports: node.cfg's draft less the
 * parsing bookkeeping (`line`, `fanoutIdGiven`). Its `envVars` are weir.cfg's
 * Env_Vars overlaid with the node's env_vars, its `auxScripts` absolute
 * (relative ones resolve against SiteDir).
 */
export interface NodeSpec extends Omit<NodeDraft, "line" | "fanoutIdGiven"> {
  /** `host` resolved: an IPv4 or IPv6 literal. */
  readonly address: string;
  /** Zeek's `Cluster::nodes[name]$p`. */
  readonly port: number;
  /** Absent when MetricsPort=0. */
  readonly metricsPort?: number;
  /**
   * A log writer's second socket, where weir's nodes send acknowledged
   * batches (`port` keeps Zeek's unacknowledged PULL). Log writers only:
   * the loggers, or the manager when there is none; the ports follow the
   * last node's.
   */
  readonly ackPort?: number;
}

/** The whole cluster as one frozen value. */
export interface Layout {
  /** The configuration directory, or "built-in". */
  readonly source: string;
  readonly settings: WeirSettings;
  /** In zeekctl order: manager, loggers, proxies, workers. */
  readonly nodes: readonly NodeSpec[];
  readonly manager: NodeSpec;
  /**
   * The control API the verbs talk to: always on loopback, so its token
   * never crosses a network (sensors are reached through their agents).
   */
  readonly control: { readonly address: string; readonly port: number };
  /**
   * Where host agents (`weir join`) reach the manager: ZeekPort+2 on the
   * manager's address, CURVE always. Undefined when the manager listens on
   * loopback: then every node is on this host and there is no agent.
   */
  readonly agentChannel: { readonly address: string; readonly port: number } | undefined;
  /**
   * Whether the bus, the log sockets and the agent channel use CURVE with
   * a key per node: BusEncryption=curve, or =auto with the manager off
   * loopback. On loopback the plaintext path is Zeek's wire format.
   */
  readonly closedBus: boolean;
  readonly forwarder: {
    readonly address: string;
    readonly xpubPort: number;
    readonly xsubPort: number;
  };
  /** Zeek's `Cluster::manager_is_logger`: there is no logger, so the manager writes the logs. */
  readonly managerIsLogger: boolean;
  readonly localNets: readonly LocalNet[];
}

/** The built-in layout's source name. */
export const BUILT_IN = "built-in";

/** A host lookup that takes longer than this is reported as failed rather than hanging start-up. */
const DEFAULT_LOOKUP_TIMEOUT_MS = 5000;

async function readConfigFile(
  dir: string,
  name: string,
  problems: Problems,
): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    const reason = error instanceof Error ? error.message : String(error);
    problems.add(name, undefined, `cannot read ${path}: ${reason}`);
    return undefined;
  }
}

/** `localhost` is 127.0.0.1 and literals stay as written; names go through getaddrinfo (so /etc/hosts counts), preferring IPv4 as zeekctl does. */
async function resolveHost(host: string): Promise<string> {
  if (host.toLowerCase() === "localhost") return "127.0.0.1";
  const literal = host.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (isIP(literal) !== 0) return literal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${DEFAULT_LOOKUP_TIMEOUT_MS} ms`)),
      DEFAULT_LOOKUP_TIMEOUT_MS,
    );
  });
  try {
    const found = await Promise.race([lookup(host, { all: true }), timeout]);
    const address = (found.find((a) => a.family === 4) ?? found[0])?.address;
    if (address === undefined) throw new Error("no addresses");
    return address;
  } finally {
    clearTimeout(timer);
  }
}

async function resolveHosts(
  hosts: readonly SectionHost[],
  file: string,
  problems: Problems,
): Promise<Map<string, string>> {
  const addresses = new Map<string, string>();
  await Promise.all([...new Set(hosts.map((h) => h.host))].map(async (host) => {
    try {
      addresses.set(host, await resolveHost(host));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      for (const { line } of hosts.filter((h) => h.host === host)) {
        problems.add(
          file,
          line,
          `host cannot be resolved (${reason}): current value is "${host}"; use an IP address or add the name to /etc/hosts`,
        );
      }
    }
  }));
  return addresses;
}

/** Hands out ports and checks what only the whole layout shows; throws every problem collected so far. */
function assemble(
  source: string,
  settings: WeirSettings,
  given: readonly NodeDraft[],
  addresses: ReadonlyMap<string, string>,
  localNets: readonly LocalNet[],
  files: { readonly nodes: string; readonly settings: string },
  problems: Problems,
): Layout {
  const drafts = separateFanoutGroups(given, addresses);
  const controlPort = settings.zeekPort + 2;
  let nextPort = controlPort + 1;
  let nextMetricsPort = settings.metricsPort;
  const writesLogs = (type: string) =>
    type === "logger" || (type === "manager" && !drafts.some((d) => d.type === "logger"));
  // Below ZeekPort-1 (the WebSocket API's default), downwards: adding or
  // removing workers moves no log writer's port, so deploy restarts none.
  let nextAckPort = settings.zeekPort - 2;
  const nodes = drafts.map((draft): NodeSpec => {
    const { line: _line, fanoutIdGiven: _given, auxScripts, envVars, ...rest } = draft;
    return Object.freeze({
      ...rest,
      address: addresses.get(draft.host) ?? "",
      port: nextPort++,
      ...(settings.metricsPort === 0 ? {} : { metricsPort: nextMetricsPort++ }),
      ...(writesLogs(draft.type) ? { ackPort: nextAckPort-- } : {}),
      envVars: Object.freeze({ ...settings.envVars, ...envVars }),
      auxScripts: Object.freeze(auxScripts.map((s) => resolve(settings.siteDir, s))),
    });
  });
  const ackPorts = settings.zeekPort - 2 - nextAckPort;
  const portsFit = checkPortRange(settings, nodes.length, ackPorts, files.settings, problems);
  checkFanoutGroups(drafts, addresses, files.nodes, problems);
  if (
    settings.logTransport === "nats" && settings.nats.format === "json" &&
    drafts.some((d) => d.type === "logger")
  ) {
    problems.add(
      files.settings,
      undefined,
      "NatsFormat = json cannot feed loggers: they consume zeek-bin batches; set NatsFormat = zeek-bin, or remove the loggers from node.cfg and let other consumers read the JSON lines",
    );
  }
  const manager = nodes.find((n) => n.type === "manager");
  if (manager !== undefined && portsFit) {
    checkPortClashes(settings, nodes, manager, controlPort, files.settings, problems);
  }
  problems.throwIfAny();
  if (manager === undefined) {
    // node.cfg's checks report a missing manager; this only narrows the type.
    throw new ConfigError([{
      file: files.nodes,
      message: "has no manager: add a section with type=manager",
    }]);
  }
  return Object.freeze({
    source,
    settings,
    nodes: Object.freeze(nodes),
    manager,
    control: Object.freeze({ address: loopbackOf(manager.address), port: controlPort }),
    agentChannel: isLoopback(manager.address)
      ? undefined
      : Object.freeze({ address: manager.address, port: controlPort }),
    closedBus: settings.busEncryption === "curve" ||
      (settings.busEncryption === "auto" && !isLoopback(manager.address)),
    forwarder: Object.freeze({
      address: manager.address,
      xpubPort: settings.zeekPort,
      xsubPort: settings.zeekPort + 1,
    }),
    managerIsLogger: !nodes.some((n) => n.type === "logger"),
    localNets,
  });
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/** The loopback address of `address`'s family. */
function loopbackOf(address: string): string {
  return address.includes(":") ? "::1" : "127.0.0.1";
}

/** Whether every port fits below 65536. */
function checkPortRange(
  settings: WeirSettings,
  nodeCount: number,
  ackPorts: number,
  file: string,
  problems: Problems,
): boolean {
  const lastPort = settings.zeekPort + 2 + nodeCount;
  const firstAckPort = settings.zeekPort - 1 - ackPorts;
  if (firstAckPort < 1) {
    problems.add(
      file,
      settings.lines?.["zeekport"],
      `ZeekPort ${settings.zeekPort} leaves too few ports below it: ${ackPorts} log writer${
        ackPorts === 1 ? "" : "s"
      } need acknowledgement ports from ${
        settings.zeekPort - 2
      } down to ${firstAckPort}; raise ZeekPort`,
    );
  }
  if (lastPort > 65535) {
    problems.add(
      file,
      settings.lines?.["zeekport"],
      `ZeekPort ${settings.zeekPort} leaves too few ports: the forwarder, control and ${nodeCount} nodes need ports ${settings.zeekPort} to ${lastPort}, past 65535; lower ZeekPort`,
    );
  }
  const lastMetricsPort = settings.metricsPort + nodeCount - 1;
  if (settings.metricsPort !== 0 && lastMetricsPort > 65535) {
    problems.add(
      file,
      settings.lines?.["metricsport"],
      `MetricsPort ${settings.metricsPort} leaves too few ports: ${nodeCount} nodes need ports ${settings.metricsPort} to ${lastMetricsPort}, past 65535; lower MetricsPort, or set it to 0`,
    );
  }
  return lastPort <= 65535 && firstAckPort >= 1 &&
    (settings.metricsPort === 0 || lastMetricsPort <= 65535);
}

const FANOUT_MODE_NAMES: Readonly<Record<string, string>> = {
  hash: "FANOUT_HASH",
  qm: "FANOUT_QM",
  cpu: "FANOUT_CPU",
  lb: "FANOUT_LB",
  rollover: "FANOUT_ROLLOVER",
  rnd: "FANOUT_RND",
};

/**
 * A fanout group id names one group per host (network namespace), and the
 * kernel refuses (EINVAL) a socket that joins it on another device or with
 * another mode or defrag flag. Zeek finds out at start-up; weir says so now.
 */
/**
 * Two interfaces get two fanout groups: a section that did not choose its
 * af_packet_fanout_id gets the default (23) unless another device on its
 * host already has that group, then the next free id. The kernel refuses
 * one group id on two devices, so Zeek's fixed default would fail there.
 * Ids a section chose itself are kept, and checked below.
 */
function separateFanoutGroups(
  drafts: readonly NodeDraft[],
  addresses: ReadonlyMap<string, string>,
): NodeDraft[] {
  const taken = new Map<string, string>(); // host#id → device
  const hostOf = (d: NodeDraft) => addresses.get(d.host) ?? d.host;
  const inGroup = (d: NodeDraft) => d.capture?.method === "af_packet" && d.afPacket.enableFanout;
  for (const d of drafts) {
    if (!inGroup(d) || !d.fanoutIdGiven) continue;
    const key = `${hostOf(d)}#${d.afPacket.fanoutId}`;
    if (!taken.has(key)) taken.set(key, d.capture!.device);
  }
  return drafts.map((d) => {
    if (!inGroup(d) || d.fanoutIdGiven) return d;
    const device = d.capture!.device;
    for (let id = d.afPacket.fanoutId; id <= 0xffff; id++) {
      const key = `${hostOf(d)}#${id}`;
      const holder = taken.get(key);
      if (holder !== undefined && holder !== device) continue;
      taken.set(key, device);
      return id === d.afPacket.fanoutId
        ? d
        : Object.freeze({ ...d, afPacket: Object.freeze({ ...d.afPacket, fanoutId: id }) });
    }
    return d;
  });
}

function checkFanoutGroups(
  drafts: readonly NodeDraft[],
  addresses: ReadonlyMap<string, string>,
  file: string,
  problems: Problems,
): void {
  const groups = new Map<string, { draft: NodeDraft; device: string }>();
  const reported = new Set<string>();
  for (const draft of drafts) {
    const { capture, afPacket } = draft;
    if (capture?.method !== "af_packet" || !afPacket.enableFanout) continue;
    const key = `${addresses.get(draft.host) ?? draft.host}#${afPacket.fanoutId}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { draft, device: capture.device });
      continue;
    }
    const { draft: first, device } = group;
    const pair = `${first.line}/${draft.line}`;
    if (reported.has(pair)) continue;
    const id = afPacket.fanoutId;
    const them = `[${first.section}] at line ${first.line}`;
    const distinct = `give [${draft.section}] its own group, e.g. af_packet_fanout_id=${id + 1}`;
    if (device !== capture.device && first.line === draft.line) {
      reported.add(pair);
      problems.add(
        file,
        draft.line,
        `[${draft.section}] puts ${device} and ${capture.device} into fanout group ${id}, but a fanout group spans one device only (the kernel refuses it with EINVAL): set af_packet_enable_fanout=0, as each process has its device to itself`,
      );
    } else if (device !== capture.device) {
      reported.add(pair);
      problems.add(
        file,
        draft.line,
        `[${draft.section}] captures on ${capture.device} and ${them} on ${device}, both with af_packet_fanout_id ${id} on host ${draft.host}, but a fanout group spans one device only (the kernel refuses it with EINVAL): ${distinct}`,
      );
    } else if (
      first.afPacket.fanoutMode !== afPacket.fanoutMode ||
      first.afPacket.enableDefrag !== afPacket.enableDefrag
    ) {
      reported.add(pair);
      const describe = (a: AfPacketSettings) =>
        `${FANOUT_MODE_NAMES[a.fanoutMode]}${a.enableDefrag ? " with defrag" : ""}`;
      problems.add(
        file,
        draft.line,
        `[${draft.section}] joins fanout group ${id} on ${capture.device} with ${
          describe(afPacket)
        }, but ${them} uses ${
          describe(first.afPacket)
        }: one group has one mode and one defrag setting; use the same af_packet_fanout_mode and af_packet_enable_defrag, or ${distinct}`,
      );
    }
  }
}

const PORT_KINDS = ["ZeekPort", "MetricsPort", "WebSocketPort"] as const;
type PortKind = (typeof PORT_KINDS)[number];

/**
 * Two listeners on one address and port cannot both start. zeekctl's
 * defaults never clash, changed ones can; each pair of clashing ranges is
 * reported once, with the settings that move them.
 */
function checkPortClashes(
  settings: WeirSettings,
  nodes: readonly NodeSpec[],
  manager: NodeSpec,
  controlPort: number,
  file: string,
  problems: Problems,
): void {
  const owners = new Map<string, { kind: PortKind; owner: string }>();
  const clashes = new Map<
    string,
    { address: string; ports: number[]; owners: string; kinds: PortKind[] }
  >();
  const claim = (address: string, port: number, kind: PortKind, owner: string) => {
    const key = `${address}#${port}`;
    const first = owners.get(key);
    if (first === undefined) {
      owners.set(key, { kind, owner });
      return;
    }
    const group = `${address}#${first.kind}#${kind}`;
    const clash = clashes.get(group) ??
      { address, ports: [], owners: `${first.owner} and to ${owner}`, kinds: [first.kind, kind] };
    clash.ports.push(port);
    clashes.set(group, clash);
  };
  claim(manager.address, settings.zeekPort, "ZeekPort", "the forwarder's XPUB (ZeekPort)");
  claim(manager.address, settings.zeekPort + 1, "ZeekPort", "the forwarder's XSUB (ZeekPort+1)");
  claim(loopbackOf(manager.address), controlPort, "ZeekPort", "control (ZeekPort+2)");
  if (!isLoopback(manager.address)) {
    claim(manager.address, controlPort, "ZeekPort", "the agent channel (ZeekPort+2)");
  }
  if (settings.useWebSocket) {
    claim(manager.address, settings.webSocketPort, "WebSocketPort", "WebSocketPort");
  }
  for (const node of nodes) {
    claim(node.address, node.port, "ZeekPort", `node ${node.name}`);
    if (node.ackPort !== undefined) {
      claim(node.address, node.ackPort, "ZeekPort", `the log acknowledgements of ${node.name}`);
    }
    if (node.metricsPort !== undefined) {
      claim(node.address, node.metricsPort, "MetricsPort", `the metrics of ${node.name}`);
    }
  }
  for (const { address, ports, owners: pair, kinds } of clashes.values()) {
    const changeable = PORT_KINDS.filter((k) => kinds.includes(k));
    const change = changeable.join(" or ");
    // Blamed on the first of those keys weir.cfg sets (the defaults never clash).
    const line = changeable.map((k) => settings.lines?.[k.toLowerCase()]).find((l) =>
      l !== undefined
    );
    const first = ports[0]!;
    const which = ports.length === 1
      ? `port ${first} on ${address} is given twice, to ${pair}`
      : `${ports.length} ports from ${first} to ${
        ports.at(-1)
      } on ${address} are given twice (the first to ${pair})`;
    problems.add(file, line, `${which}: change ${change} so the ranges do not overlap`);
  }
}

/**
 * Reads `node.cfg` (required), `weir.cfg` and `networks.cfg` (optional) from
 * `configDir`. Every problem in all three files is collected first; then one
 * `ConfigError` lists them all and nothing is returned.
 */
export async function loadLayout(configDir: string): Promise<Layout> {
  const dir = resolve(configDir);
  const problems = new Problems();
  const [nodeText, weirText, networksText] = await Promise.all(
    ["node.cfg", "weir.cfg", "networks.cfg"].map((name) => readConfigFile(dir, name, problems)),
  );
  if (nodeText === undefined) {
    problems.add(
      "node.cfg",
      undefined,
      `there is no ${
        join(dir, "node.cfg")
      }: write one in zeekctl's node.cfg format, or run without --config for the built-in layout`,
    );
  }
  const nodeCfg = nodeText === undefined ? undefined : parseNodeCfg(nodeText, "node.cfg", problems);
  const settings = parseWeirCfg(
    weirText,
    { file: "weir.cfg", configDir: dir, stateDir: dir },
    problems,
  );
  const listed = networksText === undefined
    ? []
    : parseNetworksCfg(networksText, "networks.cfg", problems);
  const localNets = createLocalNets(listed, settings.privateAddressSpaceIsLocal);
  const addresses = await resolveHosts(nodeCfg?.hosts ?? [], "node.cfg", problems);
  const drafts = nodeCfg?.nodes ?? [];
  const files = { nodes: "node.cfg", settings: "weir.cfg" };
  return assemble(dir, settings, drafts, addresses, localNets, files, problems);
}

/** The interface of the lowest-metric IPv4 default route in /proc/net/route text, if there is one. */
export function parseDefaultRoute(routeTable: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const row of routeTable.split("\n").slice(1)) {
    const [iface, destination, , flags, , , metric, mask] = row.trim().split(/\s+/);
    const up = (parseInt(flags ?? "0", 16) & 1) === 1;
    if (iface === undefined || destination !== "00000000" || mask !== "00000000" || !up) continue;
    const value = Number(metric ?? 0);
    if (best === undefined || value < best.metric) best = { iface, metric: value };
  }
  return best?.iface;
}

/** The interface of the default route, or "lo" when there is none (or /proc is unreadable). */
export async function defaultRouteInterface(): Promise<string> {
  try {
    return parseDefaultRoute(await Deno.readTextFile("/proc/net/route")) ?? "lo";
  } catch {
    return "lo";
  }
}

/** Options of the built-in layout. */
export interface StandaloneOptions {
  /** Where workers capture (`eth0`, `af_packet::eth0`, `pcap::eth0`); default: the default route's interface. */
  readonly interface?: string;
  /** State goes to `<baseDir>/.weir` (logs, spool, site); default: the current directory. */
  readonly baseDir?: string;
  /** Settings to change from the defaults. */
  readonly settings?: Partial<WeirSettings>;
}

/**
 * The layout used without a configuration directory: manager, logger-1,
 * proxy-1, worker-1 and worker-2 on localhost, with zeekctl's default ports;
 * both workers share one AF_PACKET fanout group on the capture interface.
 */
export async function createStandaloneLayout(options: StandaloneOptions = {}): Promise<Layout> {
  const stateDir = join(resolve(options.baseDir ?? Deno.cwd()), ".weir");
  const defaults = createDefaultSettings(stateDir);
  const overrides = options.settings ?? {};
  const settings: WeirSettings = Object.freeze({
    ...defaults,
    ...(overrides.spoolDir === undefined
      ? {}
      : { controlTokenFile: join(overrides.spoolDir, "control.token") }),
    ...overrides,
  });
  const problems = new Problems();
  const text = options.interface ?? await defaultRouteInterface();
  const capture = parseCaptureInterface(text);
  if (typeof capture === "string") {
    throw new ConfigError([{
      file: "--interface",
      message: `interface ${capture}: current value is "${text}"`,
    }]);
  }
  const node = (name: string, type: NodeType): NodeDraft => ({
    name,
    type,
    host: "localhost",
    ...(type === "worker" ? { capture } : {}),
    afPacket: DEFAULT_AF_PACKET_SETTINGS,
    envVars: Object.freeze({}),
    auxScripts: Object.freeze([]),
    section: name,
    line: 0,
  });
  const drafts = [
    node("manager", "manager"),
    node("logger-1", "logger"),
    node("proxy-1", "proxy"),
    node("worker-1", "worker"),
    node("worker-2", "worker"),
  ];
  const addresses = new Map([["localhost", "127.0.0.1"]]);
  const localNets = createLocalNets([], settings.privateAddressSpaceIsLocal);
  const files = { nodes: BUILT_IN, settings: "built-in settings" };
  return assemble(BUILT_IN, settings, drafts, addresses, localNets, files, problems);
}

/** The node named `name`, if the layout has one. */
export function nodeByName(layout: Layout, name: string): NodeSpec | undefined {
  return layout.nodes.find((n) => n.name === name);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A stable string of everything about `node` whose change needs the node
 * restarted (`deploy` compares old and new). The host as written and the
 * section name are left out: renaming them changes nothing that runs.
 * Settings are shared by all nodes; compare them with `settingsFingerprint`.
 */
export function layoutFingerprint(node: NodeSpec): string {
  const { host: _host, section: _section, ...running } = node;
  return canonicalJson(running);
}

/** A stable string of the settings, for `deploy` to tell whether every node needs a restart. */
export function settingsFingerprint(settings: WeirSettings): string {
  return canonicalJson(settings);
}
