import assert from "node:assert/strict";
import { ZmqContext } from "../../ffi/libzmq.ts";
import { T } from "../../zeek/types.ts";
import { LogReceiver } from "./log_receiver.ts";
import { ByteWriter } from "../../zeek/bytes.ts";
import { encodeLogBatch } from "../log/log_batch_encoder.ts";
import { LogWriterPool } from "./log_writer_pool.ts";

const enc = new TextEncoder();

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("receiver: truncated or garbled log-write messages are counted, reported and dropped; good ones still land", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-recv-" });
  const zmq = new ZmqContext();
  const warnings: string[] = [];
  const reporter = {
    info() {},
    debug() {},
    error: (m: string) => warnings.push(m),
    warning: (m: string) => warnings.push(m),
  };
  const pool = new LogWriterPool({ spoolDir: dir, rotationIntervalSec: 0 });
  const receiver = new LogReceiver({ zmq, endpoint: "tcp://127.0.0.1:*", pool, reporter });
  const push = zmq.openSocket("push");
  try {
    push.connect(receiver.endpoint);
    const good = encodeLogBatch(
      new ByteWriter(),
      {
        streamId: "Test::LOG",
        writerName: "Log::WRITER_ASCII",
        filterName: "default",
        path: "good",
      },
      [{ name: "n", type: T.count, optional: false }],
      [[1], [2]],
    ).slice();
    const frames = (payload: Uint8Array, format = "zeek-bin-serializer") => [
      enc.encode("log-write"),
      enc.encode("sender"),
      enc.encode(format),
      payload,
    ];
    assert.ok(push.send([enc.encode("log-write"), enc.encode("only two")]));
    assert.ok(push.send(frames(good, "zeek-json")));
    assert.ok(push.send(frames(good.subarray(0, good.length - 3))));
    assert.ok(push.send(frames(crypto.getRandomValues(new Uint8Array(200)))));
    assert.ok(push.send(frames(good)));
    await until(() => receiver.counters.records === 2, "the good batch");
    assert.equal(receiver.counters.malformed, 4);
    assert.ok(
      warnings.some((w) => /Dropped a malformed log-write message/.test(w)),
      warnings.join("\n"),
    );
    await pool.flush();
    const text = await Deno.readTextFile(`${dir}/good.log`);
    assert.match(text, /^#fields\tn$/m);
    assert.deepEqual(text.split("\n").filter((l) => /^\d+$/.test(l)), ["1", "2"]);
  } finally {
    push.close();
    await receiver.close();
    await pool.close();
    await zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receiver: a batch of several megabytes arrives whole the first time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-recv-" });
  const zmq = new ZmqContext();
  const pool = new LogWriterPool({ spoolDir: dir, rotationIntervalSec: 0 });
  const receiver = new LogReceiver({ zmq, endpoint: "tcp://127.0.0.1:*", pool });
  const push = zmq.openSocket("push");
  try {
    push.connect(receiver.endpoint);
    // 1000 rows of 3000-byte strings: about 3 MB, more than the shared receive buffer.
    const rows = Array.from({ length: 1000 }, (_, i) => [i, `${i}:`.padEnd(3000, "x")]);
    const payload = encodeLogBatch(
      new ByteWriter(),
      { streamId: "Big::LOG", writerName: "Log::WRITER_ASCII", filterName: "default", path: "big" },
      [{ name: "n", type: T.count, optional: false }, {
        name: "s",
        type: T.string,
        optional: false,
      }],
      rows,
    ).slice();
    assert.ok(payload.length > 2 * 1024 * 1024, `${payload.length} bytes`);
    assert.ok(
      push.send([
        enc.encode("log-write"),
        enc.encode("sender"),
        enc.encode("zeek-bin-serializer"),
        payload,
      ]),
    );
    await until(() => receiver.counters.records + receiver.counters.malformed > 0, "the batch");
    assert.equal(receiver.counters.malformed, 0);
    assert.equal(receiver.counters.records, 1000);
    await pool.flush();
    const lines = (await Deno.readTextFile(`${dir}/big.log`)).split("\n").filter((l) =>
      !l.startsWith("#") && l
    );
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], `999\t${"999:".padEnd(3000, "x")}`);
  } finally {
    push.close();
    await receiver.close();
    await pool.close();
    await zmq.close();
    await Deno.remove(dir, { recursive: true });
  }
});
