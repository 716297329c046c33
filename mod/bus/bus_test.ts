import assert from "node:assert/strict";
import { ZmqContext, ZmqForwarder } from "../../ffi/mod.ts";
import { Bus, type BusMessage } from "./bus.ts";

async function withBuses(
  names: string[],
  body: (buses: Bus[], forwarder: ZmqForwarder) => Promise<void>,
): Promise<void> {
  const ctx = new ZmqContext();
  const forwarder = ZmqForwarder.open(ctx, {
    xpub: "tcp://127.0.0.1:*",
    xsub: "tcp://127.0.0.1:*",
  });
  const buses: Bus[] = [];
  try {
    for (const name of names) {
      buses.push(
        Bus.open(ctx, {
          nodeId: name,
          connectXpub: forwarder.xsubEndpoint,
          connectXsub: forwarder.xpubEndpoint,
        }, (e) => {
          throw e;
        }),
      );
    }
    await body(buses, forwarder);
  } finally {
    for (const bus of buses) await bus.close();
    await forwarder.close();
    await ctx.close();
  }
}

function collect(bus: Bus): BusMessage[] {
  const got: BusMessage[] = [];
  bus.onMessage((m) => got.push({ ...m, payload: m.payload.slice() }));
  return got;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("Bus delivers 4-frame messages by byte-prefix subscription, never to the sender", async () => {
  await withBuses(["a", "b", "c"], async ([a, b, c]) => {
    const gotA = collect(a!), gotB = collect(b!), gotC = collect(c!);
    const seen = new Set<string>();
    a!.onSubscriptionChange((t, s) => s && seen.add(t));
    for (const bus of [a!, b!, c!]) bus.start();
    a!.subscribe("zeek.test.");
    b!.subscribe("zeek.test.");
    c!.subscribe("zeek.other.");
    await Promise.all([a!.ready(), b!.ready(), c!.ready()]);
    // a's XPUB has learned the subscription, so publishing is safe.
    await until(() => seen.has("zeek.test."), "the subscription to reach a");
    assert.ok(a!.publish("zeek.test.x", new Uint8Array([1, 2, 3])));
    assert.ok(a!.publish("zeek.testing", new Uint8Array([9])));
    await until(() => gotB.length === 1, "b to receive");
    assert.deepEqual(gotB[0], {
      topic: "zeek.test.x",
      sender: "a",
      format: "broker-bin-v1",
      payload: new Uint8Array([1, 2, 3]),
    });
    assert.equal(gotA.length, 0, "the sender never receives its own publication");
    assert.equal(gotC.length, 0, "a non-matching prefix receives nothing");
    assert.equal(a!.counters.published, 2);
  });
});

Deno.test("Bus.unsubscribe stops delivery and subscriptions are reference counted", async () => {
  await withBuses(["a", "b"], async ([a, b]) => {
    const gotB = collect(b!);
    const seen: string[] = [];
    a!.onSubscriptionChange((t, s) => seen.push(`${s ? "+" : "-"}${t}`));
    a!.start();
    b!.start();
    assert.equal(b!.subscribe("t."), true);
    assert.equal(b!.subscribe("t."), false);
    await b!.ready();
    await a!.ready();
    await until(() => seen.includes("+t."), "the subscription");
    a!.publish("t.1", new Uint8Array([1]));
    await until(() => gotB.length === 1, "the first message");
    b!.unsubscribe("t.");
    a!.publish("t.2", new Uint8Array([2]));
    await until(() => gotB.length === 2, "the second message (one subscription left)");
    b!.unsubscribe("t.");
    await until(() => seen.includes("-t."), "the unsubscription to reach a");
    a!.publish("t.3", new Uint8Array([3]));
    await b!.ready();
    assert.equal(gotB.length, 2);
  });
});

Deno.test("Bus: a node that connects late learns every earlier subscription", async () => {
  // The forwarder replays existing subscriptions to a new XPUB within
  // milliseconds of its connect; the handlers registered after open() must
  // still hear them (this once lost the node_up of late workers).
  await withBuses(["early"], async ([early], forwarder) => {
    early!.start();
    early!.subscribe("zeek.cluster.nodeid.early.");
    await early!.ready();
    const ctx = new ZmqContext();
    const late = Bus.open(ctx, {
      nodeId: "late",
      connectXpub: forwarder.xsubEndpoint,
      connectXsub: forwarder.xpubEndpoint,
    }, (e) => {
      throw e;
    });
    try {
      // Give the replay every chance to arrive before the handler exists.
      await new Promise((r) => setTimeout(r, 100));
      await assert.rejects(() => late.ready(), /call start\(\) first/);
      const seen: string[] = [];
      late.onSubscriptionChange((t, s) => s && seen.push(t));
      late.start();
      await until(() => seen.includes("zeek.cluster.nodeid.early."), "the replayed subscription");
    } finally {
      await late.close();
      await ctx.close();
    }
  });
});

Deno.test("Bus counts a message with the wrong number of frames as an error", async () => {
  const ctx = new ZmqContext();
  const forwarder = ZmqForwarder.open(ctx, {
    xpub: "tcp://127.0.0.1:*",
    xsub: "tcp://127.0.0.1:*",
  });
  const bus = Bus.open(ctx, {
    nodeId: "b",
    connectXpub: forwarder.xsubEndpoint,
    connectXsub: forwarder.xpubEndpoint,
  }, (e) => {
    throw e;
  });
  const raw = ctx.openSocket("xpub");
  try {
    raw.connect(forwarder.xsubEndpoint);
    bus.start();
    bus.subscribe("x.");
    await bus.ready();
    await until(() => raw.receive() !== null, "the raw socket to see the subscription");
    raw.send([new TextEncoder().encode("x.1"), new Uint8Array([1])]);
    await until(() => bus.counters.messageErrors === 1, "the error to be counted");
  } finally {
    raw.close();
    await bus.close();
    await forwarder.close();
    await ctx.close();
  }
});
