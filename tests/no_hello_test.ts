/**
 * A node whose process runs but that is not up on the bus (issue 17): its
 * hello never completed, or it went silent. Real processes: `weir start`
 * runs a cluster, a worker is frozen with SIGSTOP so that the forwarder's
 * heartbeats drop it while its process lives. `status` must show it as
 * `no-hello`, `netstats` and `print` must name it instead of leaving it
 * out, `weir cron` must restart it, and the manager must restart one by
 * itself once it stayed off the bus for NO_HELLO_RESTART_MS.
 */

import assert from "node:assert/strict";
import {
  processesMentioning,
  runWeir as weir,
  tearDownCluster,
  until,
  weirStatus,
  writeConfig,
} from "./harness.ts";
import { NO_HELLO_RESTART_MS } from "../mod/manager/fleet.ts";

const NODE_CFG = "[manager]\ntype=manager\nhost=localhost\n\n" +
  "[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n\n" +
  "[worker-2]\ntype=worker\nhost=localhost\ninterface=lo\n";

Deno.test({
  name:
    "no hello: a running node that is not up on the bus shows as no-hello, is named by netstats and print, and is restarted by weir cron and by the manager",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({
      nodeCfg: NODE_CFG,
      weirCfg: "HeartbeatInterval = 1\nNodeTimeout = 3\nStopTimeout = 2\nRestartBackoffMax = 2\n",
    });
    const c = ["--config", config.dir];
    const frozen: number[] = [];
    try {
      const started = await weir("start", ...c);
      assert.equal(started.code, 0, started.out + started.err);
      const first = (await weirStatus(...c)).rows;
      assert.equal(first.get("worker-1")?.status, "running");
      assert.equal(first.get("worker-2")?.status, "running");

      // worker-1 frozen: the forwarder drops it, its process lives on.
      const old1 = first.get("worker-1")!.pid;
      Deno.kill(old1, "SIGSTOP");
      frozen.push(old1);
      await until(
        "worker-1 to show no-hello",
        async () => (await weirStatus(...c)).rows.get("worker-1")?.status === "no-hello",
        30_000,
      );
      const shown = await weirStatus(...c);
      assert.equal(shown.rows.get("worker-1")?.pid, old1);
      assert.equal(shown.rows.get("worker-2")?.status, "running");
      assert.match(shown.err, /worker-1 runs but is not up on the bus/);

      const netstats = await weir("netstats", ...c);
      assert.equal(netstats.code, 1, netstats.out + netstats.err);
      assert.match(netstats.out, /^worker-2: /m);
      assert.match(netstats.err, /1 of 2 workers did not answer: worker-1 \(not up on the bus\)/);
      const print = await weir("print", "Cluster::node", ...c);
      assert.equal(print.code, 1, print.out + print.err);
      assert.match(print.out, /^worker-2: "worker-2"$/m);
      assert.match(print.err, /1 of 3 nodes did not answer: worker-1 \(not up on the bus\)/);

      // weir cron restarts it at once.
      const cron = await weir("cron", ...c);
      assert.equal(cron.code, 0, cron.out + cron.err);
      assert.match(cron.out + cron.err, /restarted nodes without a hello: worker-1/);
      await until("worker-1 back after weir cron", async () => {
        const row = (await weirStatus(...c)).rows.get("worker-1");
        return row?.status === "running" && row.pid !== old1;
      });

      // worker-2 frozen: the manager restarts it by itself.
      const old2 = (await weirStatus(...c)).rows.get("worker-2")!.pid;
      Deno.kill(old2, "SIGSTOP");
      frozen.push(old2);
      const frozenAt = Date.now();
      await until("worker-2 to show no-hello", async () => {
        return (await weirStatus(...c)).rows.get("worker-2")?.status === "no-hello";
      }, 30_000);
      await until("worker-2 restarted by the manager", async () => {
        const row = (await weirStatus(...c)).rows.get("worker-2");
        return row?.status === "running" && row.pid !== old2;
      }, NO_HELLO_RESTART_MS + 30_000);
      assert.ok(
        Date.now() - frozenAt >= NO_HELLO_RESTART_MS,
        "restarted no sooner than NO_HELLO_RESTART_MS",
      );
      const after = (await weirStatus(...c)).rows;
      assert.equal(after.get("worker-2")?.restarts, 1);
      assert.equal(after.get("worker-1")?.restarts, 1);
      for (const pid of frozen) {
        assert.ok(!(await processesMentioning(config.dir)).includes(pid), `${pid} is gone`);
      }

      const stopped = await weir("stop", ...c);
      assert.equal(stopped.code, 0, stopped.out + stopped.err);
    } finally {
      await tearDownCluster(config.dir);
    }
  },
});
