/**
 * Bus benchmark: events/s and latency from one node process to another
 * through the central forwarder, against raw libzmq sending the same 4
 * frames through the same forwarder, measured in the same run: a bare FFI
 * loop (no codec, no reactor: it spins on non-blocking receives, so it is
 * the ceiling) and python3-zmq.
 *
 *   deno run -A bench/bus.ts              # prints the table
 *   deno run -A bench/bus.ts ROLE XSUB XPUB MODE N   (internal)
 */

import { lineReader } from "./_lines.ts";
import { yieldToEventLoop, ZMQ_OPTION, ZmqContext, ZmqForwarder } from "../ffi/mod.ts";
import { ByteWriter, decodeEvent, encodeEvent } from "../mod/codec/mod.ts";
import { Bus, EventRegistry } from "../mod/bus/mod.ts";
import { T } from "../zeek/mod.ts";

const TOPIC = "zeek.bench.events.";
const ARG_TYPES = [T.string, T.count];
/** Events sent in the throughput run (`WEIR_BENCH_EVENTS` in `deno task bench`). */
export const DEFAULT_THROUGHPUT_EVENTS = 1_000_000;
const LATENCY_RATE = 10_000;
/**
 * Seconds measured. A node runs for hours, so the figure is the steady
 * state: over a 3 s window the p99 moved between 0.6 and 1.2 ms with when
 * the optimizing compiler happened to finish; over 10 s it is stable.
 */
const LATENCY_SECONDS = 10;
/** Events sent before the measured ones (JIT and connection warm-up), not counted: 2 s. */
const LATENCY_WARMUP = 2 * LATENCY_RATE;

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

async function sender(
  xsubEndpoint: string,
  xpubEndpoint: string,
  mode: string,
  n: number,
): Promise<void> {
  await using zmq = new ZmqContext();
  await using bus = Bus.open(zmq, {
    nodeId: "bench-sender",
    connectXpub: xsubEndpoint,
    connectXsub: xpubEndpoint,
  }, (e) => {
    throw e;
  });
  let subscribed = false;
  bus.onSubscriptionChange((t, s) => (subscribed ||= s && t === TOPIC));
  bus.start();
  while (!subscribed) await new Promise((r) => setTimeout(r, 5));
  const writer = new ByteWriter();
  const args = ["sensor-7", 0];
  let sent = 0;
  if (mode === "throughput") {
    while (sent < n) {
      args[1] = nowMicros();
      writer.reset();
      encodeEvent(writer, "Bench::event", args, ARG_TYPES);
      if (bus.publish(TOPIC, writer.bytes())) sent++;
      else await new Promise((r) => setTimeout(r, 0));
      if ((sent & 4095) === 0) await new Promise((r) => setTimeout(r, 0));
    }
  } else {
    const start = performance.now();
    while (sent < n) {
      const due = Math.floor((performance.now() - start) * LATENCY_RATE / 1000);
      while (sent < due && sent < n) {
        args[1] = nowMicros();
        writer.reset();
        encodeEvent(writer, "Bench::event", args, ARG_TYPES);
        if (bus.publish(TOPIC, writer.bytes())) sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  await new Promise((r) => setTimeout(r, 500));
}

async function receiver(
  xsubEndpoint: string,
  xpubEndpoint: string,
  mode: string,
  n: number,
): Promise<void> {
  await using zmq = new ZmqContext();
  await using bus = Bus.open(zmq, {
    nodeId: "bench-receiver",
    connectXpub: xsubEndpoint,
    connectXsub: xpubEndpoint,
  }, (e) => {
    throw e;
  });
  const events = new EventRegistry((_, e) => {
    throw e;
  });
  events.declare("Bench::event", [["from", T.string], ["sent", T.count]]);
  const latencies = new Float64Array(n);
  let got = 0, first = 0, last = 0;
  events.on("Bench::event", (_from, sentAt) => {
    const now = nowMicros();
    if (got === 0) first = performance.now();
    last = performance.now();
    if (got < n) latencies[got] = now - (sentAt as number);
    got++;
  });
  bus.onMessage((m) => {
    const e = decodeEvent(m.payload, events.argTypes);
    events.dispatch(e.name, e.args);
  });
  bus.start();
  bus.subscribe(TOPIC);
  await bus.ready();
  console.log(JSON.stringify({ ready: true }));
  const deadline = Date.now() + 60_000;
  while (got < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  report(latencies, Math.min(got, n), first, last, mode);
}

/** The same frames as the weir sender, encoded once; the count is patched in place. */
function rawFrames(): {
  frames: Uint8Array[];
  stamp: (micros: number) => void;
  read: (payload: Uint8Array) => number;
} {
  const writer = new ByteWriter();
  const sentinel = 0x0102030405060708n;
  encodeEvent(writer, "Bench::event", ["sensor-7", sentinel], ARG_TYPES);
  const payload = writer.bytes().slice();
  // Find the count's 8 big-endian bytes by the sentinel written there.
  let at = -1;
  for (let i = 0; i + 8 <= payload.length && at < 0; i++) {
    const v = new DataView(payload.buffer, payload.byteOffset + i, 8).getBigUint64(0);
    if (v === sentinel) at = i;
  }
  if (at < 0) throw new Error("bench: cannot find the count in the encoded event");
  const view = new DataView(payload.buffer, payload.byteOffset + at, 8);
  const enc = new TextEncoder();
  return {
    frames: [enc.encode(TOPIC), enc.encode("bench-raw"), enc.encode("broker-bin-v1"), payload],
    stamp: (micros) => view.setBigUint64(0, BigInt(micros)),
    read: (p) => Number(new DataView(p.buffer, p.byteOffset + at, 8).getBigUint64(0)),
  };
}

async function rawSender(xsubEndpoint: string, mode: string, n: number): Promise<void> {
  await using zmq = new ZmqContext();
  using pub = zmq.openSocket("xpub");
  pub.setOption(ZMQ_OPTION.XPUB_NODROP, 1);
  pub.setOption(ZMQ_OPTION.SNDHWM, 1000);
  pub.connect(xsubEndpoint);
  for (;;) {
    const m = pub.receive();
    if (m !== null && new TextDecoder().decode(m.frames[0]!.subarray(1)) === TOPIC) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  const { frames, stamp } = rawFrames();
  let sent = 0;
  if (mode === "throughput") {
    while (sent < n) {
      stamp(nowMicros());
      if (pub.send(frames)) sent++;
      else await yieldToEventLoop();
    }
  } else {
    const start = performance.now();
    while (sent < n) {
      const due = Math.floor((performance.now() - start) * LATENCY_RATE / 1000);
      while (sent < due && sent < n) {
        stamp(nowMicros());
        if (pub.send(frames)) sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  await new Promise((r) => setTimeout(r, 500));
}

async function rawReceiver(xpubEndpoint: string, mode: string, n: number): Promise<void> {
  await using zmq = new ZmqContext();
  using sub = zmq.openSocket("xsub");
  sub.setOption(ZMQ_OPTION.RCVHWM, 1000);
  sub.connect(xpubEndpoint);
  sub.send([new TextEncoder().encode("\x01" + TOPIC)]);
  console.log(JSON.stringify({ ready: true }));
  const { read } = rawFrames();
  const latencies = new Float64Array(n);
  let got = 0, first = 0, last = 0;
  const deadline = Date.now() + 60_000;
  while (got < n && Date.now() < deadline) {
    const m = sub.receive();
    if (m === null) {
      await yieldToEventLoop();
      continue;
    }
    const now = nowMicros();
    if (got === 0) first = performance.now();
    last = performance.now();
    latencies[got++] = now - read(m.frames[3]!);
  }
  report(latencies, got, first, last, mode);
}

function report(
  latencies: Float64Array,
  got: number,
  first: number,
  last: number,
  mode: string,
): void {
  const skip = mode === "latency" ? Math.min(LATENCY_WARMUP, got) : 0;
  const sorted = latencies.subarray(skip, got).sort();
  const pct = (p: number) =>
    sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  console.log(
    JSON.stringify({
      got: got - skip,
      seconds: (last - first) / 1000,
      p50us: pct(0.5),
      p99us: pct(0.99),
    }),
  );
}

const PYTHON_SENDER = `
import sys, time, zmq
xsub, xpub, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
pub = ctx.socket(zmq.XPUB); pub.setsockopt(zmq.XPUB_NODROP, 1); pub.setsockopt(zmq.SNDHWM, 1000)
pub.connect(xsub)
topic = b"${TOPIC}"
while True:
    m = pub.recv()
    if m == b"\\x01" + topic: break
payload = bytes.fromhex("0e0302000000000000000102000000000000000e0205") + b"\\x0cBench::event" + bytes.fromhex("0e0205") + b"\\x08sensor-7" + bytes(9)
frames = [topic, b"bench-raw", b"broker-bin-v1", payload]
sent = 0
while sent < n:
    try:
        pub.send_multipart(frames, flags=zmq.NOBLOCK); sent += 1
    except zmq.Again:
        time.sleep(0.0001)
time.sleep(0.5)
`;

const PYTHON_RECEIVER = `
import sys, time, zmq, json
xsub, xpub, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
sub = ctx.socket(zmq.XSUB); sub.setsockopt(zmq.RCVHWM, 1000)
sub.connect(xpub)
sub.send(b"\\x01${TOPIC}")
print(json.dumps({"ready": True}), flush=True)
got = 0; first = 0
while got < n:
    if sub.poll(10000) == 0: break
    frames = sub.recv_multipart()
    if got == 0: first = time.perf_counter()
    got += 1
print(json.dumps({"got": got, "seconds": time.perf_counter() - first}), flush=True)
`;

async function runPair(
  receiverCmd: string[],
  senderCmd: string[],
): Promise<{ got: number; seconds: number; p50us?: number; p99us?: number }> {
  const receiverProc = new Deno.Command(receiverCmd[0]!, {
    args: receiverCmd.slice(1),
    stdout: "piped",
    stderr: "inherit",
  })
    .spawn();
  const nextLine = lineReader(receiverProc.stdout, "the receiver");
  await nextLine();
  const senderProc = new Deno.Command(senderCmd[0]!, {
    args: senderCmd.slice(1),
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn();
  const result = JSON.parse(await nextLine());
  await senderProc.status;
  await receiverProc.status;
  return result;
}

/** Runs the bus benchmark and returns its table rows. */
export async function benchBus(events = DEFAULT_THROUGHPUT_EVENTS): Promise<string[]> {
  await using zmq = new ZmqContext({ ioThreads: 2 });
  await using forwarder = ZmqForwarder.open(zmq, {
    xpub: "tcp://127.0.0.1:*",
    xsub: "tcp://127.0.0.1:*",
  });
  const self = new URL(import.meta.url).pathname;
  const deno = (role: string, mode: string, n: number) => [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    self,
    role,
    forwarder.xsubEndpoint,
    forwarder.xpubEndpoint,
    mode,
    String(n),
  ];
  const pythonCmd = (
    script: string,
    n: number,
  ) => [
    "/usr/bin/python3",
    "-c",
    script,
    forwarder.xsubEndpoint,
    forwarder.xpubEndpoint,
    String(n),
  ];

  const latencyN = LATENCY_RATE * LATENCY_SECONDS;
  const latencySent = latencyN + LATENCY_WARMUP;
  // Latency first, on a quiet forwarder (the throughput floods leave it busy for a while).
  const rawLatency = await runPair(
    deno("raw-receiver", "latency", latencySent),
    deno("raw-sender", "latency", latencySent),
  );
  const latency = await runPair(
    deno("receiver", "latency", latencySent),
    deno("sender", "latency", latencySent),
  );
  const rawFfi = await runPair(
    deno("raw-receiver", "throughput", events),
    deno("raw-sender", "throughput", events),
  );
  const python = await runPair(
    pythonCmd(PYTHON_RECEIVER, events),
    pythonCmd(PYTHON_SENDER, events),
  );
  const weir = await runPair(
    deno("receiver", "throughput", events),
    deno("sender", "throughput", events),
  );
  const rate = (r: { got: number; seconds: number }) => r.got / r.seconds;
  const rawRate = rate(rawFfi);
  const weirRate = rate(weir);
  const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");
  const latencyRow = (label: string, r: typeof latency) =>
    `${label.padEnd(50)} p50 ${r.p50us?.toFixed(0)} µs  p99 ${
      r.p99us?.toFixed(0)
    } µs (${r.got}/${latencyN} events after ${fmt(LATENCY_WARMUP)} warm-up)`;
  return [
    `${"bus: raw libzmq, bare FFI loop (spinning)".padEnd(50)} ${
      fmt(rawRate)
    } events/s (${rawFfi.got} events)`,
    `${"bus: raw libzmq, python3-zmq".padEnd(50)} ${
      fmt(rate(python))
    } events/s (${python.got} events)`,
    `${"bus: weir node → node (codec, reactor)".padEnd(50)} ${
      fmt(weirRate)
    } events/s (${weir.got} events)  ${
      (weirRate / rawRate).toFixed(2)
    } × bare FFI  [target ≥ 300,000/s: ${verdict(weirRate >= 300_000)}; ≥ 0.5 ×: ${
      verdict(weirRate / rawRate >= 0.5)
    }]`,
    latencyRow(`bus: raw FFI latency at ${fmt(LATENCY_RATE)} events/s`, rawLatency),
    `${
      latencyRow(`bus: weir latency at ${fmt(LATENCY_RATE)} events/s`, latency)
    }  [target p99 < 1000 µs: ${verdict((latency.p99us ?? Infinity) < 1000)}]`,
  ];
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

if (import.meta.main) {
  const [role, xsub, xpub, mode, n] = Deno.args;
  if (role === "sender") await sender(xsub!, xpub!, mode!, Number(n));
  else if (role === "raw-sender") await rawSender(xsub!, mode!, Number(n));
  else if (role === "raw-receiver") await rawReceiver(xpub!, mode!, Number(n));
  else if (role === "receiver") await receiver(xsub!, xpub!, mode!, Number(n));
  else for (const row of await benchBus()) console.log(row);
}
