/**
 * `weir.cfg`: the zeekctl.cfg keys that apply to weir, with zeekctl's
 * defaults, plus weir's own keys. Keys are case-insensitive.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import type { ProblemList } from "./errors.ts";
import { parseKeyValues } from "./ini.ts";

export type JsonTimestamps = "epoch" | "millis" | "millis_unsigned" | "iso8601";

/** Every setting, typed. Durations are in seconds. */
export interface WeirSettings {
  readonly zeekPort: number;
  readonly metricsPort: number;
  readonly metricsAddress: string;
  readonly useWebSocket: boolean;
  readonly webSocketHost: string;
  readonly webSocketPort: number;
  readonly webSocketTimeoutSec: number;
  readonly webSocketTokenFile: string;
  readonly webSocketTlsCert: string;
  readonly webSocketTlsKey: string;
  readonly webSocketMaxConnections: number;
  readonly webSocketQueueSize: number;
  readonly logDir: string;
  readonly spoolDir: string;
  readonly siteDir: string;
  readonly logRotationIntervalSec: number;
  readonly logExpireIntervalSec: number;
  readonly keepLogs: string;
  readonly compressLogs: boolean;
  readonly useJson: boolean;
  readonly jsonTimestamps: JsonTimestamps;
  readonly logFlushRecords: number;
  readonly logFlushIntervalSec: number;
  readonly minDiskSpacePercent: number;
  readonly stopTimeoutSec: number;
  readonly commTimeoutSec: number;
  readonly controlTopic: string;
  readonly controlTokenFile: string;
  readonly statsLogEnable: boolean;
  readonly crashExpireIntervalSec: number;
  readonly pcapSnaplen: number;
  readonly pcapBufsizeMiB: number;
  readonly envVars: Readonly<Record<string, string>>;
  readonly sitePolicyScripts: readonly string[];
  readonly restartBackoffMaxSec: number;
}

type Kind =
  | "port"
  | "count"
  | "bool"
  | "string"
  | "path"
  | "interval"
  | "days"
  | "env"
  | "list"
  | "json_ts";

interface KeySpec {
  readonly field: keyof WeirSettings;
  readonly kind: Kind;
  readonly fallback: (base: string) => unknown;
}

const KEYS: Readonly<Record<string, KeySpec>> = {
  zeekport: { field: "zeekPort", kind: "port", fallback: () => 27760 },
  metricsport: { field: "metricsPort", kind: "count", fallback: () => 9991 },
  metricsaddress: { field: "metricsAddress", kind: "string", fallback: () => "127.0.0.1" },
  usewebsocket: { field: "useWebSocket", kind: "bool", fallback: () => true },
  websockethost: { field: "webSocketHost", kind: "string", fallback: () => "127.0.0.1" },
  websocketport: { field: "webSocketPort", kind: "port", fallback: () => 27759 },
  websockettimeout: { field: "webSocketTimeoutSec", kind: "count", fallback: () => 10 },
  websockettokenfile: { field: "webSocketTokenFile", kind: "path", fallback: () => "" },
  websockettlscert: { field: "webSocketTlsCert", kind: "path", fallback: () => "" },
  websockettlskey: { field: "webSocketTlsKey", kind: "path", fallback: () => "" },
  websocketmaxconnections: { field: "webSocketMaxConnections", kind: "count", fallback: () => 100 },
  websocketqueuesize: { field: "webSocketQueueSize", kind: "count", fallback: () => 1000 },
  logdir: { field: "logDir", kind: "path", fallback: (base) => join(base, "logs") },
  spooldir: { field: "spoolDir", kind: "path", fallback: (base) => join(base, "spool") },
  sitedir: { field: "siteDir", kind: "path", fallback: (base) => join(base, "site") },
  logrotationinterval: { field: "logRotationIntervalSec", kind: "interval", fallback: () => 3600 },
  logexpireinterval: { field: "logExpireIntervalSec", kind: "days", fallback: () => 0 },
  keeplogs: { field: "keepLogs", kind: "string", fallback: () => "" },
  compresslogs: { field: "compressLogs", kind: "bool", fallback: () => true },
  usejson: { field: "useJson", kind: "bool", fallback: () => false },
  jsontimestamps: { field: "jsonTimestamps", kind: "json_ts", fallback: () => "epoch" },
  logflushrecords: { field: "logFlushRecords", kind: "count", fallback: () => 1000 },
  logflushinterval: { field: "logFlushIntervalSec", kind: "interval", fallback: () => 1 },
  mindiskspace: { field: "minDiskSpacePercent", kind: "count", fallback: () => 5 },
  stoptimeout: { field: "stopTimeoutSec", kind: "count", fallback: () => 60 },
  commtimeout: { field: "commTimeoutSec", kind: "count", fallback: () => 10 },
  controltopic: { field: "controlTopic", kind: "string", fallback: () => "zeek/control" },
  controltokenfile: { field: "controlTokenFile", kind: "path", fallback: () => "" },
  statslogenable: { field: "statsLogEnable", kind: "bool", fallback: () => true },
  crashexpireinterval: { field: "crashExpireIntervalSec", kind: "days", fallback: () => 0 },
  pcapsnaplen: { field: "pcapSnaplen", kind: "count", fallback: () => 9216 },
  pcapbufsize: { field: "pcapBufsizeMiB", kind: "count", fallback: () => 128 },
  env_vars: { field: "envVars", kind: "env", fallback: () => ({}) },
  sitepolicyscripts: { field: "sitePolicyScripts", kind: "list", fallback: () => ["local.ts"] },
  restartbackoffmax: { field: "restartBackoffMaxSec", kind: "count", fallback: () => 30 },
};

/** zeekctl keys that only matter to zeekctl's own installation; accepted and ignored. */
const IGNORED = new Set([
  "clusterbackend",
  "mailto",
  "mailsubjectprefix",
  "mailfrom",
  "mailhostupdown",
  "mailalarmsto",
  "sendmail",
  "zeekargs",
  "memlimit",
  "cronCmd".toLowerCase(),
  "commandtimeout",
  "compresscmd",
  "compressextension",
  "compresslogsinflight",
  "timefmt",
  "debug",
  "havenfs",
  "sitepluginpath",
  "sitepolicypath",
  "zeekbase",
  "statsdir",
  "pfringclusterid",
  "pfringclustertype",
  "pfringfirstappinstance",
]);

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  s: 1,
  sec: 1,
  secs: 1,
  min: 60,
  mins: 60,
  hr: 3600,
  hrs: 3600,
  h: 3600,
  day: 86400,
  days: 86400,
  d: 86400,
};

const TRUE = new Set(["1", "true", "yes", "on", "t"]);
const FALSE = new Set(["0", "false", "no", "off", "f"]);

function convert(kind: Kind, raw: string, configDir: string): unknown | Error {
  switch (kind) {
    case "port":
    case "count": {
      if (!/^\d+$/.test(raw)) return new Error("must be a non-negative integer");
      const n = Number(raw);
      if (kind === "port" && (n < 1 || n > 65535)) {
        return new Error("must be a port between 1 and 65535");
      }
      return n;
    }
    case "bool": {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      return new Error("must be 1 or 0 (or true/false)");
    }
    case "string":
      return raw;
    case "path":
      return raw === "" || isAbsolute(raw) ? raw : join(configDir, raw);
    case "interval":
    case "days": {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(raw.toLowerCase());
      const unit = m?.[2] ?? "";
      if (m === null || UNITS[unit] === undefined) {
        return new Error("must be a number with an optional unit (sec, min, hr, day)");
      }
      // zeekctl reads a bare LogExpireInterval as days.
      const scale = kind === "days" && unit === "" ? 86400 : UNITS[unit]!;
      return Number(m[1]) * scale;
    }
    case "env":
      return parseEnvVars(raw);
    case "list":
      return raw.split(/[\s,]+/).filter((s) => s !== "");
    case "json_ts": {
      const v = raw.toLowerCase().replace(/^json::ts_/, "").replace(/^ts_/, "");
      return ["epoch", "millis", "millis_unsigned", "iso8601"].includes(v)
        ? v
        : new Error("must be one of epoch|millis|millis_unsigned|iso8601");
    }
  }
}

/** zeekctl's `env_vars` syntax: `A=1, B=2`. */
export function parseEnvVars(raw: string): Record<string, string> | Error {
  const out: Record<string, string> = {};
  for (const part of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      return new Error(`must be a comma-separated list of NAME=value: "${part}" has no "="`);
    }
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Settings from `weir.cfg` text (or defaults when `text` is undefined). */
export function parseWeirCfg(
  text: string | undefined,
  options: { file: string; configDir: string; baseDir: string; problems: ProblemList },
): WeirSettings {
  const values: Record<string, unknown> = {};
  for (const spec of Object.values(KEYS)) values[spec.field] = spec.fallback(options.baseDir);
  const entries = text === undefined ? [] : parseKeyValues(text, options.file, options.problems);
  for (const { key, value, line } of entries) {
    const spec = KEYS[key];
    if (spec === undefined) {
      if (!IGNORED.has(key)) options.problems.add(options.file, line, `unknown key "${key}"`);
      continue;
    }
    const converted = convert(spec.kind, value, options.configDir);
    if (converted instanceof Error) {
      options.problems.add(
        options.file,
        line,
        `${key} ${converted.message}: current value is "${value}"`,
      );
    } else {
      values[spec.field] = converted;
    }
  }
  if (values.controlTokenFile === "") {
    values.controlTokenFile = join(values.spoolDir as string, "control.token");
  }
  return Object.freeze(values) as unknown as WeirSettings;
}
