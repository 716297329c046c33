/**
 * What WebSocket clients can make a real manager keep (issue 17): rounds of
 * clients that fill the subscription budget (and one past it), and clients
 * that each send a 7 MB message and a bad frame, then all leave. The
 * manager's and the worker's resident memory, read from /proc, must come
 * back near where it started after every round, not keep what the clients
 * made them hold; the figures are printed.
 */

import assert from "node:assert/strict";
import { runWeir as weir, tearDownCluster, weirStatus, writeConfig } from "./harness.ts";
import { RawClient } from "../testing/websocket.ts";

const NODE_CFG = "[manager]\ntype=manager\nhost=localhost\n\n" +
  "[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n";
const ROUNDS = 2;
const HEAVY = 5;
const LIGHT = 30;
const BIG_MESSAGE_BYTES = 7_000_000;
/** Allowed resident growth over the start once a round is over. */
const SLACK_MIB = 64;

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Waits until `pid`'s resident size is at most `limit` MiB; returns the last figure. */
async function settles(pid: number, limit: number, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  let rss = rssMiB(pid);
  while (rss > limit && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    rss = rssMiB(pid);
  }
  return rss;
}

/** One abusive client; resolves with the first frame's text and the close code. */
async function client(port: number, prefixes: string[], big: boolean) {
  using c = await RawClient.open(port);
  await c.sendText(JSON.stringify(prefixes));
  const first = await c.nextFrame();
  const text = first === undefined ? "" : new TextDecoder().decode(first.payload);
  if (big) {
    await c.sendText(JSON.stringify({
      type: "data-message",
      topic: "abuse.x",
      "@data-type": "vector",
      data: [{ "@data-type": "string", data: "y".repeat(BIG_MESSAGE_BYTES) }],
    }));
  }
  await c.sendFrame(0x3, new Uint8Array(10));
  return { text, code: (await c.untilClose()).code };
}

Deno.test({
  name:
    "websocket memory: clients that fill the subscription budget and send 7 MB messages leave the manager and the worker near their starting size",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({ nodeCfg: NODE_CFG });
    const c = ["--config", config.dir];
    const wsPort = config.zeekPort + 19;
    try {
      const started = await weir("start", ...c);
      assert.equal(started.code, 0, started.out + started.err);
      const { rows } = await weirStatus(...c);
      const manager = rows.get("manager")!.pid, worker = rows.get("worker-1")!.pid;
      await new Promise((r) => setTimeout(r, 2000));
      const base = { manager: rssMiB(manager), worker: rssMiB(worker) };
      for (let round = 1; round <= ROUNDS; round++) {
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(manager))), 100);
        const results = await Promise.all([
          ...Array.from({ length: HEAVY }, (_, k) =>
            client(
              wsPort,
              Array.from({ length: 256 }, (_, i) => `r${round}h${k}.${i}.`.padEnd(1000, "x")),
              false,
            )),
          ...Array.from({ length: LIGHT }, (_, k) => client(wsPort, [`light${k}.`], true)),
        ]);
        clearInterval(sampler);
        const heavy = results.slice(0, HEAVY);
        assert.equal(heavy.filter((r) => r.text.includes('"ack"')).length, HEAVY - 1, "4 fit");
        const refused = heavy.find((r) => r.code === 1013);
        assert.match(refused?.text ?? "", /"code":"subscription_limit"/);
        for (const r of results.slice(HEAVY)) {
          assert.match(r.text, /"ack"/);
          // 1002 for the bad frame, or 1011 when the ping this client never answers came first.
          assert.ok([1002, 1011].includes(r.code), `close code ${r.code}`);
        }
        const m = await settles(manager, base.manager + SLACK_MIB);
        const w = await settles(worker, base.worker + SLACK_MIB);
        console.log(
          `  round ${round}: manager ${base.manager.toFixed(0)} → peak ${peak.toFixed(0)} → ${
            m.toFixed(0)
          } MiB, worker ${base.worker.toFixed(0)} → ${w.toFixed(0)} MiB`,
        );
        assert.ok(m <= base.manager + SLACK_MIB, `the manager kept ${m - base.manager} MiB`);
        assert.ok(w <= base.worker + SLACK_MIB, `the worker kept ${w - base.worker} MiB`);
      }
      const metrics = await (await fetch(`http://127.0.0.1:${config.metricsPort}/metrics`)).text();
      assert.match(metrics, /^weir_websocket_subscription_chars\{[^}]*\} 0$/m);
      assert.match(
        metrics,
        new RegExp(
          `^weir_websocket_disconnects_total\\{[^}]*reason="subscription_limit"[^}]*\\} ${ROUNDS}$`,
          "m",
        ),
      );
    } finally {
      await tearDownCluster(config.dir);
    }
  },
});
