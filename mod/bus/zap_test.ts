import assert from "node:assert/strict";
import { curveKeyPair, ZMQ_OPTION, ZmqContext } from "../../ffi/mod.ts";
import { HandshakeMonitor, ZapHandler } from "./zap.ts";

Deno.test({
  name: "a CURVE server lets in the keys its ZAP handler knows, and names their sender",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const ctx = new ZmqContext();
  const server = curveKeyPair();
  const known = curveKeyPair();
  const stranger = curveKeyPair();
  const seen: string[] = [];
  const zap = ZapHandler.open(ctx, (request) => {
    seen.push(request.publicKey);
    return request.publicKey === known.publicKey
      ? { userId: "worker-1" }
      : { refused: "unknown key" };
  });
  const monitor = new HandshakeMonitor();
  const pull = ctx.openSocket("pull");
  pull.readUserId = true;
  pull.setCurveServer(server.secretKey, "weir-test");
  monitor.watch(ctx, pull, "pull");
  monitor.start();
  pull.bind("tcp://127.0.0.1:*");
  const endpoint = pull.lastEndpoint;
  const senders = [
    { keys: known, text: "from a known key" },
    { keys: stranger, text: "from a stranger" },
    { keys: undefined, text: "without keys" },
  ].map(({ keys, text }) => {
    const push = ctx.openSocket("push");
    // Messages to a refused peer never leave: without LINGER 0 the context could not end.
    push.setOption(ZMQ_OPTION.LINGER, 0);
    if (keys !== undefined) push.setCurveClient(keys, server.publicKey);
    push.connect(endpoint);
    return { push, text };
  });
  try {
    const received: { text: string; userId: string | undefined }[] = [];
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      for (const { push, text } of senders) push.send([new TextEncoder().encode(text)]);
      for (;;) {
        const m = pull.receive();
        if (m === null) break;
        received.push({ text: new TextDecoder().decode(m.frames[0]), userId: m.userId });
      }
      if (received.length > 0 && (monitor.failures.get("pull#protocol") ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(received.length > 0);
    assert.ok(received.every((r) => r.text === "from a known key" && r.userId === "worker-1"));
    assert.ok(seen.includes(known.publicKey), "ZAP saw the client's key in Z85");
    assert.ok(seen.includes(stranger.publicKey));
    assert.equal(zap.counters.accepted.get("weir-test"), 1);
    assert.ok((zap.counters.refused.get("weir-test") ?? 0) >= 1);
    assert.ok((monitor.failures.get("pull#protocol") ?? 0) >= 1, "a client without keys");
  } finally {
    await monitor.close();
    await zap.close();
    await ctx.close(500);
  }
});

Deno.test("without a ZAP handler a CURVE server refuses everyone", async () => {
  const ctx = new ZmqContext();
  const server = curveKeyPair();
  const pull = ctx.openSocket("pull");
  pull.setCurveServer(server.secretKey, "weir-test");
  pull.bind("tcp://127.0.0.1:*");
  const push = ctx.openSocket("push");
  push.setOption(ZMQ_OPTION.LINGER, 0);
  push.setCurveClient(curveKeyPair(), server.publicKey);
  push.connect(pull.lastEndpoint);
  try {
    const deadline = Date.now() + 1000;
    let received = 0;
    while (Date.now() < deadline) {
      push.send([new Uint8Array([1])]);
      if (pull.receive() !== null) received++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(received, 0);
  } finally {
    await ctx.close(200);
  }
});
