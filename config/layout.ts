/**
 * One frozen cluster layout from node.cfg, weir.cfg and networks.cfg, with
 * zeekctl's port allocation: the forwarder takes ZeekPort (central XPUB) and
 * ZeekPort+1 (central XSUB); node ports follow from ZeekPort+2 in the order
 * control, manager, loggers, proxies, workers; metrics ports start at
 * MetricsPort in the order manager, loggers, proxies, workers.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { ProblemList } from "./errors.ts";
import { type LocalNet, parseNetworksCfg } from "./networks_cfg.ts";
import {
  type AfPacketOptions,
  type CaptureInterface,
  DEFAULT_AF_PACKET,
  type NodeDraft,
  type NodeType,
  parseNodeCfg,
} from "./node_cfg.ts";
import { parseWeirCfg, type WeirSettings } from "./weir_cfg.ts";

/** A node with its resolved address and ports. */
export interface NodeSpec {
  readonly name: string;
  readonly type: NodeType;
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly metricsPort?: number;
  readonly capture?: CaptureInterface;
  readonly afPacket: AfPacketOptions;
  readonly pinCpu?: number;
  readonly envVars: Readonly<Record<string, string>>;
  readonly auxScripts: readonly string[];
  readonly section: string;
}

export interface Layout {
  /** The configuration directory, or "built-in". */
  readonly source: string;
  readonly settings: WeirSettings;
  /** In zeekctl order: manager, loggers, proxies, workers. */
  readonly nodes: readonly NodeSpec[];
  readonly manager: NodeSpec;
  readonly control: { readonly address: string; readonly port: number };
  readonly forwarder: {
    readonly address: string;
    readonly xpubPort: number;
    readonly xsubPort: number;
  };
  /** Zeek's `Cluster::manager_is_logger`: true when there is no logger. */
  readonly managerIsLogger: boolean;
  readonly localNets: readonly LocalNet[];
}

const TYPE_ORDER: readonly NodeType[] = ["manager", "logger", "proxy", "worker"];

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function resolveHost(host: string): Promise<string | undefined> {
  if (host === "localhost") return "127.0.0.1";
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch {
    return undefined;
  }
}

function assemble(
  source: string,
  settings: WeirSettings,
  localNets: LocalNet[],
  drafts: readonly (NodeDraft & { address: string })[],
  problems: ProblemList,
  file: string,
): Layout {
  const ordered = TYPE_ORDER.flatMap((t) => drafts.filter((d) => d.type === t));
  let nextPort = settings.zeekPort + 2;
  const controlPort = nextPort++;
  let nextMetrics = settings.metricsPort;
  const nodes: NodeSpec[] = ordered.map((d) => {
    const { line: _line, ...rest } = d;
    const node: NodeSpec = {
      ...rest,
      port: nextPort++,
      ...(settings.metricsPort !== 0 ? { metricsPort: nextMetrics++ } : {}),
    };
    return Object.freeze(node);
  });
  if (nextPort - 1 > 65535 || nextMetrics - 1 > 65535) {
    problems.add(
      file,
      undefined,
      `port allocation runs past 65535: lower ZeekPort (${settings.zeekPort}) or MetricsPort (${settings.metricsPort})`,
    );
  }
  const managers = nodes.filter((n) => n.type === "manager");
  if (managers.length !== 1) {
    problems.add(
      file,
      undefined,
      managers.length === 0
        ? "there must be one manager: none is configured"
        : `there must be one manager: found ${managers.map((m) => m.name).join(", ")}`,
    );
  }
  const groups = new Map<string, { device: string; name: string }>();
  for (const n of nodes) {
    if (n.type !== "worker" || n.capture?.method !== "af_packet" || !n.afPacket.enableFanout) {
      continue;
    }
    const key = `${n.address}/${n.afPacket.fanoutId}`;
    const other = groups.get(key);
    if (other !== undefined && other.device !== n.capture.device) {
      problems.add(
        file,
        undefined,
        `${n.name} captures on ${n.capture.device} and ${other.name} on ${other.device} with the same af_packet_fanout_id ${n.afPacket.fanoutId}: give each interface its own af_packet_fanout_id (the kernel refuses one fanout group on two interfaces)`,
      );
    } else groups.set(key, { device: n.capture.device, name: n.name });
  }
  problems.throwIfAny();
  const manager = managers[0]!;
  return Object.freeze({
    source,
    settings,
    nodes: Object.freeze(nodes),
    manager,
    control: Object.freeze({ address: manager.address, port: controlPort }),
    forwarder: Object.freeze({
      address: manager.address,
      xpubPort: settings.zeekPort,
      xsubPort: settings.zeekPort + 1,
    }),
    managerIsLogger: !nodes.some((n) => n.type === "logger"),
    localNets: Object.freeze(localNets),
  });
}

/** Reads `node.cfg` (required), `weir.cfg` and `networks.cfg` from `configDir`; throws `ConfigError` with every problem. */
export async function loadLayout(configDir: string): Promise<Layout> {
  const dir = resolve(configDir);
  const problems = new ProblemList();
  const nodeText = await readOptional(join(dir, "node.cfg"));
  if (nodeText === undefined) problems.add("node.cfg", undefined, `no node.cfg in ${dir}`);
  const settings = parseWeirCfg(await readOptional(join(dir, "weir.cfg")), {
    file: "weir.cfg",
    configDir: dir,
    baseDir: dir,
    problems,
  });
  const localNets = parseNetworksCfg(
    await readOptional(join(dir, "networks.cfg")),
    "networks.cfg",
    problems,
  );
  const { nodes } = parseNodeCfg(nodeText ?? "", "node.cfg", problems);
  const drafts: (NodeDraft & { address: string })[] = [];
  for (const node of nodes) {
    const address = await resolveHost(node.host);
    if (address === undefined) {
      problems.add(
        "node.cfg",
        node.line,
        `host of [${node.section}] cannot be resolved: current value is "${node.host}"`,
      );
    } else drafts.push({ ...node, address });
  }
  return assemble(dir, settings, localNets, drafts, problems, "node.cfg");
}

/** The interface of the default route (from /proc/net/route), or "lo" when there is none. */
export async function defaultRouteInterface(): Promise<string> {
  const table = await readOptional("/proc/net/route");
  for (const line of (table ?? "").split("\n").slice(1)) {
    const [iface, destination] = line.trim().split(/\s+/);
    if (destination === "00000000" && iface) return iface;
  }
  return "lo";
}

/**
 * The built-in layout used with no configuration: manager, logger-1,
 * proxy-1, worker-1 and worker-2 on localhost, workers capturing on
 * `options.interface` or the default route's interface. State lives in
 * `<baseDir>/.weir`.
 */
export async function createStandaloneLayout(
  options: { interface?: string; baseDir?: string; settingsText?: string } = {},
): Promise<Layout> {
  const base = join(resolve(options.baseDir ?? Deno.cwd()), ".weir");
  const problems = new ProblemList();
  const settings = parseWeirCfg(options.settingsText, {
    file: "built-in",
    configDir: base,
    baseDir: base,
    problems,
  });
  const device = options.interface ?? await defaultRouteInterface();
  const capture: CaptureInterface = Object.freeze({ method: "af_packet", device });
  const common = {
    host: "localhost",
    address: "127.0.0.1",
    afPacket: DEFAULT_AF_PACKET,
    envVars: {},
    auxScripts: [],
    line: 0,
  };
  const drafts = [
    { ...common, name: "manager", type: "manager" as const, section: "manager" },
    { ...common, name: "logger-1", type: "logger" as const, section: "logger" },
    { ...common, name: "proxy-1", type: "proxy" as const, section: "proxy" },
    { ...common, name: "worker-1", type: "worker" as const, section: "worker", capture },
    { ...common, name: "worker-2", type: "worker" as const, section: "worker", capture },
  ];
  return assemble(
    "built-in",
    settings,
    parseNetworksCfg(undefined, "", problems),
    drafts,
    problems,
    "built-in",
  );
}

/** The node named `name`, if the layout has it. */
export function nodeByName(layout: Layout, name: string): NodeSpec | undefined {
  return layout.nodes.find((n) => n.name === name);
}

/** Everything about a node whose change needs a restart of that node (for `deploy`). */
export function layoutFingerprint(node: NodeSpec): string {
  return JSON.stringify(node);
}
