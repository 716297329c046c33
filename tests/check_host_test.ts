/**
 * What `weir check` approves must start (issue 17, item 4), with real
 * processes: check refuses a LogDir that is a file, a SpoolDir that cannot
 * be created, an interface this host lacks and a WebSocket API exposed
 * without protection; and a worker whose interface is missing is shown
 * `crashed` by `weir status` (restarted with backoff), not `running`.
 */

import assert from "node:assert/strict";
import { runWeir as weir, writeConfig } from "./harness.ts";

const NODE_CFG = "[manager]\ntype=manager\nhost=localhost\n\n" +
  "[worker-1]\ntype=worker\nhost=localhost\ninterface=nosuch0\n";

Deno.test({
  name: "weir check tries what start does: directories, interfaces, the WebSocket rule",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({
      nodeCfg: NODE_CFG,
      weirCfg: "LogDir = /etc/passwd\nSpoolDir = /proc/nope\nWebSocketHost = 0.0.0.0\n",
    });
    try {
      const r = await weir("check", "--config", config.dir);
      assert.equal(r.code, 1, r.out + r.err);
      const lines = r.err.trim().split("\n");
      // Started anyway, the manager stops at once with the same lines, no stack trace.
      const manager = await weir("--role", "manager", "--config", config.dir);
      assert.equal(manager.code, 1);
      assert.deepEqual(manager.err.trim().split("\n"), [
        "weir: weir.cfg: LogDir = /etc/passwd: exists and is not a directory",
        "weir.cfg: SpoolDir = /proc/nope: cannot be created in /proc: No such file or directory",
      ]);
      assert.deepEqual(lines.map((l) => l.replace(/\(it has [^)]*\)/, "(it has …)")), [
        "weir: LogDir = /etc/passwd: exists and is not a directory",
        "weir: SpoolDir = /proc/nope: cannot be created in /proc: No such file or directory",
        "weir: worker-1: interface nosuch0 does not exist on this host (it has …); fix interface= in node.cfg",
        "weir: WebSocketHost = 0.0.0.0 serves the WebSocket API beyond this host without WebSocketTokenFile or TLS: the manager refuses to start so; set one, or WebSocketHost = 127.0.0.1",
      ]);
    } finally {
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a worker that cannot capture exits with one line, and status shows it crashed, not running",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({ nodeCfg: NODE_CFG, weirCfg: "StopTimeout = 10\n" });
    const c = ["--config", config.dir];
    try {
      const started = await weir("start", ...c);
      assert.equal(started.code, 1, started.out + started.err);
      assert.match(
        started.err,
        /weir: worker-1 crashed while starting and is restarted with backoff/,
      );
      assert.match(started.out, /^manager\s+manager\s+localhost\s+running/m);
      const deadline = Date.now() + 20_000;
      let status = await weir("status", ...c);
      while (!/^worker-1\s+worker\s+localhost\s+crashed/m.test(status.out)) {
        assert.ok(Date.now() < deadline, `worker-1 never shown crashed:\n${status.out}`);
        await new Promise((r) => setTimeout(r, 500));
        status = await weir("status", ...c);
      }
      // Its reason, one line, in the manager's stderr (zeekctl's `diag`).
      const stderr = await Deno.readTextFile(`${config.dir}/spool/manager.stderr`);
      assert.match(stderr, /cannot capture: .*nosuch0/);
      assert.ok(!/^\s+at /m.test(stderr), "no stack trace");
    } finally {
      await weir("stop", ...c);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});
