/**
 * Bad bus input against a real manager (issue 17, item 2): a peer on the
 * forwarder sends hundreds of undecodable one-megabyte events and messages
 * in an unknown format, with newlines and terminal escapes in their topic,
 * sender and format frames. The manager's stderr gets a few escaped,
 * truncated lines (the rest only counted), and `/metrics` counts every one.
 */

import assert from "node:assert/strict";
import { ZmqContext } from "../ffi/libzmq.ts";
import { Bus } from "../mod/bus/bus.ts";
import { WeirProcess, writeConfig } from "./harness.ts";

const NODE_CFG = "[manager]\ntype=manager\nhost=localhost\n";
const MALFORMED = 340;
const ODD_FORMAT = 60;

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, "m").exec(text);
  return m === null ? -1 : Number(m[1]);
}

Deno.test({
  name:
    "bus input: malformed events are reported escaped, cut and rate-limited, and all counted in /metrics",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const config = await writeConfig({ nodeCfg: NODE_CFG });
    const manager = new WeirProcess(["--role", "manager", "--config", config.dir]);
    const zmq = new ZmqContext();
    let peer: Bus | undefined;
    try {
      await manager.waitForLine((l) => l.startsWith('{"weir":"ready","node":"manager"'), "ready");
      peer = Bus.open(zmq, {
        nodeId: "evil\n\x1b[31mpeer\x1b[0m\r\u202e",
        connectXpub: `tcp://127.0.0.1:${config.zeekPort + 1}`,
        connectXsub: `tcp://127.0.0.1:${config.zeekPort}`,
      }, () => {});
      // The manager subscribes to its node topic; wait until the forwarder passes it on.
      peer.start();
      await peer.ready(10_000);
      await new Promise((r) => setTimeout(r, 500));
      const junk = new Uint8Array(1 << 20).fill(0x41);
      const topic = "zeek.cluster.node.manager.\n\x1b[2Jfake line\n";
      for (let i = 0; i < MALFORMED; i++) {
        while (!peer.publish(topic, junk)) await new Promise((r) => setTimeout(r, 5));
      }
      for (let i = 0; i < ODD_FORMAT; i++) {
        peer.publish(topic, Uint8Array.of(1), new TextEncoder().encode("json\n\x1b]0;owned\x07"));
      }
      // Every message that arrived is counted, whatever was reported (PUB/SUB
      // may drop one at the start, before the subscription is complete).
      const deadline = Date.now() + 30_000;
      let malformed = 0, odd = 0, received = 0;
      for (;;) {
        malformed = await metric(config.metricsPort, "weir_cluster_malformed_events_total");
        odd = await metric(config.metricsPort, "weir_cluster_unsupported_format_messages_total");
        received = await metric(config.metricsPort, "zeek_cluster_core_incoming_events_total");
        if (odd === ODD_FORMAT || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(odd, ODD_FORMAT);
      assert.ok(malformed >= MALFORMED - 5, `${malformed} of ${MALFORMED} malformed arrived`);
      assert.equal(malformed + odd, received, "every message received is counted as bad");
      const dropped = manager.errors.filter((l) => l.includes("Dropped a"));
      console.log(
        `  ${MALFORMED + ODD_FORMAT} bad messages → ${dropped.length} stderr lines, ${
          manager.errors.join("\n").length
        } bytes; e.g. ${dropped[0]}`,
      );
      assert.ok(dropped.length <= 2 * 10, `${dropped.length} lines`);
      assert.ok(dropped.length >= 2, "both kinds are reported");
      const all = manager.errors.join("\n");
      assert.ok(
        !["\x1b", "\x07", "\r", "\u202e"].some((c) => all.includes(c)),
        "no control character reaches stderr",
      );
      assert.ok(
        manager.errors.every((l) => l.startsWith("weir[manager] ")),
        "the sender's newlines did not start lines of their own",
      );
      assert.ok(all.length < 20_000, `${all.length} bytes of stderr`);
      assert.match(dropped[0]!, /from "evil\\x0a\\x1b\[31mpeer\\x1b\[0m\\x0d\\u202e"/);
    } finally {
      await peer?.close();
      zmq.close();
      await manager.stop();
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});
