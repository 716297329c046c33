/**
 * `deno task bench [name…]`: every benchmark (or the named ones), each
 * printing its figures next to a reference measured in the same run.
 * Names: bus, log, capture, live, conn, websocket.
 */

import { benchLiveCapture } from "./live.ts";
import { benchConnMemory, benchConnThroughput } from "./conn.ts";
import { benchWebSocket } from "./websocket.ts";
import { benchBus } from "./bus.ts";
import { benchCapture } from "./capture.ts";
import { benchLogging } from "./logging.ts";

const BENCHES: Record<string, () => Promise<string[]>> = {
  bus: benchBus,
  log: benchLogging,
  capture: benchCapture,
  live: () => benchLiveCapture(),
  conn: async () => [...await benchConnThroughput(), ...await benchConnMemory()],
  websocket: () => benchWebSocket(),
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
