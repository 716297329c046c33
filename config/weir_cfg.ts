/**
 * `weir.cfg`: zeekctl.cfg's syntax (`Key = value`, keys case-insensitive,
 * `#` comments) and the zeekctl keys that apply to weir, with zeekctl's
 * defaults, plus weir's own keys. zeekctl keys that only concern zeekctl's
 * own installation (mail, NFS, its directories) are accepted and have no
 * effect, so a zeekctl.cfg can be reused; any other key is an error.
 *
 * @module
 */

import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { didYouMean, Problems } from "./errors.ts";
import {
  BOOLEAN,
  duration,
  EntryReader,
  ENV_VARS,
  integer,
  normaliseKey,
  oneOf,
  parseKeyValues,
  splitList,
  TCP_PORT,
  type ValueKind,
} from "./ini.ts";

export type JsonTimestamps = "epoch" | "millis" | "millis_unsigned" | "iso8601";

/** Every setting, typed. Durations are in seconds, paths absolute ("" = none). */
export interface WeirSettings {
  readonly zeekPort: number;
  /** 0: no node serves metrics. */
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
  /** 0: logs are not rotated. */
  readonly logRotationIntervalSec: number;
  /** 0: archived logs never expire. */
  readonly logExpireIntervalSec: number;
  /** Shell patterns of expired log files to keep. */
  readonly keepLogs: readonly string[];
  readonly compressLogs: boolean;
  /** Zeek's `LogAscii::use_json`. */
  readonly useJson: boolean;
  readonly jsonTimestamps: JsonTimestamps;
  readonly logFlushRecords: number;
  readonly logFlushIntervalSec: number;
  /** 0: no free-space warning. */
  readonly minDiskSpacePercent: number;
  readonly stopTimeoutSec: number;
  readonly commTimeoutSec: number;
  readonly controlTopic: string;
  readonly controlTokenFile: string;
  readonly statsLogEnable: boolean;
  /** 0: crash directories never expire. */
  readonly crashExpireIntervalSec: number;
  readonly pcapSnaplen: number;
  readonly pcapBufsizeMiB: number;
  /** Set on every node; node.cfg's env_vars win. */
  readonly envVars: Readonly<Record<string, string>>;
  /** Site modules to load, relative to siteDir; empty: every module in siteDir. */
  readonly sitePolicyScripts: readonly string[];
  readonly restartBackoffMaxSec: number;
  /** Zeek's `Site::private_address_space_is_local`. */
  readonly privateAddressSpaceIsLocal: boolean;
  /**
   * CURVE on the bus, the log sockets and the agent channel: `auto` closes
   * them when the manager listens off loopback (see `Layout.closedBus`).
   */
  readonly busEncryption: BusEncryption;
  /** ZMTP heartbeats on the bus: a ping this often ... */
  readonly heartbeatIntervalSec: number;
  /** ... and a peer silent this long is disconnected (`Cluster::node_down`). */
  readonly nodeTimeoutSec: number;
  /**
   * Log batches are acknowledged by the loggers once written, and resent
   * until they are (`LogAcks = no` ships as Zeek does, for a Zeek logger).
   */
  readonly logAcks: boolean;
  /** A batch unacknowledged this long is sent again (to another logger if its own is gone). */
  readonly logAckTimeoutSec: number;
  /** Bytes of log batches a node keeps on disk while no logger (or NATS) takes them. */
  readonly logSpoolBytes: number;
  /** Where nodes send log batches: the loggers (ZeroMQ) or NATS JetStream. */
  readonly logTransport: LogTransport;
  readonly nats: NatsSettings;
  /** Hashes of every analysed file in files.log (`FileHashes`; none by default, as Zeek's base scripts). */
  readonly fileHashes: readonly FileHashName[];
  /** `HTTP::default_capture_password`: http.log's `password` column is filled (default no). */
  readonly httpCapturePassword: boolean;
  /**
   * The weir.cfg line of each key that was set (normalised key → line), for
   * checks across files to name. Not enumerable: settings compare, print
   * and travel (the agents' config bundle) by their values alone.
   */
  readonly lines?: Readonly<Record<string, number>>;
}

/** A file hash weir can compute (Zeek's MD5, SHA1 and SHA256 file analyzers). */
export type FileHashName = "md5" | "sha1" | "sha256";

export type BusEncryption = "auto" | "curve" | "off";
export type LogTransport = "zeromq" | "nats";

/** `LogTransport = nats`: where and how log batches go to JetStream. */
export interface NatsSettings {
  readonly url: string;
  /** A `.creds` file (JWT and NKey seed); "" = none. */
  readonly credentialsFile: string;
  readonly stream: string;
  /** Each log path is published on `<prefix>.<path>`. */
  readonly subjectPrefix: string;
  /** `zeek-bin`: one Zeek batch per message; `json`: JSON lines, one record per line. */
  readonly format: "zeek-bin" | "json";
  readonly storage: "file" | "memory";
  readonly replicas: number;
  readonly duplicateWindowSec: number;
  /** 0: messages are kept until the stream's limits remove them. */
  readonly maxAgeSec: number;
  /** Publishes awaiting their acknowledgement before new batches wait (backpressure). */
  readonly maxPending: number;
  /** The durable consumer the loggers share. */
  readonly consumer: string;
}

/** zeekctl.cfg keys that configure zeekctl itself (mail, NFS, its install tree, PF_RING): accepted, no effect. */
const ZEEKCTL_ONLY_KEYS = [
  "BinDir",
  "BrokerDBDir",
  "CapstatsPath",
  "CfgDir",
  "CommandTimeout",
  "CompressCmd",
  "CompressExtension",
  "CompressLogsInFlight",
  "CronCmd",
  "Debug",
  "DebugLog",
  "DefaultStoreDir",
  "HaveNFS",
  "HelperDir",
  "LibDir",
  "LibDir64",
  "LibDirInternal",
  "LocalNetsCfg",
  "LockFile",
  "MailAlarmsInterval",
  "MailAlarmsTo",
  "MailArchiveLogFail",
  "MailConnectionSummary",
  "MailFrom",
  "MailHostUpDown",
  "MailReceivingPackets",
  "MailReplyTo",
  "MailSubjectPrefix",
  "MailTo",
  "MakeArchiveName",
  "MemLimit",
  "NodeCfg",
  "PFRINGClusterID",
  "PFRINGClusterType",
  "PFRINGFirstAppInstance",
  "PluginDir",
  "PluginZeekDir",
  "PolicyDir",
  "PolicyDirSiteInstall",
  "PolicyDirSiteInstallAuto",
  "PostProcDir",
  "Prefixes",
  "SaveTraces",
  "ScriptsDir",
  "SendMail",
  "SitePluginPath",
  "SitePolicyPath",
  "StateFile",
  "StaticDir",
  "StatsDir",
  "StatsLog",
  "StatsLogExpireInterval",
  "StatusCmdShowAll",
  "StopWait",
  "TimeFmt",
  "TimeMachineHost",
  "TimeMachinePort",
  "TmpDir",
  "TmpExecDir",
  "TraceSummary",
  "ZeekArgs",
  "ZeekBase",
  "ZeekCtlConfigDir",
] as const;

const ZEEK_PORT = integer(
  2,
  65534,
  "a TCP port from 2 to 65534 (the forwarder takes it and the next one; the WebSocket API defaults to the one before)",
);
const METRICS_PORT = integer(0, 65535, "a TCP port from 1 to 65535, or 0 to serve no metrics");
const IP_ADDRESS: ValueKind<string> = {
  expects: "an IP address to listen on (e.g. 127.0.0.1, 0.0.0.0 or ::1)",
  parse: (raw) => isIP(raw) === 0 ? undefined : raw,
};
const PERCENT = integer(0, 100, "a percentage from 0 to 100 (0 turns the warning off)");
const POSITIVE = integer(1, 1e9, "a positive whole number");
const SNAPLEN = integer(1, 262144, "a number of bytes from 1 to 262144");
const SECONDS = duration("sec", ["msec", "sec", "min"]);
const INTERVAL = duration("sec", ["sec", "min", "hr", "day"]);
const EXPIRY = duration("day", ["sec", "min", "hr", "day"]);
const JSON_TIMESTAMPS = oneOf(
  ["epoch", "millis", "millis_unsigned", "iso8601"] as const,
  "json::ts_",
);
const CLUSTER_BACKEND = oneOf(["ZeroMQ"] as const);
const BUS_ENCRYPTION = oneOf(["auto", "curve", "off"] as const);
const LOG_TRANSPORT = oneOf(["zeromq", "nats"] as const);
const NATS_FORMAT = oneOf(["zeek-bin", "json"] as const);
const NATS_STORAGE = oneOf(["file", "memory"] as const);
const NATS_URL: ValueKind<string> = {
  expects: "one or more NATS server URLs separated by commas (nats://host:4222)",
  parse: (raw) =>
    raw.split(",").every((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+(:\d+)?\/?$/.test(u.trim()))
      ? raw
      : undefined,
};
/** A NATS name (stream, consumer): letters, digits, `-` and `_`. */
const NATS_NAME: ValueKind<string> = {
  expects: "a name of letters, digits, - and _",
  parse: (raw) => /^[A-Za-z0-9_-]{1,64}$/.test(raw) ? raw : undefined,
};
const NATS_SUBJECT_PREFIX: ValueKind<string> = {
  expects: "subject tokens separated by dots, without wildcards (weir.logs)",
  parse: (raw) => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(raw) ? raw : undefined,
};
const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/** Bytes, with an optional K, M or G (binary multiples). */
const SIZE: ValueKind<number> = {
  expects: "a size in bytes, with an optional K, M or G (e.g. 512M)",
  parse: (raw) => {
    const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(raw);
    if (m === null) return undefined;
    const n = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
    return Number.isSafeInteger(n) ? n : undefined;
  },
};
const WORDS: ValueKind<readonly string[]> = {
  expects: "a list separated by spaces",
  parse: (raw) => Object.freeze(splitList(raw)),
};
const FILE_HASHES: ValueKind<readonly FileHashName[]> = {
  expects: "a list of md5, sha1, sha256 (or none)",
  parse: (raw) => {
    const names = splitList(raw).map((n) => n.toLowerCase());
    if (names.length === 1 && names[0] === "none") return Object.freeze([]);
    const known = ["md5", "sha1", "sha256"];
    if (!names.every((n) => known.includes(n))) return undefined;
    return Object.freeze(known.filter((n) => names.includes(n)) as FileHashName[]);
  },
};

const SITE_SCRIPTS: ValueKind<readonly string[]> = {
  expects: "a list of .ts or .js modules in SiteDir (weir does not run Zeek scripts)",
  parse: (raw) => {
    const scripts = splitList(raw);
    return scripts.every((s) => /\.(ts|js|mjs)$/.test(s)) ? Object.freeze(scripts) : undefined;
  },
};

/** Where files resolve: `configDir` for relative paths, `stateDir` for the default LogDir, SpoolDir and SiteDir. */
export interface WeirCfgPlaces {
  readonly file: string;
  readonly configDir: string;
  readonly stateDir: string;
}

/** Parses weir.cfg text (`undefined`: no file, all defaults), reporting every problem to `problems`. */
export function parseWeirCfg(
  text: string | undefined,
  places: WeirCfgPlaces,
  problems: Problems,
): WeirSettings {
  const entries = (text === undefined ? [] : parseKeyValues(text, places.file, problems))
    .filter((entry) => {
      // zeekctl refuses quoted values: the quotes would become part of a path or name.
      const quoted = /^(["']).*\1$/.test(entry.value) && entry.value.length >= 2;
      if (quoted) {
        problems.add(
          places.file,
          entry.line,
          `${entry.name} must not be wrapped in quotes (values are taken as written): current value is ${entry.value}`,
        );
      }
      return !quoted;
    });
  const reader = new EntryReader(entries, places.file, problems, "");
  const known: string[] = [...ZEEKCTL_ONLY_KEYS];
  const read = <T>(name: string, kind: ValueKind<T>, fallback: T): T => {
    known.push(name);
    return reader.read(normaliseKey(name), kind) ?? fallback;
  };
  const path: ValueKind<string> = {
    expects: "a path written out in full (weir does not expand ${…})",
    parse: (raw) => raw.includes("${") ? undefined : resolve(places.configDir, raw),
  };

  // Read only to refuse Broker: weir speaks Zeek's ZeroMQ backend alone.
  read("ClusterBackend", CLUSTER_BACKEND, "ZeroMQ");
  const spoolDir = read("SpoolDir", path, join(places.stateDir, "spool"));
  const zeekPort = read("ZeekPort", ZEEK_PORT, 27760);
  const settings: Omit<WeirSettings, "lines"> = {
    zeekPort,
    metricsPort: read("MetricsPort", METRICS_PORT, 9991),
    metricsAddress: read("MetricsAddress", IP_ADDRESS, "127.0.0.1"),
    useWebSocket: read("UseWebSocket", BOOLEAN, true),
    webSocketHost: read("WebSocketHost", IP_ADDRESS, "127.0.0.1"),
    // Zeek's 27759 beside the default ZeekPort; a second cluster with its own ZeekPort moves it too.
    webSocketPort: read("WebSocketPort", TCP_PORT, zeekPort - 1),
    webSocketTimeoutSec: read("WebSocketTimeout", SECONDS, 10),
    webSocketTokenFile: read("WebSocketTokenFile", path, ""),
    webSocketTlsCert: read("WebSocketTlsCert", path, ""),
    webSocketTlsKey: read("WebSocketTlsKey", path, ""),
    webSocketMaxConnections: read("WebSocketMaxConnections", POSITIVE, 100),
    webSocketQueueSize: read("WebSocketQueueSize", POSITIVE, 1000),
    logDir: read("LogDir", path, join(places.stateDir, "logs")),
    spoolDir,
    siteDir: read("SiteDir", path, join(places.stateDir, "site")),
    logRotationIntervalSec: read("LogRotationInterval", INTERVAL, 3600),
    logExpireIntervalSec: read("LogExpireInterval", EXPIRY, 0),
    keepLogs: read("KeepLogs", WORDS, Object.freeze([])),
    compressLogs: read("CompressLogs", BOOLEAN, true),
    useJson: read("UseJson", BOOLEAN, false),
    jsonTimestamps: read("JsonTimestamps", JSON_TIMESTAMPS, "epoch"),
    logFlushRecords: read("LogFlushRecords", POSITIVE, 1000),
    logFlushIntervalSec: read("LogFlushInterval", SECONDS, 1),
    minDiskSpacePercent: read("MinDiskSpace", PERCENT, 5),
    stopTimeoutSec: read("StopTimeout", SECONDS, 60),
    commTimeoutSec: read("CommTimeout", SECONDS, 10),
    controlTopic: read("ControlTopic", { expects: "a topic", parse: (raw) => raw }, "zeek/control"),
    controlTokenFile: read("ControlTokenFile", path, join(spoolDir, "control.token")),
    statsLogEnable: read("StatsLogEnable", BOOLEAN, true),
    crashExpireIntervalSec: read("CrashExpireInterval", EXPIRY, 0),
    pcapSnaplen: read("PcapSnaplen", SNAPLEN, 9216),
    pcapBufsizeMiB: read("PcapBufsize", POSITIVE, 128),
    envVars: read("Env_Vars", ENV_VARS, Object.freeze({})),
    sitePolicyScripts: read("SitePolicyScripts", SITE_SCRIPTS, Object.freeze([])),
    restartBackoffMaxSec: read("RestartBackoffMax", SECONDS, 30),
    privateAddressSpaceIsLocal: read("PrivateAddressSpaceIsLocal", BOOLEAN, true),
    busEncryption: read("BusEncryption", BUS_ENCRYPTION, "auto"),
    heartbeatIntervalSec: read("HeartbeatInterval", SECONDS, 1),
    nodeTimeoutSec: read("NodeTimeout", SECONDS, 5),
    logAcks: read("LogAcks", BOOLEAN, true),
    logAckTimeoutSec: read("LogAckTimeout", SECONDS, 10),
    logSpoolBytes: read("LogSpoolSize", SIZE, 1024 ** 3),
    logTransport: read("LogTransport", LOG_TRANSPORT, "zeromq"),
    fileHashes: read("FileHashes", FILE_HASHES, Object.freeze([])),
    httpCapturePassword: read("HTTPCapturePassword", BOOLEAN, false),
    nats: Object.freeze({
      url: read("NatsURL", NATS_URL, "nats://127.0.0.1:4222"),
      credentialsFile: read("NatsCredentials", path, ""),
      stream: read("NatsStream", NATS_NAME, "WEIR_LOGS"),
      subjectPrefix: read("NatsSubjectPrefix", NATS_SUBJECT_PREFIX, "weir.logs"),
      format: read("NatsFormat", NATS_FORMAT, "zeek-bin"),
      storage: read("NatsStorage", NATS_STORAGE, "file"),
      replicas: read("NatsReplicas", integer(1, 5, "a number of replicas from 1 to 5"), 1),
      duplicateWindowSec: read("NatsDuplicateWindow", INTERVAL, 120),
      maxAgeSec: read("NatsMaxAge", EXPIRY, 0),
      maxPending: read("NatsMaxPending", POSITIVE, 256),
      consumer: read("NatsConsumer", NATS_NAME, "weir-loggers"),
    }),
  };

  const withLines = Object.defineProperty(settings, "lines", {
    value: Object.freeze(Object.fromEntries(entries.map((e) => [e.key, e.line]))),
    enumerable: false,
  }) as WeirSettings;
  checkTogether(withLines, reader);
  const normalised = known.map(normaliseKey);
  for (const entry of reader.unknown(normalised)) {
    problems.add(
      places.file,
      entry.line,
      `unknown key "${entry.name}"${didYouMean(entry.key, known)}`,
    );
  }
  return Object.freeze(withLines);
}

/** Checks between keys; each is reported on the line of the key to change. */
function checkTogether(settings: WeirSettings, reader: EntryReader): void {
  const expire = reader.entry("logexpireinterval");
  if (
    expire !== undefined && settings.logExpireIntervalSec > 0 &&
    settings.logExpireIntervalSec < settings.logRotationIntervalSec
  ) {
    reader.report(
      expire,
      `must not be shorter than LogRotationInterval (${settings.logRotationIntervalSec} seconds), or logs expire before they are archived`,
    );
  }
  const cert = reader.entry("websockettlscert");
  const key = reader.entry("websockettlskey");
  if ((cert === undefined) !== (key === undefined)) {
    reader.report(
      cert ?? key!,
      "needs its partner: WebSocketTlsCert and WebSocketTlsKey are set together",
    );
  }
  if (settings.nodeTimeoutSec <= settings.heartbeatIntervalSec) {
    const timeout = reader.entry("nodetimeout");
    const interval = reader.entry("heartbeatinterval");
    if (timeout !== undefined) {
      reader.report(
        timeout,
        `must be longer than HeartbeatInterval (${settings.heartbeatIntervalSec} s), or every node times out between two pings`,
      );
    } else if (interval !== undefined) {
      reader.report(
        interval,
        `must be shorter than NodeTimeout (${settings.nodeTimeoutSec} s), or every node times out between two pings`,
      );
    }
  }
  for (const key of ["logflushinterval", "restartbackoffmax", "heartbeatinterval", "nodetimeout"]) {
    const entry = reader.entry(key);
    if (entry !== undefined && SECONDS.parse(entry.value) === 0) {
      reader.report(entry, "must be more than 0");
    }
  }
}

/** Settings with every default: LogDir, SpoolDir and SiteDir under `stateDir`. */
export function createDefaultSettings(stateDir: string): WeirSettings {
  return parseWeirCfg(undefined, { file: "", configDir: stateDir, stateDir }, new Problems());
}
