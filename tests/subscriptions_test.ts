/**
 * Issue 17, item 1, with real processes: three WebSocket clients each
 * subscribe to 2,000 prefixes that sort before Zeek's topics, then leave.
 * Their subscriptions must leave with them, and a node that reconnects
 * afterwards must get every subscription replayed: `weir restart worker-1`
 * brings it back into the cluster (node_up, `print` answers), with no
 * "Expired half-finished hello handshake".
 */

import assert from "node:assert/strict";
import { RawClient } from "../testing/websocket.ts";
import { killLeftovers, runWeir as weir, WeirProcess, writeConfig } from "./harness.ts";

Deno.test({
  name: "websocket subscriptions go with their clients; a restarted node gets every subscription",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({
      nodeCfg: "[manager]\ntype=manager\nhost=localhost\n\n" +
        "[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n",
      weirCfg: "StopTimeout = 10\n",
    });
    const c = ["--config", config.dir];
    const manager = new WeirProcess(["--role", "manager", ...c]);
    try {
      await manager.waitForLine((l) => l.startsWith('{"weir":"ready","node":"manager"'), "ready");
      const printWorks = async () => (await weir("print", "Site::local_nets", ...c)).out;
      assert.match(await printWorks(), /^worker-1: /m);
      for (const letter of ["a", "b", "c"]) {
        using client = await RawClient.open(config.zeekPort + 19);
        const prefixes = Array.from({ length: 2000 }, (_, i) => `${letter}${1000 + i}.`);
        await client.sendText(JSON.stringify(prefixes));
        const ack = await client.nextFrame();
        assert.match(new TextDecoder().decode(ack!.payload), /"type":"ack"/);
        await client.sendFrame(0x8, Uint8Array.of(0x03, 0xe8));
        await client.untilClose();
      }
      const restarted = await weir("restart", "worker-1", ...c);
      assert.equal(restarted.code, 0, restarted.out + restarted.err);
      const back = Date.now() + 20_000;
      while (!/^worker-1: /m.test(await printWorks())) {
        assert.ok(Date.now() < back, "worker-1 answers print again");
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(
        !manager.errors.some((l) => /Expired half-finished hello/.test(l)),
        manager.errors.join("\n"),
      );
    } finally {
      await manager.stop();
      await killLeftovers(config.dir);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});
