import assert from "node:assert/strict";
import { curveKeyPair, ZMQ_OPTION, ZmqContext } from "./libzmq.ts";
import { ZmqCheckedForwarder } from "./zmq_forwarder.ts";
import { ZapHandler } from "../mod/bus/zap.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test({
  name: "the checked forwarder passes a key's own sender ids only, and counts the rest",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const ctx = new ZmqContext();
  const server = curveKeyPair();
  const keys = new Map([
    ["worker-1", curveKeyPair()],
    ["worker-1_b", curveKeyPair()],
    ["manager", curveKeyPair()],
  ]);
  const byKey = new Map([...keys].map(([name, k]) => [k.publicKey, name]));
  const zap = ZapHandler.open(ctx, (r) => {
    const name = byKey.get(r.publicKey);
    return name === undefined ? { refused: "unknown" } : { userId: name };
  });
  const forwarder = ZmqCheckedForwarder.open(ctx, {
    xpub: "tcp://127.0.0.1:*",
    xsub: "tcp://127.0.0.1:*",
    configure: (socket) => socket.setCurveServer(server.secretKey, "weir"),
    rule: { prefix: "zeromq_", suffix: "_", trusted: ["manager"], names: [...keys.keys()] },
  });
  const sub = ctx.openSocket("xsub");
  sub.setOption(ZMQ_OPTION.LINGER, 0);
  sub.setCurveClient(keys.get("manager")!, server.publicKey);
  sub.connect(forwarder.xpubEndpoint);
  sub.send([encoder.encode("\x01t.")]);
  const publishers = new Map([...keys].map(([name, k]) => {
    const pub = ctx.openSocket("xpub");
    pub.setOption(ZMQ_OPTION.LINGER, 0);
    pub.setCurveClient(k, server.publicKey);
    pub.connect(forwarder.xsubEndpoint);
    return [name, pub];
  }));
  try {
    // Each publisher learns the subscription before it can publish.
    for (const pub of publishers.values()) {
      const deadline = Date.now() + 5000;
      while (pub.receive() === null) {
        assert.ok(Date.now() < deadline, "no subscription came through the forwarder");
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const send = (from: string, sender: string) =>
      publishers.get(from)!.send(
        [encoder.encode("t."), encoder.encode(sender), encoder.encode("f"), encoder.encode(from)],
      );
    send("worker-1", "zeromq_worker-1_host_1_Na"); // its own: passes
    send("worker-1", "zeromq_worker-2_host_1_Nb"); // another node's: refused
    send("worker-1", "zeromq_worker-1_b_host_1_Nc"); // a longer name's: refused
    send("worker-1_b", "zeromq_worker-1_b_host_2_Nd"); // its own: passes
    send("manager", "zeromq_manager_host_3_Ne-websocket-client"); // trusted: passes
    const got: string[] = [];
    const deadline = Date.now() + 3000;
    while (got.length < 3 && Date.now() < deadline) {
      const m = sub.receive();
      if (m === null) await new Promise((r) => setTimeout(r, 10));
      else got.push(decoder.decode(m.frames[1]));
    }
    await new Promise((r) => setTimeout(r, 200));
    for (let m = sub.receive(); m !== null; m = sub.receive()) {
      got.push(decoder.decode(m.frames[1]));
    }
    assert.deepEqual(got.sort(), [
      "zeromq_manager_host_3_Ne-websocket-client",
      "zeromq_worker-1_b_host_2_Nd",
      "zeromq_worker-1_host_1_Na",
    ]);
    assert.equal(forwarder.counters.refused, 2n);
    assert.ok(forwarder.counters.forwarded >= 3n);
  } finally {
    await forwarder.close();
    await zap.close();
    await ctx.close(500);
  }
});
