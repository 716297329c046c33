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

Deno.test("a client's close frame: valid codes are echoed; 999, 1005, reserved codes, a 1-byte body get 1002, a bad reason 1007", async () => {
  await withHarness({}, async (h) => {
    const answer = async (body: Uint8Array) => {
      using client = await RawClient.open(h.api.port);
      await client.sendText("[]");
      await client.sendFrame(0x8, body);
      return (await client.untilClose()).code;
    };
    const code = (n: number, reason: number[] = []) => Uint8Array.of(n >> 8, n & 0xff, ...reason);
    assert.equal(await answer(new Uint8Array(0)), 1000);
    assert.equal(await answer(code(1000)), 1000);
    assert.equal(await answer(code(1001)), 1001);
    assert.equal(await answer(code(3000)), 3000);
    assert.equal(await answer(code(4999)), 4999);
    for (const bad of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
      assert.equal(await answer(code(bad)), 1002, `close code ${bad}`);
    }
    assert.equal(await answer(Uint8Array.of(3)), 1002, "a 1-byte close body");
    assert.equal(await answer(code(1000, [0xc3, 0x28])), 1007, "a reason that is not UTF-8");
  });
});

Deno.test("a client may subscribe to at most 10,000 prefixes of at most 1,024 characters, 256 KiB in all; more is refused and closed 1008", async () => {
  await withHarness({}, async (h) => {
    const refused = async (prefixes: string[]) => {
      using client = await RawClient.open(h.api.port);
      await client.sendText(JSON.stringify(prefixes));
      const error = JSON.parse(new TextDecoder().decode((await client.nextFrame())!.payload));
      const closed = await client.untilClose();
      return { error, code: closed.code };
    };
    const many = await refused(Array.from({ length: 10_001 }, (_, i) => `p${i}.`));
    assert.deepEqual(many, {
      error: {
        type: "error",
        code: "subscription_limit",
        context: "10001 subscriptions; a client may have at most 10000",
      },
      code: 1008,
    });
    const long = await refused(["x".repeat(1025)]);
    assert.equal(long.error.context, "a subscription of 1025 characters; at most 1024");
    const bulky = await refused(Array.from({ length: 257 }, (_, i) => `${i}.`.padEnd(1024, "x")));
    assert.equal(
      bulky.error.context,
      "subscriptions of 263168 characters in all; a client may have at most 262144",
    );
    assert.equal(bulky.code, 1008);
    assert.equal(h.api.snapshot().disconnects.subscription_limit, 3);
    assert.equal(h.api.snapshot().subscriptionChars, 0, "refused clients hold nothing");
    // 10,000 are fine.
    using fine = await RawClient.open(h.api.port);
    await fine.sendText(JSON.stringify(Array.from({ length: 10_000 }, (_, i) => `q${i}.`)));
    assert.match(new TextDecoder().decode((await fine.nextFrame())!.payload), /"type":"ack"/);
  });
});

Deno.test("the subscriptions of all clients together are bounded: past 1 MiB of prefixes a client is refused with 1013 until others leave", async () => {
  await withHarness({}, async (h) => {
    const full = (tag: string) =>
      JSON.stringify(Array.from({ length: 256 }, (_, i) => `${tag}${i}.`.padEnd(1024, "x")));
    const clients: RawClient[] = [];
    try {
      for (const tag of ["a", "b", "c", "d"]) {
        const client = await RawClient.open(h.api.port);
        clients.push(client);
        await client.sendText(full(tag));
        assert.match(new TextDecoder().decode((await client.nextFrame())!.payload), /"ack"/);
      }
      assert.equal(h.api.snapshot().subscriptionChars, 1024 * 1024);
      using late = await RawClient.open(h.api.port);
      await late.sendText(JSON.stringify(["e."]));
      const error = JSON.parse(new TextDecoder().decode((await late.nextFrame())!.payload));
      assert.deepEqual(error, {
        type: "error",
        code: "subscription_limit",
        context:
          "the server holds 1048576 characters of subscriptions for its clients, at most 1048576: 2 more do not fit; try again later",
      });
      assert.equal((await late.untilClose()).code, 1013);
      // One leaves: its share is free again.
      clients.shift()![Symbol.dispose]();
      await until(() => h.api.snapshot().subscriptionChars === 768 * 1024, "a's share back");
      using next = await RawClient.open(h.api.port);
      await next.sendText(JSON.stringify(["e."]));
      assert.match(new TextDecoder().decode((await next.nextFrame())!.payload), /"ack"/);
      assert.equal(h.api.snapshot().subscriptionChars, 768 * 1024 + 2);
    } finally {
      for (const client of clients) client[Symbol.dispose]();
    }
  });
});

Deno.test("all clients together hold at most 100,000 prefixes; the next is refused with 1013", async () => {
  await withHarness({}, async (h) => {
    const clients: RawClient[] = [];
    try {
      for (let k = 0; k < 10; k++) {
        const client = await RawClient.open(h.api.port);
        clients.push(client);
        await client.sendText(
          JSON.stringify(Array.from({ length: 10_000 }, (_, i) => `${k}.${i}`)),
        );
        assert.match(new TextDecoder().decode((await client.nextFrame())!.payload), /"ack"/);
      }
      assert.equal(h.api.snapshot().subscriptions, 100_000);
      using late = await RawClient.open(h.api.port);
      await late.sendText(JSON.stringify(["late."]));
      const error = JSON.parse(new TextDecoder().decode((await late.nextFrame())!.payload));
      assert.equal(
        error.context,
        "the server holds 100000 subscriptions for its clients, at most 100000: 1 more do not fit; try again later",
      );
      assert.equal((await late.untilClose()).code, 1013);
    } finally {
      for (const client of clients) client[Symbol.dispose]();
    }
    await until(() => h.api.snapshot().subscriptions === 0, "every share back");
  });
});
