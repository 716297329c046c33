import assert from "node:assert/strict";
import { encodeEventToBytes } from "../../codec/mod.ts";
import { PyClient, RawClient, until, withHarness } from "../../../testing/websocket.ts";

Deno.test("a client that answers no ping is closed with 1011 Ping timeout; one that answers stays", async () => {
  await withHarness({ pingIntervalMs: 400 }, async (h) => {
    await using polite = await PyClient.start(h.api.url);
    await polite.subscribe([]);
    using silent = await RawClient.open(h.api.port);
    await silent.sendText("[]");
    const closed = await silent.untilClose();
    assert.deepEqual([closed.code, closed.reason], [1011, "Ping timeout"]);
    assert.ok(closed.pings >= 1);
    assert.equal(h.api.snapshot().disconnects.ping_timeout, 1);
    await until(() => h.api.clients().length === 1, "the silent client to be gone");
    assert.deepEqual(await polite.recv(0.3), { event: "timeout" }, "the ponging client stays open");
    assert.equal(h.api.snapshot().disconnects.ping_timeout, 1);
  });
});

Deno.test("a client that stops reading is disconnected as slow; the bus and other clients go on", async () => {
  await withHarness(
    { pingIntervalMs: 0, maxQueuedMessages: 64, maxQueuedBytes: 256 * 1024 },
    async (h) => {
      await using fast = await PyClient.start(h.api.url);
      await fast.subscribe(["calm."]);
      using slow = await RawClient.open(h.api.port);
      await slow.sendText('["flood."]');
      const ack = await slow.nextFrame();
      assert.match(new TextDecoder().decode(ack!.payload), /"type":"ack"/);
      await until(() => h.peerSeen.has("flood.") && h.peerSeen.has("calm."), "both subscriptions");
      const big = "x".repeat(16 * 1024);
      const payload = encodeEventToBytes("ping", [big, 0], h.registry.argTypes("ping")!);
      let sent = 0;
      // The slow client's kernel buffers fill first; then its queue hits the bound.
      while (h.api.snapshot().disconnects.slow_client === 0 && sent < 20_000) {
        if (h.peer.publish("flood.x", payload)) sent++;
        if (sent % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.equal(h.api.snapshot().disconnects.slow_client, 1);
      await until(() => h.api.clients().length === 1, "the slow client to be gone");
      assert.deepEqual(h.api.clients()[0]!.subscriptions, ["calm."]);
      assert.ok(
        h.peer.publish("calm.x", encodeEventToBytes("hello", [1], h.registry.argTypes("hello")!)),
      );
      const got = await fast.recvJson();
      assert.equal(got["topic"], "calm.x", "the other client is still served");
    },
  );
});
