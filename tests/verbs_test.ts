/**
 * The operator verbs against a real cluster started in the background:
 * status, start, netstats, deploy, cron (also for a manager that died),
 * check on a broken config, the token file's mode, and stop.
 */

import assert from "node:assert/strict";
import { isAlive, killLeftovers, runWeir as weir, writeConfig } from "./harness.ts";

/** Name → pid of every node the status table shows running. */
function pids(table: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] === "running") m.set(f[0]!, Number(f[4]));
  }
  return m;
}

const NODE_CFG = (procs: number) =>
  `[manager]\ntype=manager\nhost=localhost\n\n[logger]\ntype=logger\nhost=localhost\n\n` +
  `[proxy-1]\ntype=proxy\nhost=localhost\n\n` +
  `[worker]\ntype=worker\nhost=localhost\ninterface=lo\nlb_method=af_packet\nlb_procs=${procs}\n`;

Deno.test({
  name: "verbs: status, start, netstats, deploy, cron, stop against a background cluster",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({ nodeCfg: NODE_CFG(2), weirCfg: "StopTimeout = 10\n" });
    const c = ["--config", config.dir];
    try {
      const before = await weir("status", ...c);
      assert.equal(before.code, 3, "status says no manager runs");
      assert.match(before.err, /no manager is running/);
      assert.match(before.out, /^worker-2\s+worker\s+localhost\s+stopped/m);

      const started = await weir("start", ...c);
      assert.equal(started.code, 0, started.err);
      const first = pids(started.out);
      assert.deepEqual([...first.keys()].sort(), [
        "logger",
        "manager",
        "proxy-1",
        "worker-1",
        "worker-2",
      ]);
      const token = `${config.dir}/spool/control.token`;
      assert.equal((await Deno.stat(token)).mode! & 0o777, 0o600, "the token file is 0600");

      const status = await weir("status", ...c);
      assert.equal(status.code, 0);
      assert.match(status.out, /^Name\s+Type\s+Host\s+Status\s+Pid\s+Started$/m);

      const netstats = await weir("netstats", ...c);
      assert.equal(netstats.code, 0, netstats.err);
      assert.match(netstats.out, /^worker-1: \d+\.\d+ recvd=\d+ dropped=\d+ link=\d+$/m);
      assert.match(netstats.out, /^worker-2: /m);

      const print = await weir("print", "Site::local_nets", ...c);
      assert.equal(print.code, 0, print.err);
      const printed = print.out.trim().split("\n").sort();
      assert.equal(printed.length, 5, print.out);
      assert.match(
        printed.find((l) => l.startsWith("worker-2:"))!,
        /^worker-2: \[.*"10\.0\.0\.0\/8".*\]$/,
      );
      assert.match((await weir("print", "No::such_id", ...c)).out, /^manager: <unknown id>$/m);

      // lb_procs 2 → 3: exactly one new worker, every other process untouched.
      await Deno.writeTextFile(`${config.dir}/node.cfg`, NODE_CFG(3));
      const deploy = await weir("deploy", ...c);
      assert.equal(deploy.code, 0, deploy.err);
      assert.match(deploy.out, /added worker-3; removed none; restarted none/);
      const after = pids(deploy.out);
      for (const [name, pid] of first) assert.equal(after.get(name), pid, `${name} kept running`);
      assert.ok(after.has("worker-3"));

      // The cron reconfiguration script: a changed node.cfg is checked and deployed, once.
      await Deno.writeTextFile(`${config.dir}/node.cfg`, NODE_CFG(4));
      const script = new URL("../scripts/cron/reconfigure.sh", import.meta.url).pathname;
      const launcher = new URL("../weir", import.meta.url).pathname;
      const reconfigure = () =>
        new Deno.Command("sh", {
          args: [script, config.dir],
          env: { WEIR: launcher },
          stdout: "piped",
          stderr: "piped",
        }).output();
      const r1 = await reconfigure();
      assert.equal(r1.code, 0, new TextDecoder().decode(r1.stderr));
      assert.match(
        new TextDecoder().decode(r1.stdout),
        /added worker-4; removed none; restarted none/,
      );
      const r2 = await reconfigure();
      assert.equal(r2.code, 0);
      assert.equal(new TextDecoder().decode(r2.stdout), "", "nothing changed, nothing deployed");

      // A broken node.cfg: check lists every problem and fails; nothing is applied.
      await Deno.writeTextFile(
        `${config.dir}/node.cfg`,
        NODE_CFG(4) + "\n[worker-9]\ntype=wroker\nhost=localhost\n\n[x]\nhost=localhost\n",
      );
      const check = await weir("check", ...c);
      assert.notEqual(check.code, 0);
      assert.match(check.err, /node\.cfg:\d+: type must be one of .*current value is "wroker"/);
      assert.match(check.err, /\[x\]/);
      const refused = await weir("deploy", ...c);
      assert.notEqual(refused.code, 0);
      await Deno.writeTextFile(`${config.dir}/node.cfg`, NODE_CFG(4));

      // kill -9 of a worker: cron (or the supervisor, whichever is first) restarts it.
      const victim = after.get("worker-1")!;
      Deno.kill(victim, "SIGKILL");
      const cronAfterKill = await weir("cron", ...c);
      assert.equal(cronAfterKill.code, 0, cronAfterKill.err);
      const restartDeadline = Date.now() + 20000;
      let revived = pids((await weir("status", ...c)).out).get("worker-1");
      while ((revived === undefined || revived === victim) && Date.now() < restartDeadline) {
        await new Promise((r) => setTimeout(r, 200));
        revived = pids((await weir("status", ...c)).out).get("worker-1");
      }
      assert.ok(revived !== undefined && revived !== victim, "worker-1 runs again with a new pid");
      after.set("worker-1", revived);

      // kill -9 of the manager: its nodes go with it; cron brings the cluster back.
      Deno.kill(after.get("manager")!, "SIGKILL");
      const deadline = Date.now() + 10000;
      while ([...after.values()].some(isAlive) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal([...after.values()].filter(isAlive).length, 0, "no node outlived the manager");
      const cron = await weir("cron", ...c);
      assert.equal(cron.code, 0, cron.err);
      assert.match(cron.err, /should be running but is not; starting it/);
      assert.equal(pids(cron.out).size, 7);
      const again = await weir("cron", ...c);
      assert.equal(again.code, 0, "cron is safe to run again");
      assert.match(
        await Deno.readTextFile(`${config.dir}/logs/stats.log`),
        / worker-3 running \d+ \d+/,
      );

      // A token file others can read is refused.
      await Deno.chmod(token, 0o644);
      const loose = await weir("status", ...c);
      assert.notEqual(loose.code, 0);
      assert.match(loose.err, /chmod 600/);
      await Deno.chmod(token, 0o600);

      const stop = await weir("stop", ...c);
      assert.equal(stop.code, 0, stop.err);
      assert.equal((await weir("status", ...c)).code, 3);
      const later = await weir("cron", ...c);
      assert.equal(later.code, 0);
      assert.equal((await weir("status", ...c)).code, 3, "cron leaves a stopped cluster stopped");
    } finally {
      await weir("stop", ...c).catch(() => {});
      await killLeftovers(config.dir);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});
