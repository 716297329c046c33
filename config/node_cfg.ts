/**
 * zeekctl's `node.cfg`: one section per node, `lb_procs` expanding a worker
 * section into `<name>-1 … <name>-N`, and the `af_packet_*` keys with Zeek's
 * defaults.
 *
 * @module
 */

import type { ProblemList } from "./errors.ts";
import { type Entry, parseIni } from "./ini.ts";
import { parseEnvVars } from "./weir_cfg.ts";

export type NodeType = "manager" | "logger" | "proxy" | "worker";
export type FanoutMode = "hash" | "lb" | "cpu" | "rollover" | "rnd" | "qm";

/** AF_PACKET options (Zeek's `AF_Packet::*`). */
export interface AfPacketOptions {
  readonly bufferSize: number;
  readonly blockSize: number;
  readonly blockTimeoutMs: number;
  readonly fanoutId: number;
  readonly fanoutMode: FanoutMode;
  readonly enableFanout: boolean;
  readonly enableDefrag: boolean;
  readonly enableHwTimestamping: boolean;
  readonly linkType: number;
  readonly checksumValidation: "on" | "off" | "kernel";
}

/** Zeek's AF_PACKET defaults. */
export const DEFAULT_AF_PACKET: AfPacketOptions = Object.freeze({
  bufferSize: 128 * 1024 * 1024,
  blockSize: 32768,
  blockTimeoutMs: 10,
  fanoutId: 23,
  fanoutMode: "hash",
  enableFanout: true,
  enableDefrag: false,
  enableHwTimestamping: false,
  linkType: 1,
  checksumValidation: "on",
});

/** Where a worker captures: `af_packet::eth1`, `pcap::eth1`, or a plain name (AF_PACKET). */
export interface CaptureInterface {
  readonly method: "af_packet" | "pcap";
  readonly device: string;
}

/** A node as node.cfg describes it, before ports are allocated. */
export interface NodeDraft {
  readonly name: string;
  readonly type: NodeType;
  readonly host: string;
  readonly capture?: CaptureInterface;
  readonly afPacket: AfPacketOptions;
  readonly pinCpu?: number;
  readonly envVars: Readonly<Record<string, string>>;
  readonly auxScripts: readonly string[];
  readonly section: string;
  readonly line: number;
}

const TYPES = ["standalone", "manager", "logger", "proxy", "worker"];
const LB_METHODS = ["af_packet", "custom", "interfaces", "pf_ring", "myricom"];
const FANOUT_MODES: Readonly<Record<string, FanoutMode>> = {
  fanout_hash: "hash",
  fanout_lb: "lb",
  fanout_cpu: "cpu",
  fanout_rollover: "rollover",
  fanout_rnd: "rnd",
  fanout_qm: "qm",
};
const KNOWN_KEYS = new Set([
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
]);

/** Parses `lo`, `af_packet::eth1`, `pcap::eth1`. */
export function parseCaptureInterface(text: string): CaptureInterface | string {
  const m = /^(?:([a-z_]+)::)?(.+)$/.exec(text);
  const prefix = m?.[1], device = m?.[2] ?? "";
  if (prefix === undefined || prefix === "af_packet") {
    return Object.freeze({ method: "af_packet", device });
  }
  if (prefix === "pcap") return Object.freeze({ method: "pcap", device });
  return `interface prefix must be af_packet:: or pcap::: current value is "${text}"`;
}

function bool(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (["1", "t", "true", "yes"].includes(l)) return true;
  if (["0", "f", "false", "no"].includes(l)) return false;
  return undefined;
}

/** Parses node.cfg text into node drafts in file order, reporting every problem. */
export function parseNodeCfg(text: string, file: string, problems: ProblemList): {
  nodes: NodeDraft[];
  standalone: boolean;
} {
  const nodes: NodeDraft[] = [];
  const seen = new Map<string, number>();
  let standalone = false;
  for (const section of parseIni(text, file, problems)) {
    const where = (e: Entry) => e.line;
    if (seen.has(section.name)) {
      problems.add(
        file,
        section.line,
        `duplicate section [${section.name}] (first at line ${seen.get(section.name)})`,
      );
      continue;
    }
    seen.set(section.name, section.line);
    const get = new Map<string, Entry>();
    for (const e of section.entries) {
      if (!KNOWN_KEYS.has(e.key)) {
        problems.add(file, e.line, `unknown key "${e.key}" in section [${section.name}]`);
      }
      get.set(e.key, e);
    }
    const typeEntry = get.get("type");
    const rawType = typeEntry?.value.toLowerCase();
    if (typeEntry === undefined) {
      problems.add(
        file,
        section.line,
        `section [${section.name}] has no type (standalone|manager|logger|proxy|worker)`,
      );
      continue;
    }
    if (!TYPES.includes(rawType!)) {
      problems.add(
        file,
        where(typeEntry),
        `type must be one of ${TYPES.join("|")}: current value is "${typeEntry.value}"`,
      );
      continue;
    }
    const host = get.get("host")?.value;
    if (host === undefined || host === "") {
      problems.add(file, section.line, `section [${section.name}] has no host`);
      continue;
    }

    const af: Record<string, unknown> = { ...DEFAULT_AF_PACKET };
    const num = (key: string, field: string, min: number) => {
      const e = get.get(key);
      if (e === undefined) return;
      if (!/^\d+$/.test(e.value) || Number(e.value) < min) {
        problems.add(
          file,
          e.line,
          `${key} must be an integer ≥ ${min}: current value is "${e.value}"`,
        );
      } else af[field] = Number(e.value);
    };
    num("af_packet_buffer_size", "bufferSize", 1);
    num("af_packet_block_size", "blockSize", 4096);
    num("af_packet_block_timeout", "blockTimeoutMs", 0);
    num("af_packet_fanout_id", "fanoutId", 0);
    num("af_packet_link_type", "linkType", 0);
    for (
      const [key, field] of [
        ["af_packet_enable_defrag", "enableDefrag"],
        ["af_packet_enable_fanout", "enableFanout"],
        ["af_packet_enable_hw_timestamping", "enableHwTimestamping"],
      ] as const
    ) {
      const e = get.get(key);
      if (e === undefined) continue;
      const b = bool(e.value);
      if (b === undefined) {
        problems.add(file, e.line, `${key} must be T or F: current value is "${e.value}"`);
      } else af[field] = b;
    }
    const modeEntry = get.get("af_packet_fanout_mode");
    if (modeEntry !== undefined) {
      const mode = FANOUT_MODES[modeEntry.value.toLowerCase().replace(/^af_packet::/, "")];
      if (mode === undefined) {
        problems.add(
          file,
          modeEntry.line,
          `af_packet_fanout_mode must be one of FANOUT_HASH|FANOUT_QM|FANOUT_CPU|FANOUT_LB|FANOUT_ROLLOVER|FANOUT_RND: current value is "${modeEntry.value}"`,
        );
      } else af.fanoutMode = mode;
    }
    const csEntry = get.get("af_packet_checksum_validation_mode");
    if (csEntry !== undefined) {
      const v = csEntry.value.toLowerCase().replace(/^af_packet::/, "").replace(/^checksum_/, "");
      if (v === "on" || v === "off" || v === "kernel") af.checksumValidation = v;
      else {
        problems.add(
          file,
          csEntry.line,
          `af_packet_checksum_validation_mode must be one of CHECKSUM_ON|CHECKSUM_OFF|CHECKSUM_KERNEL: current value is "${csEntry.value}"`,
        );
      }
    }

    let envVars: Record<string, string> = {};
    const envEntry = get.get("env_vars");
    if (envEntry !== undefined) {
      const parsed = parseEnvVars(envEntry.value);
      if (parsed instanceof Error) problems.add(file, envEntry.line, `env_vars ${parsed.message}`);
      else envVars = parsed;
    }
    const auxScripts = (get.get("aux_scripts")?.value ?? "").split(/[\s,]+/).filter((s) =>
      s !== ""
    );
    const pinEntry = get.get("pin_cpus");
    const pins = pinEntry === undefined ? [] : pinEntry.value.split(",").map((s) => s.trim());
    if (pins.some((p) => !/^\d+$/.test(p))) {
      problems.add(
        file,
        pinEntry!.line,
        `pin_cpus must be a comma-separated list of CPU numbers: current value is "${
          pinEntry!.value
        }"`,
      );
    }

    const type = rawType === "standalone" ? "worker" : rawType as NodeType;
    const ifaceEntry = get.get("interface");
    let capture: CaptureInterface | undefined;
    if (ifaceEntry !== undefined) {
      const c = parseCaptureInterface(ifaceEntry.value);
      if (typeof c === "string") problems.add(file, ifaceEntry.line, c);
      else capture = c;
    }
    if (type === "worker" && capture === undefined && get.get("lb_interfaces") === undefined) {
      problems.add(file, section.line, `worker [${section.name}] needs an interface`);
    }

    const base = {
      host,
      afPacket: Object.freeze(af) as unknown as AfPacketOptions,
      envVars: Object.freeze(envVars),
      auxScripts: Object.freeze(auxScripts),
      section: section.name,
      line: section.line,
    };
    if (rawType === "standalone") {
      // zeekctl's default node.cfg is one standalone Zeek. weir runs it as a
      // manager that also writes the logs plus one worker on the interface.
      standalone = true;
      nodes.push({ ...base, name: section.name, type: "manager" });
      nodes.push({ ...base, name: "worker-1", type: "worker", ...(capture ? { capture } : {}) });
      continue;
    }

    const procsEntry = get.get("lb_procs");
    const methodEntry = get.get("lb_method");
    if (methodEntry !== undefined && !LB_METHODS.includes(methodEntry.value.toLowerCase())) {
      problems.add(
        file,
        methodEntry.line,
        `lb_method must be one of ${LB_METHODS.join("|")}: current value is "${methodEntry.value}"`,
      );
    } else if (
      methodEntry !== undefined && ["pf_ring", "myricom"].includes(methodEntry.value.toLowerCase())
    ) {
      problems.add(
        file,
        methodEntry.line,
        `lb_method ${methodEntry.value} is not supported by weir: use af_packet`,
      );
    }
    if (procsEntry === undefined) {
      nodes.push({
        ...base,
        name: section.name,
        type,
        ...(capture ? { capture } : {}),
        ...(pins[0] ? { pinCpu: Number(pins[0]) } : {}),
      });
      continue;
    }
    if (type !== "worker") {
      problems.add(file, procsEntry.line, `lb_procs only applies to workers, not to a ${type}`);
      continue;
    }
    if (!/^\d+$/.test(procsEntry.value) || Number(procsEntry.value) < 1) {
      problems.add(
        file,
        procsEntry.line,
        `lb_procs must be a positive integer: current value is "${procsEntry.value}"`,
      );
      continue;
    }
    if (methodEntry === undefined) {
      problems.add(
        file,
        procsEntry.line,
        `lb_procs needs lb_method (af_packet, custom or interfaces)`,
      );
      continue;
    }
    const n = Number(procsEntry.value);
    const method = methodEntry.value.toLowerCase();
    let lbIfaces: CaptureInterface[] = [];
    if (method === "interfaces") {
      const e = get.get("lb_interfaces");
      const list = (e?.value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
      if (list.length !== n) {
        problems.add(
          file,
          e?.line ?? procsEntry.line,
          `lb_interfaces must list exactly ${n} interfaces (lb_procs): current value is "${
            e?.value ?? ""
          }"`,
        );
        continue;
      }
      lbIfaces = list.map((s) => parseCaptureInterface(s)).filter((c): c is CaptureInterface =>
        typeof c !== "string"
      );
    }
    for (let i = 1; i <= n; i++) {
      const c = method === "interfaces" ? lbIfaces[i - 1] : capture;
      const pin = pins.length > 0 ? Number(pins[(i - 1) % pins.length]) : undefined;
      nodes.push({
        ...base,
        name: `${section.name}-${i}`,
        type,
        ...(c ? { capture: c } : {}),
        ...(pin !== undefined ? { pinCpu: pin } : {}),
      });
    }
  }
  return { nodes, standalone };
}
