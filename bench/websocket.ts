/**
 * Benchmark P5: events/s through the WebSocket API, both ways, with one
 * Python `websockets` client (Debian's python3-websockets), the server in
 * a process of its own (so its RSS is the server's alone), and a bus peer
 * in the benchmark process, all through a real forwarder.
 *
 * - out: a bus peer publishes `Bench::event(string, count)` to a topic the
 *   client subscribed to; events/s is what the client received, first to
 *   last message. The peer stays at most `WINDOW` events ahead of what the
 *   client reported, so the figure is the client's pace, not a flood the
 *   server would (rightly) disconnect it for.
 * - in: the client publishes the same event as fast as it can; events/s is
 *   what a bus peer received, from the ack to the last event.
 *
 *   deno run -A bench/websocket.ts          # prints the table
 *   deno run -A bench/websocket.ts server XPUB XSUB   (internal)
 *
 * @module
 */

import { ZmqContext, ZmqForwarder } from "../ffi/mod.ts";
import { ByteWriter, encodeEvent } from "../mod/codec/mod.ts";
import { Bus, EventRegistry } from "../mod/bus/mod.ts";
import { T } from "../zeek/mod.ts";
import { CLIENT_SCRIPT, LineReader, PYTHON } from "../testing/mod.ts";
import { openWebSocketApi } from "../mod/api/websocket/mod.ts";

const OUT_TOPIC = "zeek.bench.ws.out.";
const IN_TOPIC = "zeek.bench.ws.in.";
const EVENT = "Bench::event";
const ARG_TYPES = [T.string, T.count];
/** Events per direction (`WEIR_BENCH_WS_EVENTS` in `deno task bench`). */
export const DEFAULT_EVENTS = 200_000;
const PROGRESS_EVERY = 500;
/** Events the publishing peer may be ahead of the client (the server's queue bound is above it). */
const WINDOW = 4000;
const SERVER_QUEUE_MESSAGES = 10_000;
const TARGET_EVENTS_PER_SEC = 50_000;
const RSS_POLL_MS = 100;

interface ServerStats {
  readonly rss: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly slowClients: number;
}

/** The server process: a bus, the API on a free port, stats on request. */
async function serve(xpub: string, xsub: string): Promise<void> {
  await using zmq = new ZmqContext();
  await using bus = Bus.open(zmq, {
    nodeId: "zeromq_manager_bench_1_Nbench-websocket",
    connectXpub: xsub,
    connectXsub: xpub,
    xpubSndHwm: 100_000,
    xsubRcvHwm: 100_000,
  }, (error) => {
    throw error;
  });
  const events = new EventRegistry(() => {});
  events.declare(EVENT, [["sensor", T.string], ["n", T.count]]);
  bus.start();
  await using api = await openWebSocketApi({
    bus,
    events: events.argTypes,
    port: 0,
    maxQueuedMessages: SERVER_QUEUE_MESSAGES,
  });
  const write = (value: unknown) =>
    Deno.stdout.write(new TextEncoder().encode(JSON.stringify(value) + "\n"));
  await write({ url: api.url });
  const stdin = new LineReader(Deno.stdin.readable);
  for (;;) {
    const line = await stdin.next(3_600_000);
    if (line === undefined) break;
    const snapshot = api.snapshot();
    const stats: ServerStats = {
      rss: Deno.memoryUsage().rss,
      messagesIn: snapshot.messagesIn,
      messagesOut: snapshot.messagesOut,
      slowClients: snapshot.disconnects.slow_client,
    };
    await write(stats);
  }
}

/** Talks to the server process. */
class ServerProcess implements AsyncDisposable {
  readonly url: string;
  peakRss = 0;
  #child: Deno.ChildProcess;
  #lines: LineReader;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #polling: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  private constructor(child: Deno.ChildProcess, lines: LineReader, url: string) {
    this.#child = child;
    this.#lines = lines;
    this.url = url;
    this.#stdin = child.stdin.getWriter();
  }

  static async start(xpub: string, xsub: string): Promise<ServerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "server", xpub, xsub],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = new LineReader(child.stdout);
    const line = await lines.next(30_000);
    if (line === undefined) {
      throw new Error("The benchmark's WebSocket server exited before it was ready");
    }
    return new ServerProcess(child, lines, JSON.parse(line).url);
  }

  async stats(): Promise<ServerStats> {
    while (this.#busy) await new Promise((resolve) => setTimeout(resolve, 1));
    this.#busy = true;
    try {
      await this.#stdin.write(new TextEncoder().encode("stats\n"));
      const stats: ServerStats = JSON.parse((await this.#lines.next())!);
      this.peakRss = Math.max(this.peakRss, stats.rss);
      return stats;
    } finally {
      this.#busy = false;
    }
  }

  /** Samples RSS until `stopPolling`, for the peak. */
  startPolling(): void {
    this.#polling = setInterval(() => this.stats().catch(() => {}), RSS_POLL_MS);
  }

  stopPolling(): void {
    clearInterval(this.#polling);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stopPolling();
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#lines.cancel();
  }
}

function startPython(mode: "recv" | "send", url: string, args: string[]): {
  child: Deno.ChildProcess;
  lines: LineReader;
} {
  const child = new Deno.Command(PYTHON, {
    args: [CLIENT_SCRIPT, mode, "--url", url, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return { child, lines: new LineReader(child.stdout) };
}

// deno-lint-ignore no-explicit-any
async function nextEvent(lines: LineReader, timeoutMs = 60_000): Promise<any> {
  const line = await lines.next(timeoutMs);
  if (line === undefined) throw new Error("The Python client ended early");
  const event = JSON.parse(line);
  if (event.event === "failed" || event.event === "rejected") {
    throw new Error(`The Python client failed: ${line}`);
  }
  return event;
}

function openBus(ctx: ZmqContext, forwarder: ZmqForwarder, nodeId: string): Bus {
  return Bus.open(ctx, {
    nodeId,
    connectXpub: forwarder.xsubEndpoint,
    connectXsub: forwarder.xpubEndpoint,
    xpubSndHwm: 100_000,
    xsubRcvHwm: 100_000,
  }, (error) => {
    throw error;
  });
}

const yieldNow = () => new Promise((resolve) => setTimeout(resolve, 0));

async function benchOut(
  ctx: ZmqContext,
  forwarder: ZmqForwarder,
  server: ServerProcess,
  n: number,
): Promise<{ rate: number; publisherRate: number }> {
  await using peer = openBus(ctx, forwarder, "zeromq_worker-1_bench_2_Npeer");
  let subscribed = false;
  peer.onSubscriptionChange((topic, on) => subscribed ||= on && topic === OUT_TOPIC);
  peer.start();
  const python = startPython("recv", server.url, [
    "--prefix",
    OUT_TOPIC,
    "--count",
    String(n),
    "--progress",
    String(PROGRESS_EVERY),
  ]);
  try {
    await nextEvent(python.lines);
    while (!subscribed) await yieldNow();
    let received = 0;
    let done: { seconds: number } | undefined;
    const reading = (async () => {
      for (;;) {
        const event = await nextEvent(python.lines);
        if (event.event === "progress") received = event.n;
        if (event.event === "done") {
          received = n;
          done = event;
          return;
        }
      }
    })();
    const writer = new ByteWriter();
    const args = ["sensor-7", 0];
    const start = performance.now();
    let sent = 0;
    while (sent < n) {
      if (sent - received >= WINDOW) {
        await yieldNow();
        continue;
      }
      args[1] = sent;
      writer.reset();
      encodeEvent(writer, EVENT, args, ARG_TYPES);
      if (peer.publish(OUT_TOPIC + "x", writer.bytes())) sent++;
      else await yieldNow();
      if ((sent & 1023) === 0) await yieldNow();
    }
    await reading;
    const publisherSeconds = (performance.now() - start) / 1000;
    return { rate: n / done!.seconds, publisherRate: n / publisherSeconds };
  } finally {
    await python.child.status;
    await python.lines.cancel();
  }
}

async function benchIn(
  ctx: ZmqContext,
  forwarder: ZmqForwarder,
  server: ServerProcess,
  n: number,
): Promise<{ rate: number; clientRate: number }> {
  await using sink = openBus(ctx, forwarder, "zeromq_worker-2_bench_3_Nsink");
  let received = 0;
  let last = 0;
  sink.onMessage(() => {
    received++;
    last = performance.now();
  });
  sink.start();
  sink.subscribe(IN_TOPIC);
  await sink.ready();
  const message = JSON.stringify({
    type: "data-message",
    topic: IN_TOPIC + "x",
    "@data-type": "vector",
    data: [
      { "@data-type": "count", data: 1 },
      { "@data-type": "count", data: 1 },
      {
        "@data-type": "vector",
        data: [
          { "@data-type": "string", data: EVENT },
          {
            "@data-type": "vector",
            data: [{ "@data-type": "string", data: "sensor-7" }, {
              "@data-type": "count",
              data: 123456,
            }],
          },
        ],
      },
    ],
  });
  const python = startPython("send", server.url, ["--count", String(n), "--message", message]);
  try {
    // The sink's subscription reached the forwarder before the client even connected.
    await nextEvent(python.lines);
    const start = performance.now();
    const done = await nextEvent(python.lines, 600_000);
    const deadline = Date.now() + 60_000;
    while (received < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (received < n) throw new Error(`The bus peer received ${received} of ${n} client events`);
    return { rate: n / ((last - start) / 1000), clientRate: n / done.seconds };
  } finally {
    python.child.kill();
    await python.child.status;
    await python.lines.cancel();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function rate(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Runs benchmark P5 and returns its table rows; `events` per direction. */
export async function benchWebSocket(
  events = DEFAULT_EVENTS,
): Promise<string[]> {
  await using ctx = new ZmqContext();
  await using forwarder = ZmqForwarder.open(ctx, {
    xpub: "tcp://127.0.0.1:*",
    xsub: "tcp://127.0.0.1:*",
  });
  await using server = await ServerProcess.start(forwarder.xpubEndpoint, forwarder.xsubEndpoint);
  const idle = await server.stats();
  server.startPolling();
  const out = await benchOut(ctx, forwarder, server, events);
  const inbound = await benchIn(ctx, forwarder, server, events);
  server.stopPolling();
  const after = await server.stats();
  const verdict = (value: number) => value >= TARGET_EVENTS_PER_SEC ? "ok" : "BELOW TARGET";
  return [
    `P5 WebSocket API (${rate(events)} Bench::event(string, count) per direction, ` +
    `one Python websockets ${PYTHON} client, target ≥ ${rate(TARGET_EVENTS_PER_SEC)}/s each way)`,
    `  bus peer → client: ${rate(out.rate)} events/s received by the client ` +
    `(peer published at ${rate(out.publisherRate)}/s, ≤ ${rate(WINDOW)} ahead) ${
      verdict(out.rate)
    }`,
    `  client → bus peer: ${rate(inbound.rate)} events/s received by the peer ` +
    `(client sent at ${rate(inbound.clientRate)}/s) ${verdict(inbound.rate)}`,
    `  server RSS: ${mb(idle.rss)} idle, peak ${mb(server.peakRss)}, ${mb(after.rss)} after; ` +
    `slow-client disconnects ${after.slowClients}; messages in ${rate(after.messagesIn)}, ` +
    `out ${rate(after.messagesOut)}`,
  ];
}

if (import.meta.main) {
  if (Deno.args[0] === "server") await serve(Deno.args[1]!, Deno.args[2]!);
  else for (const row of await benchWebSocket()) console.log(row);
}
