import assert from "node:assert/strict";
import { AckPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { nkeys } from "@nats-io/transport-node";
import {
  connectJetStream,
  ensureLogStream,
  logMessageId,
  logPathFromSubject,
  LogStreamError,
  type LogStreamOptions,
  logSubject,
  NatsConnectError,
} from "./jetstream.ts";
import type { Reporter } from "../process/mod.ts";
import { findFreePortRange, NatsServer, natsServerUnavailable } from "../../testing/mod.ts";

const unavailable = natsServerUnavailable();
if (unavailable !== undefined) console.log(`%cSKIPPED JetStream: ${unavailable}`, "color: yellow");
const ignore = unavailable !== undefined;

const STREAM: LogStreamOptions = Object.freeze({
  stream: "WEIR_LOGS",
  subjectPrefix: "weir.logs",
  storage: "memory",
  replicas: 1,
  duplicateWindowSec: 60,
  maxAgeSec: 3600,
});
const CONN = logSubject(STREAM.subjectPrefix, "conn");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A reporter that keeps its lines and can wait for one. */
function recordingReporter(): Reporter & { lines: string[]; next(pattern: RegExp): Promise<void> } {
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  const add = (line: string) => {
    lines.push(line);
    for (const w of waiting.filter((w) => w.pattern.test(line))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  };
  return {
    lines,
    info: (m) => add(`info: ${m}`),
    warning: (m) => add(`warning: ${m}`),
    error: (m) => add(`error: ${m}`),
    debug: () => {},
    next: (pattern) => new Promise((resolve) => waiting.push({ pattern, resolve })),
  };
}

/** Rejects when `promise` takes longer than `ms`, naming `what`; clears its timer either way. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function storedCount(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(STREAM.stream)).state.messages;
}

async function publish(js: JetStreamClient, id: string, body = id, timeout = 5000) {
  return await js.publish(CONN, encoder.encode(body), { msgID: id, timeout });
}

Deno.test("logSubject puts any log path in one token, and logPathFromSubject reads it back", () => {
  assert.equal(logSubject("weir.logs", "conn"), "weir.logs.conn");
  assert.equal(logSubject("weir.logs", "conn-summary"), "weir.logs.conn-summary");
  assert.equal(logSubject("weir.logs", "http/site_a"), "weir.logs.http/site_a");
  assert.equal(logSubject("weir.logs", "dns.v2"), "weir.logs.dns%2Ev2");
  assert.equal(logSubject("weir.logs", "a*b>c%"), "weir.logs.a%2Ab%3Ec%25");
  assert.equal(logSubject("weir.logs", "my log\t"), "weir.logs.my%20log%09");
  assert.equal(logSubject("weir.logs", "*"), "weir.logs.%2A");
  assert.equal(logSubject("weir.logs", ">"), "weir.logs.%3E");
  assert.equal(logSubject("weir.logs", "é"), "weir.logs.%C3%A9");
  assert.equal(logSubject("weir.logs", ""), "weir.logs.%");
  for (const path of ["conn", "dns.v2", "a*b>c%", "my log\t", "", "%", "é", "%25", "x.y.z"]) {
    const subject = logSubject("weir.logs", path);
    assert.equal(subject.split(".").length, 3, subject);
    assert.equal(logPathFromSubject("weir.logs", subject), path);
  }
  assert.equal(logPathFromSubject("weir.logs", "other.conn"), undefined);
  assert.equal(logPathFromSubject("weir.logs", "weir.logs.a.b"), undefined);
  assert.equal(logPathFromSubject("weir.logs", "weir.logs.%2"), undefined);
  assert.equal(logPathFromSubject("weir.logs", "weir.logs.%FF"), undefined);
  for (const prefix of ["", "weir..logs", "weir.*", "weir.>", "weir logs", "weir."]) {
    assert.throws(() => logSubject(prefix, "conn"), LogStreamError, prefix);
  }
});

Deno.test("logMessageId is node, incarnation and sequence, and refuses what would blur them", () => {
  assert.equal(logMessageId("worker-1", "N3fKq9", 42), "worker-1:N3fKq9:42");
  assert.equal(logMessageId("logger.a", "1700000000123", 0), "logger.a:1700000000123:0");
  assert.throws(() => logMessageId("a:b", "x", 1), RangeError);
  assert.throws(() => logMessageId("worker-1", "", 1), RangeError);
  assert.throws(() => logMessageId("worker-1", "x y", 1), RangeError);
  assert.throws(() => logMessageId("worker-1", "x", -1), RangeError);
  assert.throws(() => logMessageId("worker-1", "x", 1.5), RangeError);
});

Deno.test("ensureLogStream reports every invalid option at once, before asking the server", async () => {
  const jsm = {} as JetStreamManager;
  await assert.rejects(
    ensureLogStream(jsm, {
      stream: "weir.logs",
      subjectPrefix: "weir.*",
      storage: "disk" as "file",
      replicas: 0,
      duplicateWindowSec: 120,
      maxAgeSec: 60,
    }),
    (error: Error) => {
      assert.ok(error instanceof LogStreamError);
      assert.match(error.message, /^Invalid log stream "weir.logs": stream name "weir.logs" must/);
      assert.match(error.message, /subject prefix "weir\.\*" must be/);
      assert.match(error.message, /storage "disk" must be "file" or "memory"/);
      assert.match(error.message, /replicas 0 must be a whole number from 1 to 5/);
      assert.match(error.message, /duplicate window 120 s must not exceed max age 60 s/);
      return true;
    },
  );
});

Deno.test("connectJetStream says which server or file failed, in one line", async () => {
  const port = findFreePortRange(1);
  await assert.rejects(
    connectJetStream({ url: `nats://127.0.0.1:${port}`, name: "worker-1" }),
    (error: Error) => {
      assert.ok(error instanceof NatsConnectError);
      assert.equal(
        error.message,
        `Cannot connect to NATS at nats://127.0.0.1:${port}: connection refused`,
      );
      return true;
    },
  );
  const dir = await Deno.makeTempDir({ prefix: "weir-creds-" });
  try {
    const missing = `${dir}/missing.creds`;
    await assert.rejects(
      connectJetStream({ url: `nats://127.0.0.1:${port}`, name: "w", credsFile: missing }),
      (error: Error) => {
        assert.ok(error instanceof NatsConnectError);
        assert.match(error.message, /^Cannot read the NATS credentials file ".*missing\.creds": /);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
    const garbage = `${dir}/garbage.creds`;
    await Deno.writeTextFile(garbage, "not a creds file\n");
    await assert.rejects(
      connectJetStream({ url: `nats://127.0.0.1:${port}`, name: "w", credsFile: garbage }),
      (error: Error) => {
        assert.ok(error instanceof NatsConnectError);
        assert.match(
          error.message,
          /^Cannot use the NATS credentials file ".*garbage\.creds": unable to parse credentials; it must hold/,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a publish with a message id is acked with its stream sequence; a repeat is stored once",
  ignore,
  async fn() {
    await using server = await NatsServer.open();
    await using nats = await connectJetStream({ url: server.url, name: "worker-1" });
    const created = await ensureLogStream(nats.jsm, STREAM);
    assert.equal(created.action, "created");
    assert.deepEqual(created.info.config.subjects, ["weir.logs.>"]);
    assert.equal(created.info.config.storage, "memory");
    assert.equal((await ensureLogStream(nats.jsm, STREAM)).action, "unchanged");

    const first = await publish(nats.js, logMessageId("worker-1", "a", 1));
    assert.deepEqual({ ...first }, { stream: "WEIR_LOGS", seq: 1, duplicate: false });
    const second = await publish(nats.js, logMessageId("worker-1", "a", 2));
    assert.deepEqual({ ...second }, { stream: "WEIR_LOGS", seq: 2, duplicate: false });
    const again = await publish(nats.js, logMessageId("worker-1", "a", 1), "resent");
    assert.deepEqual({ ...again }, { stream: "WEIR_LOGS", seq: 1, duplicate: true });
    assert.equal(await storedCount(nats.jsm), 2);
    const stored = await nats.jsm.streams.getMessage(STREAM.stream, { seq: 1 });
    assert.equal(decoder.decode(stored!.data), "worker-1:a:1");
    assert.equal(stored!.header.get("Nats-Msg-Id"), "worker-1:a:1");

    // A restarted node (another incarnation) starts its sequence again: not a duplicate.
    const reborn = await publish(nats.js, logMessageId("worker-1", "b", 1));
    assert.deepEqual({ ...reborn }, { stream: "WEIR_LOGS", seq: 3, duplicate: false });

    const updated = await ensureLogStream(nats.jsm, { ...STREAM, duplicateWindowSec: 30 });
    assert.equal(updated.action, "updated");
    assert.equal(updated.info.config.duplicate_window, 30 * 1e9);
    assert.equal(updated.info.state.messages, 3);
    await assert.rejects(ensureLogStream(nats.jsm, { ...STREAM, storage: "file" }), (e: Error) => {
      assert.ok(e instanceof LogStreamError);
      assert.match(e.message, /exists with memory storage, not file: JetStream cannot convert it/);
      return true;
    });
  },
});

Deno.test({
  name: "two consumers bound to one durable pull consumer share its messages and ack them",
  ignore,
  async fn() {
    await using server = await NatsServer.open();
    await using nats = await connectJetStream({ url: server.url, name: "worker-1" });
    await using loggerA = await connectJetStream({ url: server.url, name: "logger-1" });
    await using loggerB = await connectJetStream({ url: server.url, name: "logger-2" });
    await ensureLogStream(nats.jsm, STREAM);
    await nats.jsm.consumers.add(STREAM.stream, {
      durable_name: "loggers",
      ack_policy: AckPolicy.Explicit,
    });
    const a = await loggerA.js.consumers.get(STREAM.stream, "loggers");
    const b = await loggerB.js.consumers.get(STREAM.stream, "loggers");

    // Both pulls wait on the server before anything is published: each may
    // take 5, so the 10 messages must be split between them.
    const fetchA = await a.fetch({ max_messages: 5, expires: 5000 });
    const fetchB = await b.fetch({ max_messages: 5, expires: 5000 });
    await Promise.all([loggerA.nc.flush(), loggerB.nc.flush()]);
    const take = async (messages: typeof fetchA) => {
      const got: string[] = [];
      for await (const m of messages) {
        got.push(decoder.decode(m.data));
        assert.ok(await m.ackAck(), `ack of ${m.seq}`);
      }
      return got;
    };
    const taken = Promise.all([take(fetchA), take(fetchB)]);
    const ids = Array.from({ length: 10 }, (_, i) => logMessageId("worker-1", "a", i + 1));
    for (const id of ids) await publish(nats.js, id);
    const [gotA, gotB] = await within(8000, "both fetches", taken);
    assert.equal(gotA.length, 5, `A got ${gotA}`);
    assert.equal(gotB.length, 5, `B got ${gotB}`);
    assert.deepEqual([...gotA, ...gotB].sort(), [...ids].sort());

    const info = await nats.jsm.consumers.info(STREAM.stream, "loggers");
    assert.equal(info.num_pending, 0);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.ack_floor.stream_seq, 10);

    // Explicit ack: a message one instance refuses goes to the other.
    await publish(nats.js, logMessageId("worker-1", "a", 11));
    const refused = await a.next({ expires: 2000 });
    assert.ok(refused !== null);
    refused.nak();
    const redelivered = await b.next({ expires: 2000 });
    assert.ok(redelivered !== null);
    assert.equal(decoder.decode(redelivered.data), "worker-1:a:11");
    assert.equal(redelivered.redelivered, true);
    assert.ok(await redelivered.ackAck());
    assert.equal((await nats.jsm.consumers.info(STREAM.stream, "loggers")).num_ack_pending, 0);
  },
});

Deno.test({
  name:
    "file storage survives a SIGKILL of nats-server; the client reconnects and publishing resumes",
  ignore,
  async fn() {
    await using server = await NatsServer.open();
    const reporter = recordingReporter();
    await using nats = await connectJetStream({ url: server.url, name: "worker-1", reporter });
    const stream = { ...STREAM, storage: "file" } as const;
    await ensureLogStream(nats.jsm, stream);
    for (let seq = 1; seq <= 3; seq++) {
      assert.equal((await publish(nats.js, logMessageId("worker-1", "a", seq))).seq, seq);
    }

    const lost = reporter.next(/^warning: Lost NATS at /);
    const back = reporter.next(/^info: Reconnected to NATS at /);
    await server.kill();
    await within(5000, "the disconnect report", lost);
    // Published while the server is down: nats.js 3 empties its outbound
    // buffer on every reconnect attempt, so this is usually lost and times
    // out. What holds either way: resent with its id until acked, the batch
    // is stored exactly once.
    const id4 = logMessageId("worker-1", "a", 4);
    const during = publish(nats.js, id4, id4, 1000).catch((error: Error) => error);
    await server.start();
    await within(5000, "the reconnect report", back);
    const first = await during;
    const resent = await publish(nats.js, id4);
    assert.equal(resent.seq, 4);
    if (!(first instanceof Error)) {
      assert.equal(first.seq, 4);
      assert.equal(resent.duplicate, true);
    } else {
      assert.equal(first.name, "TimeoutError", String(first));
    }

    assert.equal(await storedCount(nats.jsm), 4);
    for (let seq = 1; seq <= 4; seq++) {
      const m = await nats.jsm.streams.getMessage(STREAM.stream, { seq });
      assert.equal(decoder.decode(m!.data), `worker-1:a:${seq}`);
    }
    // The duplicate window outlives the crash: a resend of a batch stored before it is known.
    assert.equal((await publish(nats.js, logMessageId("worker-1", "a", 3))).duplicate, true);
    assert.equal((await publish(nats.js, logMessageId("worker-1", "a", 5))).seq, 5);
    assert.equal(await storedCount(nats.jsm), 5);
    assert.deepEqual(reporter.lines, [
      `warning: Lost NATS at 127.0.0.1:${server.port}; reconnecting`,
      `info: Reconnected to NATS at 127.0.0.1:${server.port}`,
    ]);
  },
});

Deno.test({
  name: "connectJetStream signs in with a .creds file",
  ignore,
  async fn() {
    // No operator here: the server knows the user by its nkey alone and
    // ignores the JWT, which is enough to prove the file's seed signs the nonce.
    const user = nkeys.createUser();
    const seed = decoder.decode(user.getSeed());
    await using server = await NatsServer.open({
      config: `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`,
    });
    const credsFile = `${server.storeDir}/worker-1.creds`;
    await Deno.writeTextFile(
      credsFile,
      "-----BEGIN NATS USER JWT-----\nunused.by.this.server\n------END NATS USER JWT------\n\n" +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
    );
    await using nats = await connectJetStream({ url: server.url, name: "worker-1", credsFile });
    await ensureLogStream(nats.jsm, STREAM);
    assert.equal((await publish(nats.js, logMessageId("worker-1", "a", 1))).seq, 1);
  },
});
