/**
 * The fault test of issue 17, with real processes: a cluster (manager,
 * logger, proxy, worker) started in the background by `weir start` writes
 * a steady log load from the worker's site script; the worker, the
 * logger, the proxy and then the manager are killed with SIGKILL in turn,
 * the manager brought back by `weir cron` as an operator's cron job would.
 * Every node must come back, nothing may be left running after `weir stop`,
 * and the loss figure is printed: records missing from the archived logs
 * below the last one each worker incarnation got logged (a record after
 * that, in a killed worker's memory, cannot be told from one never made).
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  processesMentioning,
  runWeir as weir,
  tearDownCluster,
  until,
  weirStatus,
  writeConfig,
} from "./harness.ts";

/** Each worker incarnation writes records `${node}/${pid}` 0, 1, 2, … until stopped. */
const SITE = `
export default function (zeek) {
  const stream = zeek.log.createStream({ id: "Fault::LOG", path: "fault", columns: [
    { name: "ts", type: zeek.T.time, optional: false },
    { name: "run", type: zeek.T.string, optional: false },
    { name: "seq", type: zeek.T.count, optional: false },
  ] });
  if (zeek.localNodeType() !== "worker") return;
  const run = zeek.node + "/" + Deno.pid;
  let seq = 0;
  const tick = () => {
    for (let i = 0; i < 20; i++, seq++) zeek.log.write(stream, [Date.now() / 1000, run, seq]);
    setTimeout(tick, 10);
  };
  tick();
}
`;

const NODE_CFG =
  "[manager]\ntype=manager\nhost=localhost\n\n[logger]\ntype=logger\nhost=localhost\n\n" +
  "[proxy-1]\ntype=proxy\nhost=localhost\n\n[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n";

/** Name → pid of the nodes `weir status` shows running. */
async function running(c: string[]): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const [name, row] of (await weirStatus(...c)).rows) {
    if (row.status === "running") m.set(name, row.pid);
  }
  return m;
}

/** Every record of every fault log (archived or current), as run → seqs. */
async function records(logDir: string): Promise<Map<string, Set<number>>> {
  const runs = new Map<string, Set<number>>();
  const add = (text: string) => {
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const [, run, seq] = line.split("\t");
      const set = runs.get(run!) ?? new Set<number>();
      set.add(Number(seq));
      runs.set(run!, set);
    }
  };
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      // logs/current is a link to the logger's working directory, as zeekctl's is.
      if (e.isDirectory || (e.isSymlink && (await Deno.stat(path)).isDirectory)) await walk(path);
      else if (e.name.startsWith("fault.") && e.name.endsWith(".log.gz")) {
        add(new TextDecoder().decode(gunzipSync(await Deno.readFile(path))));
      } else if (e.name === "fault.log") add(await Deno.readTextFile(path));
    }
  };
  await walk(logDir);
  return runs;
}

Deno.test({
  name:
    "faults: kill -9 of the worker, the logger, the proxy and the manager (back by weir cron); every node returns, nothing orphaned, loss printed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({
      nodeCfg: NODE_CFG,
      weirCfg: "StopTimeout = 10\nRestartBackoffMax = 2\n",
      site: { "fault.js": SITE },
    });
    const c = ["--config", config.dir];
    const logDir = `${config.dir}/logs`;
    try {
      const started = await weir("start", ...c);
      assert.equal(started.code, 0, started.out + started.err);
      let pids = await running(c);
      assert.equal(pids.size, 4, started.out);
      const count = async () =>
        [...(await records(logDir)).values()].reduce((n, s) => n + s.size, 0);
      await until("records in the logs", async () => await count() > 1000);

      for (const node of ["worker-1", "logger", "proxy-1"]) {
        const victim = pids.get(node)!;
        Deno.kill(victim, "SIGKILL");
        await until(`${node} back after kill -9`, async () => {
          const now = await running(c);
          return now.size === 4 && now.get(node) !== victim;
        });
        pids = await running(c);
      }
      const before = await count();
      await until("the load to go on", async () => await count() > before + 1000);

      // The manager: its nodes go with it; cron brings the cluster back.
      const manager = pids.get("manager")!;
      Deno.kill(manager, "SIGKILL");
      await until("the manager's nodes to end with it", async () => {
        const left = (await processesMentioning(config.dir)).filter((p) =>
          [...pids.values()].includes(p)
        );
        return left.length === 0;
      }, 30_000);
      const cron = await weir("cron", ...c);
      assert.match(cron.err, /the manager should be running but is not; starting it/, cron.err);
      await until("every node back after weir cron", async () => (await running(c)).size === 4);
      const after = await count();
      await until("the load to go on after cron", async () => await count() > after + 1000);

      const stopped = await weir("stop", ...c);
      assert.equal(stopped.code, 0, stopped.out + stopped.err);
      await until(
        "no process left",
        async () => (await processesMentioning(config.dir)).length === 0,
        30_000,
      );

      const runs = await records(logDir);
      let lost = 0;
      let total = 0;
      for (const seqs of runs.values()) {
        const last = Math.max(...seqs);
        total += seqs.size;
        lost += last + 1 - seqs.size;
      }
      console.log(
        `  kill -9 of worker-1, logger, proxy-1, manager: ${runs.size} worker runs, ${total} records logged, ` +
          `${lost} lost below each run's last logged record`,
      );
      assert.ok(runs.size >= 3, `the worker ran at least three times: ${[...runs.keys()]}`);
      assert.equal(lost, 0, "records lost");
    } finally {
      await tearDownCluster(config.dir);
    }
  },
});
