/**
 * The whole path a sensor runs: a cluster inside a network namespace, two
 * workers in one AF_PACKET fanout group on a veth, traffic replayed into the
 * other end with tcpreplay, and conn.log read back from the logger's
 * archive: every generated flow once, whole.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { generateTrace } from "../testing/generate.ts";
import { labUnavailable, VethLab } from "../testing/live_lab.ts";
import { killLeftovers, WeirProcess, writeConfig } from "./harness.ts";

const reason = await labUnavailable();
if (reason !== undefined) console.error(`worker_capture_test: skipped (${reason})`);

Deno.test({
  name: "workers in one fanout group capture a replayed trace; conn.log has every flow once, whole",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using lab = await VethLab.create();
    await lab.inCapture("ip", ["link", "set", "lo", "up"]);
    const config = await writeConfig({
      nodeCfg:
        `[manager]\ntype=manager\nhost=localhost\n\n[logger]\ntype=logger\nhost=localhost\n\n` +
        `[worker]\ntype=worker\nhost=localhost\ninterface=${lab.captureDevice}\n` +
        `lb_method=af_packet\nlb_procs=2\naf_packet_fanout_id=${20 + (Deno.pid % 1000)}\n`,
      weirCfg: "StopTimeout = 20\n",
    });
    const manager = new WeirProcess(["--role", "manager", "--config", config.dir], {
      wrapper: ["ip", "netns", "exec", lab.captureNs],
    });
    try {
      await manager.waitForLine((l) => l.startsWith('{"weir":"ready","node":"manager"'), "ready");
      const deadline = Date.now() + 10000;
      while (manager.errors.filter((l) => /capturing on af_packet::/.test(l)).length < 2) {
        if (Date.now() > deadline) {
          assert.fail(`workers did not start capturing:\n${manager.errors.join("\n")}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const trace = `${config.dir}/replay.pcap`;
      const truth = await generateTrace(trace, {
        flows: 2000,
        packetsPerFlow: 8,
        udpShare: 0.4,
        icmpShare: 0,
        seed: 7,
      });
      const sent = await lab.replay(trace, { pps: 20_000 });
      assert.equal(sent.failed, 0);
      await new Promise((r) => setTimeout(r, 1000));
      const status = await manager.stop(60_000);
      assert.equal(status.code, 0);

      const rows: string[][] = [];
      for await (const day of Deno.readDir(`${config.dir}/logs`)) {
        if (!day.isDirectory) continue;
        for await (const f of Deno.readDir(`${config.dir}/logs/${day.name}`)) {
          if (!f.name.startsWith("conn.")) continue;
          const text = new TextDecoder().decode(
            gunzipSync(await Deno.readFile(`${config.dir}/logs/${day.name}/${f.name}`)),
          );
          for (const l of text.split("\n")) if (l && !l.startsWith("#")) rows.push(l.split("\t"));
        }
      }
      const byKey = new Map<string, string[][]>();
      for (const r of rows) {
        const a = `${r[2]}/${r[3]}`, b = `${r[4]}/${r[5]}`;
        const key = `${r[6]} ${[a, b].sort().join(" ")}`;
        byKey.set(key, [...(byKey.get(key) ?? []), r]);
      }
      let whole = 0;
      for (const flow of truth.flows) {
        const a = `${flow.client}/${flow.clientPort}`, b = `${flow.server}/${flow.serverPort}`;
        const found = byKey.get(`${flow.proto} ${[a, b].sort().join(" ")}`) ?? [];
        assert.equal(found.length, 1, `flow ${a} → ${b} appears once (${found.length})`);
        const r = found[0]!;
        if (Number(r[16]) + Number(r[18]) === flow.datagrams) whole++;
      }
      assert.equal(
        whole,
        truth.flows.length,
        "every flow's packets, both directions, on one worker",
      );
    } finally {
      await manager.stop();
      await killLeftovers(config.dir);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});
