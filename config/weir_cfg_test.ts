import assert from "node:assert/strict";
import { ConfigError, Problems } from "./errors.ts";
import { createDefaultSettings, parseWeirCfg, type WeirSettings } from "./weir_cfg.ts";

const PLACES = { file: "weir.cfg", configDir: "/etc/weir", stateDir: "/var/lib/weir" };

function parse(text: string | undefined): { settings: WeirSettings; problems: string[] } {
  const problems = new Problems();
  const settings = parseWeirCfg(text, PLACES, problems);
  try {
    problems.throwIfAny();
    return { settings, problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { settings, problems: error.message.split("\n") };
    throw error;
  }
}

Deno.test("without weir.cfg every setting has zeekctl's (or weir's) default", () => {
  const { settings, problems } = parse(undefined);
  assert.deepEqual(problems, []);
  assert.deepEqual(settings, {
    zeekPort: 27760,
    metricsPort: 9991,
    metricsAddress: "127.0.0.1",
    useWebSocket: true,
    webSocketHost: "127.0.0.1",
    webSocketPort: 27759,
    webSocketTimeoutSec: 10,
    webSocketTokenFile: "",
    webSocketTlsCert: "",
    webSocketTlsKey: "",
    webSocketMaxConnections: 100,
    webSocketQueueSize: 1000,
    logDir: "/var/lib/weir/logs",
    spoolDir: "/var/lib/weir/spool",
    siteDir: "/var/lib/weir/site",
    logRotationIntervalSec: 3600,
    logExpireIntervalSec: 0,
    keepLogs: [],
    compressLogs: true,
    useJson: false,
    jsonTimestamps: "epoch",
    logFlushRecords: 1000,
    logFlushIntervalSec: 1,
    minDiskSpacePercent: 5,
    stopTimeoutSec: 60,
    commTimeoutSec: 10,
    controlTopic: "zeek/control",
    controlTokenFile: "/var/lib/weir/spool/control.token",
    statsLogEnable: true,
    crashExpireIntervalSec: 0,
    pcapSnaplen: 9216,
    pcapBufsizeMiB: 128,
    envVars: {},
    sitePolicyScripts: [],
    restartBackoffMaxSec: 30,
    privateAddressSpaceIsLocal: true,
    busEncryption: "auto",
    heartbeatIntervalSec: 1,
    nodeTimeoutSec: 5,
    logAcks: true,
    logAckTimeoutSec: 10,
    logSpoolBytes: 1024 ** 3,
    logTransport: "zeromq",
    nats: {
      url: "nats://127.0.0.1:4222",
      credentialsFile: "",
      stream: "WEIR_LOGS",
      subjectPrefix: "weir.logs",
      format: "zeek-bin",
      storage: "file",
      replicas: 1,
      duplicateWindowSec: 120,
      maxAgeSec: 0,
      maxPending: 256,
      consumer: "weir-loggers",
    },
    fileHashes: [],
    httpCapturePassword: false,
  });
  assert.ok(Object.isFrozen(settings));
  assert.deepEqual(createDefaultSettings("/var/lib/weir"), settings);
  assert.deepEqual(parse("# only comments\n\n").settings, settings);
});

Deno.test("keys are case-insensitive and values typed, with zeekctl's units", () => {
  const { settings, problems } = parse(
    [
      "zeekport = 28000",
      "METRICSPORT = 0",
      "MetricsAddress = ::",
      "UseWebSocket = no",
      "WebSocketHost = 0.0.0.0",
      "WebSocketPort = 8443",
      "WebSocketTimeout = 1min",
      "WebSocketTokenFile = secrets/ws.token",
      "WebSocketTlsCert = /etc/ssl/weir.pem",
      "WebSocketTlsKey = tls/weir.key",
      "WebSocketMaxConnections = 5",
      "WebSocketQueueSize = 64",
      "LogDir = /srv/zeek/logs",
      "SpoolDir = spool",
      "SiteDir = /srv/site",
      "LogRotationInterval = 1hr",
      "LogExpireInterval = 30",
      "KeepLogs = conn.* dns*",
      "CompressLogs = 0",
      "UseJson = true",
      "JsonTimestamps = JSON::TS_ISO8601",
      "LogFlushRecords = 500",
      "LogFlushInterval = 250msec",
      "MinDiskSpace = 0",
      "StopTimeout = 5",
      "CommTimeout = 20",
      "ControlTopic = site/control",
      "StatsLogEnable = F",
      "CrashExpireInterval = 7",
      "PcapSnaplen = 65535",
      "PcapBufsize = 256",
      "Env_Vars = LANG=C, TZ=UTC",
      "SitePolicyScripts = local.ts extra/more.js",
      "RestartBackoffMax = 2min",
      "PrivateAddressSpaceIsLocal = 0",
      "ClusterBackend = ZeroMQ",
      "BusEncryption = curve",
      "HeartbeatInterval = 500msec",
      "NodeTimeout = 3",
      "LogAcks = no",
      "LogAckTimeout = 30",
      "LogSpoolSize = 512M",
      "LogTransport = nats",
      "FileHashes = SHA256, md5",
      "HTTPCapturePassword = yes",
      "NatsURL = nats://10.0.0.5:4222,nats://10.0.0.6:4222",
      "NatsCredentials = secrets/weir.creds",
      "NatsStream = ZEEK",
      "NatsSubjectPrefix = site.zeek",
      "NatsFormat = json",
      "NatsStorage = memory",
      "NatsReplicas = 3",
      "NatsDuplicateWindow = 10min",
      "NatsMaxAge = 7",
      "NatsMaxPending = 32",
      "NatsConsumer = files",
    ].join("\n"),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(settings, {
    zeekPort: 28000,
    metricsPort: 0,
    metricsAddress: "::",
    useWebSocket: false,
    webSocketHost: "0.0.0.0",
    webSocketPort: 8443,
    webSocketTimeoutSec: 60,
    webSocketTokenFile: "/etc/weir/secrets/ws.token",
    webSocketTlsCert: "/etc/ssl/weir.pem",
    webSocketTlsKey: "/etc/weir/tls/weir.key",
    webSocketMaxConnections: 5,
    webSocketQueueSize: 64,
    logDir: "/srv/zeek/logs",
    spoolDir: "/etc/weir/spool",
    siteDir: "/srv/site",
    logRotationIntervalSec: 3600,
    logExpireIntervalSec: 30 * 86400,
    keepLogs: ["conn.*", "dns*"],
    compressLogs: false,
    useJson: true,
    jsonTimestamps: "iso8601",
    logFlushRecords: 500,
    logFlushIntervalSec: 0.25,
    minDiskSpacePercent: 0,
    stopTimeoutSec: 5,
    commTimeoutSec: 20,
    controlTopic: "site/control",
    controlTokenFile: "/etc/weir/spool/control.token",
    statsLogEnable: false,
    crashExpireIntervalSec: 7 * 86400,
    pcapSnaplen: 65535,
    pcapBufsizeMiB: 256,
    envVars: { LANG: "C", TZ: "UTC" },
    sitePolicyScripts: ["local.ts", "extra/more.js"],
    restartBackoffMaxSec: 120,
    privateAddressSpaceIsLocal: false,
    busEncryption: "curve",
    heartbeatIntervalSec: 0.5,
    nodeTimeoutSec: 3,
    logAcks: false,
    logAckTimeoutSec: 30,
    logSpoolBytes: 512 * 1024 ** 2,
    logTransport: "nats",
    nats: {
      url: "nats://10.0.0.5:4222,nats://10.0.0.6:4222",
      credentialsFile: "/etc/weir/secrets/weir.creds",
      stream: "ZEEK",
      subjectPrefix: "site.zeek",
      format: "json",
      storage: "memory",
      replicas: 3,
      duplicateWindowSec: 600,
      maxAgeSec: 7 * 86400,
      maxPending: 32,
      consumer: "files",
    },
    fileHashes: ["md5", "sha256"],
    httpCapturePassword: true,
  });
});

Deno.test("LogExpireInterval takes zeekctl's forms: bare days, min, hr, day", () => {
  const expiry = (value: string) =>
    parse(`LogRotationInterval = 60\nLogExpireInterval = ${value}`).settings.logExpireIntervalSec;
  assert.equal(expiry("0"), 0);
  assert.equal(expiry("2"), 2 * 86400);
  assert.equal(expiry("12hr"), 12 * 3600);
  assert.equal(expiry("12 hrs"), 12 * 3600);
  assert.equal(expiry("30day"), 30 * 86400);
  assert.equal(expiry("90min"), 90 * 60);
});

Deno.test("zeekctl's own keys are accepted without effect; ControlTokenFile can be set", () => {
  const { settings, problems } = parse(
    "MailTo = ops@example.com\nSendMail = /usr/sbin/sendmail\nCfgDir = /opt/zeek/etc\nStatsLogExpireInterval = 0\nControlTokenFile = /run/weir.token\n",
  );
  assert.deepEqual(problems, []);
  assert.equal(settings.controlTokenFile, "/run/weir.token");
  assert.equal(settings.zeekPort, 27760);
});

Deno.test("every bad line is reported with its line, key as written and value", () => {
  const { problems } = parse(
    [
      "StopTimeout = soon", // 1
      "Colour = blue", // 2
      "ZeekPort = 65535", // 3
      "UseJson = maybe", // 4
      "MetricsPrt = 1", // 5
      "MetricsPort = -1", // 6
      "MetricsAddress = localhost", // 7
      "LogDir = ${SpoolDir}/logs", // 8
      "JsonTimestamps = seconds", // 9
      "SitePolicyScripts = local.zeek", // 10
      "MinDiskSpace = 101", // 11
      "stoptimeout = 3", // 12
      'SpoolDir = "/var/spool/weir"', // 13
      "ClusterBackend = Broker", // 14
      "Env_Vars = LANG", // 15
      "WebSocketTlsCert = cert.pem", // 16
      "LogFlushInterval = 0", // 17
      "just text", // 18
      "FileHashes = crc32", // 19
    ].join("\n"),
  );
  assert.deepEqual(problems, [
    'weir.cfg:1: StopTimeout must be a number of seconds, or a number and a unit (msec, sec, min): current value is "soon"',
    'weir.cfg:2: unknown key "Colour"',
    'weir.cfg:3: ZeekPort must be a TCP port from 2 to 65534 (the forwarder takes it and the next one; the WebSocket API defaults to the one before): current value is "65535"',
    'weir.cfg:4: UseJson must be 1 or 0 (also true/false, yes/no, T/F): current value is "maybe"',
    'weir.cfg:5: unknown key "MetricsPrt" (did you mean "MetricsPort"?)',
    'weir.cfg:6: MetricsPort must be a TCP port from 1 to 65535, or 0 to serve no metrics: current value is "-1"',
    'weir.cfg:7: MetricsAddress must be an IP address to listen on (e.g. 127.0.0.1, 0.0.0.0 or ::1): current value is "localhost"',
    'weir.cfg:8: LogDir must be a path written out in full (weir does not expand ${…}): current value is "${SpoolDir}/logs"',
    'weir.cfg:9: JsonTimestamps must be one of epoch|millis|millis_unsigned|iso8601: current value is "seconds"',
    'weir.cfg:10: SitePolicyScripts must be a list of .ts or .js modules in SiteDir (weir does not run Zeek scripts): current value is "local.zeek"',
    'weir.cfg:11: MinDiskSpace must be a percentage from 0 to 100 (0 turns the warning off): current value is "101"',
    "weir.cfg:12: stoptimeout is set twice (first at line 1): keep one",
    'weir.cfg:13: SpoolDir must not be wrapped in quotes (values are taken as written): current value is "/var/spool/weir"',
    'weir.cfg:14: ClusterBackend must be one of ZeroMQ: current value is "Broker"',
    'weir.cfg:15: Env_Vars must be comma-separated NAME=value pairs (e.g. A=1,B=2): current value is "LANG"',
    'weir.cfg:16: WebSocketTlsCert needs its partner: WebSocketTlsCert and WebSocketTlsKey are set together: current value is "cert.pem"',
    'weir.cfg:17: LogFlushInterval must be more than 0: current value is "0"',
    'weir.cfg:18: expected "Key = value" or a # comment: current value is "just text"',
    'weir.cfg:19: FileHashes must be a list of md5, sha1, sha256 (or none): current value is "crc32"',
  ]);
});

Deno.test("logs may not expire before they are rotated, as zeekctl checks", () => {
  assert.deepEqual(parse("LogExpireInterval = 30min").problems, [
    'weir.cfg:1: LogExpireInterval must not be shorter than LogRotationInterval (3600 seconds), or logs expire before they are archived: current value is "30min"',
  ]);
  assert.deepEqual(parse("LogExpireInterval = 30min\nLogRotationInterval = 0").problems, []);
});

Deno.test("the WebSocket port follows ZeekPort, and NodeTimeout must outlast a heartbeat", () => {
  assert.equal(parse("ZeekPort = 28000\n").settings.webSocketPort, 27999);
  assert.equal(parse("ZeekPort = 28000\nWebSocketPort = 8000\n").settings.webSocketPort, 8000);
  assert.deepEqual(parse("HeartbeatInterval = 5\nNodeTimeout = 5\n").problems, [
    'weir.cfg:2: NodeTimeout must be longer than HeartbeatInterval (5 s), or every node times out between two pings: current value is "5"',
  ]);
});
