/**
 * `deno task bench [name…]`: every benchmark (or the named ones), each
 * printing its figures next to a reference measured in the same run.
 * Names: bus, log, nats, capture, live, conn, websocket, reassembly, app, http
 * (the HTTP-heavy trace of issue 15: HTTP analysis against conn only and
 * tcpdump), tls (the TLS-heavy trace of issue 16: SSL analysis against conn
 * only and tcpdump), fleet. Sizes, for shorter or longer runs:
 * WEIR_BENCH_EVENTS (bus), WEIR_BENCH_RECORDS and WEIR_BENCH_ROUNDS (log),
 * WEIR_BENCH_PACKETS (capture), WEIR_BENCH_WS_EVENTS (websocket),
 * WEIR_BENCH_APP_PACKETS (app), WEIR_BENCH_HTTP_PACKETS (http),
 * WEIR_BENCH_TLS_PACKETS (tls), WEIR_BENCH_FLEET_EVENTS (fleet),
 * WEIR_BENCH_NATS_RECORDS (nats). This file is the one place benchmarks
 * read the command line and the environment.
 */

import { benchApp, DEFAULT_APP_PACKETS } from "./app.ts";
import { benchHttp, DEFAULT_HTTP_PACKETS } from "./http.ts";
import { benchTls, DEFAULT_TLS_PACKETS } from "./tls.ts";
import { benchLiveCapture } from "./live.ts";
import { benchConnMemory, benchConnThroughput } from "./conn.ts";
import { benchWebSocket, DEFAULT_EVENTS } from "./websocket.ts";
import { benchBus, DEFAULT_THROUGHPUT_EVENTS } from "./bus.ts";
import { benchCapture, DEFAULT_PACKETS } from "./capture.ts";
import { benchLogging, DEFAULT_RECORDS, DEFAULT_ROUNDS } from "./logging.ts";
import { benchReassembly } from "./reassembly.ts";
import { benchFleet, DEFAULT_FLEET_EVENTS } from "./fleet.ts";
import { benchJetStream, DEFAULT_NATS_RECORDS } from "./jetstream.ts";

/** A positive whole number from the environment, or `fallback`. */
function size(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`weir bench: ${name} must be a whole number ≥ 1: current value is "${text}"`);
    Deno.exit(2);
  }
  return n;
}

const BENCHES: Record<string, () => Promise<string[]>> = {
  bus: () => benchBus(size("WEIR_BENCH_EVENTS", DEFAULT_THROUGHPUT_EVENTS)),
  fleet: () => benchFleet(size("WEIR_BENCH_FLEET_EVENTS", DEFAULT_FLEET_EVENTS)),
  log: () =>
    benchLogging(
      size("WEIR_BENCH_RECORDS", DEFAULT_RECORDS),
      size("WEIR_BENCH_ROUNDS", DEFAULT_ROUNDS),
    ),
  nats: () => benchJetStream(size("WEIR_BENCH_NATS_RECORDS", DEFAULT_NATS_RECORDS)),
  capture: () => benchCapture(size("WEIR_BENCH_PACKETS", DEFAULT_PACKETS)),
  live: () => benchLiveCapture(),
  conn: async () => [...await benchConnThroughput(), ...await benchConnMemory()],
  websocket: () => benchWebSocket(size("WEIR_BENCH_WS_EVENTS", DEFAULT_EVENTS)),
  reassembly: () => benchReassembly(),
  app: () => benchApp(size("WEIR_BENCH_APP_PACKETS", DEFAULT_APP_PACKETS)),
  http: () => benchHttp(size("WEIR_BENCH_HTTP_PACKETS", DEFAULT_HTTP_PACKETS)),
  tls: () => benchTls(size("WEIR_BENCH_TLS_PACKETS", DEFAULT_TLS_PACKETS)),
};

const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHES);
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(
    `weir bench: no benchmark named ${unknown.join(", ")}; choose from ${
      Object.keys(BENCHES).join(", ")
    }`,
  );
  Deno.exit(2);
}
for (const name of wanted) {
  console.error(`bench: running ${name} …`);
  for (const row of await BENCHES[name]!()) console.log(row);
}
