/**
 * NATS JetStream as a log transport, the groundwork: connecting, the one
 * stream that holds every log, the subject a log path is published on, and
 * the message id JetStream deduplicates by.
 *
 * Where this departs from Zeek, and why: Zeek's ZeroMQ backend pushes log
 * batches to the loggers and forgets them (a full queue drops). JetStream
 * stores each batch before it acknowledges it (a `PubAck` with the stream
 * sequence), so a shipper can resend until it has that acknowledgement; the
 * `Nats-Msg-Id` makes the resend harmless inside the stream's duplicate
 * window. And because the stream outlives its readers, loggers consume it at
 * their own pace, or something other than a logger reads it directly.
 *
 * One stream holds every log, with one subject per log path under a prefix
 * (`weir.logs.conn`, `weir.logs.dns`): a consumer that wants one log filters
 * on its subject, and retention and storage are set once.
 *
 * @module
 */

import {
  type Authenticator,
  connect,
  credsAuthenticator,
  headers,
  type MsgHdrs,
  nanos,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import type { NatsSettings } from "../../config/mod.ts";
import type { Reporter } from "../process/mod.ts";

/** Milliseconds between reconnect attempts (nats.js waits 2000): a logger's NATS restart should cost a log second, not two. */
export const DEFAULT_RECONNECT_WAIT_MS = 250;
/** Random milliseconds added to each wait, so a cluster's nodes do not reconnect in lockstep. */
export const DEFAULT_RECONNECT_JITTER_MS = 100;

/** Cannot connect to NATS: unreachable, refused credentials, unreadable credentials file, or no JetStream. */
export class NatsConnectError extends Error {
  override readonly name = "NatsConnectError";
}

/** The log stream's options are invalid, or the server refused to create or update the stream. */
export class LogStreamError extends Error {
  override readonly name = "LogStreamError";
}

export interface ConnectJetStreamOptions {
  /** `nats://host:port` */
  readonly url: string;
  /** A `.creds` file (a user JWT and its nkey seed, as `nsc` writes it). */
  readonly credsFile?: string;
  /** The connection's name, as the server's monitoring shows it: the node's name. */
  readonly name: string;
  /** Where losing and regaining the server is reported. */
  readonly reporter?: Reporter;
}

/** A connection with its JetStream handles; `close()` or `await using` closes it. */
export interface JetStreamConnection extends AsyncDisposable {
  readonly nc: NatsConnection;
  /** Publishing and consuming. */
  readonly js: JetStreamClient;
  /** Streams and consumers. */
  readonly jsm: JetStreamManager;
  /** Closes the connection; safe to call again. */
  close(): Promise<void>;
}

/**
 * Connects to NATS and checks that it has JetStream. Once connected the
 * client reconnects forever, `DEFAULT_RECONNECT_WAIT_MS` apart; only the
 * first connection can fail, with a `NatsConnectError` naming the server and
 * the cause. What is published while disconnected is not kept (nats.js 3
 * empties its outbound buffer on every reconnect attempt): the publish times
 * out without a `PubAck`, and the publisher resends it, under the same
 * message id, once reconnected.
 *
 * Under Deno a server that refuses a connection (bad credentials) can
 * leave an uncaught `read ECONNRESET` behind: Deno's `node:net` delivers the
 * reset to a socket nats.js has already stripped of listeners and destroyed
 * (Node does not). The `NatsConnectError` is thrown first.
 *
 * ```ts
 * await using nats = await connectJetStream({ url: "nats://127.0.0.1:4222", name: "worker-1" });
 * const ack = await nats.js.publish("weir.logs.conn", new Uint8Array([1]), { msgID: "worker-1:a:1" });
 * ```
 */
export async function connectJetStream(
  options: ConnectJetStreamOptions,
): Promise<JetStreamConnection> {
  const { url, name, reporter } = options;
  const authenticator = options.credsFile === undefined
    ? undefined
    : await readCreds(options.credsFile);
  const connectOptions: NodeConnectionOptions = {
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: DEFAULT_RECONNECT_WAIT_MS,
    reconnectJitter: DEFAULT_RECONNECT_JITTER_MS,
    // The url is the one server weir was told about; a cluster's gossip
    // could add addresses this host cannot reach.
    ignoreClusterUpdates: true,
    ...(authenticator === undefined ? {} : { authenticator }),
  };
  let nc: NatsConnection;
  try {
    nc = await connect(connectOptions);
  } catch (error) {
    throw new NatsConnectError(`Cannot connect to NATS at ${url}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (error) {
    await nc.close().catch(() => {});
    throw new NatsConnectError(
      `NATS at ${url} offers no JetStream (${
        messageOf(error)
      }); start nats-server with -js, or give the account JetStream`,
      { cause: error },
    );
  }
  const js = jetstream(nc);
  let closing: Promise<void> | undefined;
  const statusDone = reporter === undefined
    ? Promise.resolve()
    : reportStatus(nc, url, reporter, () => closing !== undefined);
  const close = () =>
    closing ??= (async () => {
      await nc.close().catch(() => {});
      await statusDone;
    })();
  return { nc, js, jsm, close, [Symbol.asyncDispose]: close };
}

async function readCreds(path: string): Promise<Authenticator> {
  let creds: Uint8Array;
  try {
    creds = await Deno.readFile(path);
  } catch (error) {
    throw new NatsConnectError(
      `Cannot read the NATS credentials file "${path}": ${messageOf(error)}`,
      { cause: error },
    );
  }
  const authenticator = credsAuthenticator(creds);
  try {
    // Signing a nonce parses the file: a bad one fails here, naming the file,
    // rather than as a refused connection.
    authenticator("weir");
  } catch (error) {
    throw new NatsConnectError(
      `Cannot use the NATS credentials file "${path}": ${
        messageOf(error)
      }; it must hold a user JWT and its nkey seed, as nsc writes them`,
      { cause: error },
    );
  }
  return authenticator;
}

/** Turns the connection's status stream into report lines; ends when the connection closes. */
async function reportStatus(
  nc: NatsConnection,
  url: string,
  reporter: Reporter,
  closedHere: () => boolean,
): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case "disconnect":
        reporter.warning(`Lost NATS at ${status.server}; reconnecting`);
        break;
      case "reconnect":
        reporter.info(`Reconnected to NATS at ${status.server}`);
        break;
      case "error":
        reporter.warning(`NATS at ${url}: ${messageOf(status.error)}`);
        break;
      case "ldm":
        reporter.warning(`NATS at ${status.server} is shutting down (lame duck mode)`);
        break;
      case "staleConnection":
        reporter.warning(`NATS at ${url} stopped answering pings; reconnecting`);
        break;
      case "slowConsumer":
        reporter.warning(`NATS at ${url}: a subscription fell ${status.pending} messages behind`);
        break;
    }
  }
  const error = await nc.closed();
  if (!closedHere()) {
    reporter.error(
      `The connection to NATS at ${url} closed for good${
        error ? ` (${messageOf(error)})` : ""
      }; nothing more is published or consumed`,
    );
  }
}

export interface LogStreamOptions {
  /** The stream's name (`WEIR_LOGS`): no `.`, `*`, `>`, `/`, `\` or whitespace. */
  readonly stream: string;
  /** Subjects are `<prefix>.<path>`; the stream takes `<prefix>.>`. */
  readonly subjectPrefix: string;
  readonly storage: "file" | "memory";
  /** Copies in a JetStream cluster; 1 on a single server. */
  readonly replicas: number;
  /** How long a `Nats-Msg-Id` is remembered; a resend later than this is stored again. */
  readonly duplicateWindowSec: number;
  /** How long a message is kept; 0 keeps it until deleted. */
  readonly maxAgeSec: number;
}

/** What `ensureLogStream` did. */
export type LogStreamAction = "created" | "updated" | "unchanged";

/**
 * Creates the log stream, or updates an existing one whose subjects,
 * replicas, duplicate window or age limit differ. JetStream cannot convert a
 * stream's storage, so a stream with the other storage is an error that says
 * what to do. Two nodes ensuring the same settings at once both succeed.
 *
 * ```ts
 * const { action } = await ensureLogStream(nats.jsm, {
 *   stream: "WEIR_LOGS", subjectPrefix: "weir.logs", storage: "file",
 *   replicas: 1, duplicateWindowSec: 120, maxAgeSec: 86400,
 * });
 * ```
 */
export async function ensureLogStream(
  jsm: JetStreamManager,
  options: LogStreamOptions,
): Promise<{ action: LogStreamAction; info: StreamInfo }> {
  checkLogStreamOptions(options);
  const { stream } = options;
  const wanted = {
    subjects: [`${options.subjectPrefix}.>`],
    num_replicas: options.replicas,
    duplicate_window: nanos(options.duplicateWindowSec * 1000),
    max_age: nanos(options.maxAgeSec * 1000),
  };
  const storage = options.storage === "file" ? StorageType.File : StorageType.Memory;
  let existing: StreamInfo | undefined;
  try {
    existing = await jsm.streams.info(stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) {
      throw new LogStreamError(`Cannot look up stream "${stream}": ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
  if (existing === undefined) {
    const config: Partial<StreamConfig> & { name: string } = {
      ...wanted,
      name: stream,
      storage,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
    };
    try {
      return { action: "created", info: await jsm.streams.add(config) };
    } catch (error) {
      throw new LogStreamError(
        `Cannot create stream "${stream}" for ${wanted.subjects[0]}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }
  const have = existing.config;
  if (have.storage !== storage) {
    throw new LogStreamError(
      `Stream "${stream}" exists with ${have.storage} storage, not ${options.storage}: JetStream ` +
        `cannot convert it; delete the stream (nats stream rm ${stream}) or keep ${have.storage}`,
    );
  }
  const same = have.subjects?.length === 1 && have.subjects[0] === wanted.subjects[0] &&
    have.num_replicas === wanted.num_replicas &&
    have.duplicate_window === wanted.duplicate_window && have.max_age === wanted.max_age;
  if (same) return { action: "unchanged", info: existing };
  try {
    return { action: "updated", info: await jsm.streams.update(stream, wanted) };
  } catch (error) {
    throw new LogStreamError(`Cannot update stream "${stream}": ${messageOf(error)}`, {
      cause: error,
    });
  }
}

const STREAM_NAME_FORBIDDEN = /[.*>/\\\s]/;

function checkLogStreamOptions(options: LogStreamOptions): void {
  const problems: string[] = [];
  if (options.stream === "" || STREAM_NAME_FORBIDDEN.test(options.stream)) {
    problems.push(
      `stream name "${options.stream}" must be non-empty without ".", "*", ">", "/", "\\" or whitespace`,
    );
  }
  const prefixProblem = subjectPrefixProblem(options.subjectPrefix);
  if (prefixProblem !== undefined) problems.push(prefixProblem);
  if (options.storage !== "file" && options.storage !== "memory") {
    problems.push(`storage "${options.storage}" must be "file" or "memory"`);
  }
  if (!Number.isInteger(options.replicas) || options.replicas < 1 || options.replicas > 5) {
    problems.push(`replicas ${options.replicas} must be a whole number from 1 to 5`);
  }
  if (!(options.duplicateWindowSec > 0)) {
    problems.push(`duplicate window ${options.duplicateWindowSec} s must be more than 0`);
  }
  if (!(options.maxAgeSec >= 0)) {
    problems.push(`max age ${options.maxAgeSec} s must be 0 (no limit) or more`);
  } else if (options.maxAgeSec > 0 && options.duplicateWindowSec > options.maxAgeSec) {
    problems.push(
      `duplicate window ${options.duplicateWindowSec} s must not exceed max age ${options.maxAgeSec} s`,
    );
  }
  if (problems.length > 0) {
    throw new LogStreamError(`Invalid log stream "${options.stream}": ${problems.join("; ")}`);
  }
}

/** Why `prefix` cannot start a subject, or undefined when it can. */
function subjectPrefixProblem(prefix: string): string | undefined {
  const tokens = prefix.split(".");
  const bad = tokens.some((t) => t === "" || t === "*" || t === ">" || !/^[\x21-\x7e]+$/.test(t));
  return bad
    ? `subject prefix "${prefix}" must be dot-separated non-empty tokens of printable ASCII, ` +
      `without the wildcards "*" and ">"`
    : undefined;
}

/** Characters a subject token keeps as they are: printable ASCII but for the separator, the wildcards and the escape. */
const TOKEN_SAFE = /^[\x21-\x24\x26-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]$/;
const EMPTY_TOKEN = "%";

/**
 * The subject a log path is published on: `<prefix>.<path as one token>`,
 * so `logSubject("weir.logs", "conn")` is `weir.logs.conn`.
 *
 * A path is one token whatever it holds: every byte of its UTF-8 that a
 * token cannot hold, or that would read as something else, becomes `%XX`
 * (upper-case hex): `.` (the separator) is `%2E`, `*` is `%2A`, `>` is
 * `%3E`, `%` itself is `%25`, and whitespace, control characters and
 * anything beyond ASCII are escaped too. The empty path is a lone `%`, which
 * no escaped path is. `logPathFromSubject` reverses it.
 */
export function logSubject(prefix: string, path: string): string {
  const problem = subjectPrefixProblem(prefix);
  if (problem !== undefined) throw new LogStreamError(`Cannot name a log subject: ${problem}`);
  if (path === "") return `${prefix}.${EMPTY_TOKEN}`;
  let token = "";
  for (const char of path) {
    if (TOKEN_SAFE.test(char)) {
      token += char;
    } else {
      for (const byte of ENCODER.encode(char)) {
        token += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
      }
    }
  }
  return `${prefix}.${token}`;
}

/** The log path of a subject `logSubject(prefix, path)` made, or undefined for any other subject. */
export function logPathFromSubject(prefix: string, subject: string): string | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const token = subject.slice(prefix.length + 1);
  if (token === EMPTY_TOKEN) return "";
  if (token === "" || !/^(?:%[0-9A-F]{2}|[^%])+$/.test(token)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < token.length;) {
    if (token[i] === "%") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else if (TOKEN_SAFE.test(token[i]!)) {
      bytes.push(token.charCodeAt(i));
      i += 1;
    } else {
      return undefined;
    }
  }
  try {
    return STRICT_DECODER.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

const ENCODER = new TextEncoder();
const STRICT_DECODER = new TextDecoder("utf-8", { fatal: true });

/** What a message id's node and incarnation may hold: no separator, nothing a header value cannot carry. */
const ID_PART = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * The `Nats-Msg-Id` of a node's `seq`-th batch: `<node>:<incarnation>:<seq>`
 * (`worker-1:N3fKq9:42`). JetStream stores a message whose id it has seen
 * within the duplicate window only once, so a batch resent after a lost
 * acknowledgement is not logged twice. `incarnation` must differ each time
 * the node starts (the unique part of its bus node id does): `seq` starts
 * again at its first value then, and without it a restarted node's first
 * batches would be taken for duplicates of its previous life's. Node names
 * hold no `:` (node.cfg allows letters, digits, `.`, `-`, `_`), so the id
 * splits back unambiguously.
 */
export function logMessageId(node: string, incarnation: string, seq: number): string {
  if (!ID_PART.test(node)) {
    throw new RangeError(
      `Cannot form a message id for node "${node}": printable ASCII without ":"`,
    );
  }
  if (!ID_PART.test(incarnation)) {
    throw new RangeError(
      `Cannot form a message id with incarnation "${incarnation}": printable ASCII without ":"`,
    );
  }
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`Cannot form a message id with sequence ${seq}: a whole number >= 0`);
  }
  return `${node}:${incarnation}:${seq}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The headers of a published batch: who sent it, which log, how it is encoded, how many records. */
export function logHeaders(
  batch: { node: string; path: string; format: "zeek-bin" | "json"; records: number },
): MsgHdrs {
  const h = headers();
  h.set("Weir-Node", batch.node);
  h.set("Zeek-Log-Path", batch.path);
  h.set("Zeek-Log-Format", batch.format);
  h.set("Zeek-Log-Records", String(batch.records));
  return h;
}

/**
 * Creates the durable pull consumer the loggers share (explicit acks, every
 * log subject, from the stream's start), or leaves an existing one as it
 * is: its position is the cluster's progress through the logs.
 */
export async function ensureLogConsumer(
  jsm: JetStreamManager,
  options: {
    readonly stream: string;
    readonly consumer: string;
    readonly subjectPrefix: string;
    readonly ackWaitSec: number;
  },
): Promise<"created" | "exists"> {
  try {
    await jsm.consumers.info(options.stream, options.consumer);
    return "exists";
  } catch (error) {
    if (
      !(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)
    ) {
      throw new LogStreamError(
        `Cannot look up consumer "${options.consumer}" of stream "${options.stream}": ${
          messageOf(error)
        }`,
        { cause: error },
      );
    }
  }
  try {
    await jsm.consumers.add(options.stream, {
      durable_name: options.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${options.subjectPrefix}.>`,
      ack_wait: nanos(options.ackWaitSec * 1000),
      max_ack_pending: 20_000,
    });
    return "created";
  } catch (error) {
    throw new LogStreamError(
      `Cannot create consumer "${options.consumer}" of stream "${options.stream}": ${
        messageOf(error)
      }`,
      { cause: error },
    );
  }
}

/**
 * Connects as weir.cfg's Nats* keys say and makes sure the log stream is
 * there with their settings: what a publishing node and a consuming logger
 * both do first.
 */
export async function openLogStream(
  nats: NatsSettings,
  name: string,
  reporter?: Reporter,
): Promise<JetStreamConnection> {
  const conn = await connectJetStream({
    url: nats.url,
    name,
    ...(nats.credentialsFile === "" ? {} : { credsFile: nats.credentialsFile }),
    ...(reporter === undefined ? {} : { reporter }),
  });
  try {
    await ensureLogStream(conn.jsm, logStreamOptions(nats));
  } catch (error) {
    await conn.close();
    throw error;
  }
  return conn;
}

/** The log stream's settings from weir.cfg's Nats* keys. */
export function logStreamOptions(nats: NatsSettings): LogStreamOptions {
  return {
    stream: nats.stream,
    subjectPrefix: nats.subjectPrefix,
    storage: nats.storage,
    replicas: nats.replicas,
    duplicateWindowSec: nats.duplicateWindowSec,
    maxAgeSec: nats.maxAgeSec,
  };
}
