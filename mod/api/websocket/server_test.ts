import assert from "node:assert/strict";
import { decodeEvent, encodeEventToBytes } from "../../codec/mod.ts";
import {
  type Harness,
  PyClient,
  SERVER_NODE_ID,
  until,
  withHarness,
} from "../../../testing/websocket.ts";
import { WEIR_VERSION } from "../../process/version.ts";

const count = (n: number) => ({ "@data-type": "count", data: n });
const string = (s: string) => ({ "@data-type": "string", data: s });
const vector = (items: unknown[]) => ({ "@data-type": "vector", data: items });

/** A data message for event `name` with already wrapped arguments. */
function dataMessage(topic: string, name: string, args: unknown[], metadata = true): unknown {
  const content: unknown[] = [string(name), vector(args)];
  if (metadata) content.push(vector([]));
  return {
    type: "data-message",
    topic,
    "@data-type": "vector",
    data: [count(1), count(1), vector(content)],
  };
}

async function publishFromPeer(h: Harness, topic: string, name: string, args: unknown[]) {
  await until(() => [...h.peerSeen].some((p) => topic.startsWith(p)), `a subscription to ${topic}`);
  const types = h.registry.argTypes(name)!;
  assert.ok(h.peer.publish(topic, encodeEventToBytes(name, args as never[], types)));
}

Deno.test("spec example 1: the subscription array is acknowledged with endpoint and version", async () => {
  await withHarness({}, async (h) => {
    await using client = await PyClient.start(h.api.url);
    assert.equal(client.first.event, "open");
    await client.sendJson(["/zeek/event/my_topic"]);
    const ack = await client.recvJson();
    assert.deepEqual(ack, {
      type: "ack",
      endpoint: `${SERVER_NODE_ID}-websocket-0`,
      version: WEIR_VERSION,
    });
    assert.deepEqual(h.api.clients().map((c) => [c.id, c.application, c.subscriptions]), [
      [`${SERVER_NODE_ID}-websocket-0`, "unknown", ["/zeek/event/my_topic"]],
    ]);
    assert.ok(h.serverBus.subscriptions.includes("/zeek/event/my_topic"));
  });
});

Deno.test('spec example 2: a client\'s ping("Hello", 42) reaches a bus peer as broker-bin-v1', async () => {
  await withHarness({ peerPrefixes: ["/zeek/event/"] }, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.subscribe(["/zeek/event/my_topic"]);
    await client.send(
      '{"type":"data-message","topic":"/zeek/event/my_topic","@data-type":"vector","data":[' +
        '{"@data-type":"count","data":1},{"@data-type":"count","data":1},' +
        '{"@data-type":"vector","data":[{"@data-type":"string","data":"ping"},' +
        '{"@data-type":"vector","data":[{"@data-type":"string","data":"Hello"},' +
        '{"@data-type":"count","data":42}]}]}]}',
    );
    await until(() => h.peerGot.length === 1, "the peer to receive the ping");
    const message = h.peerGot[0]!;
    assert.equal(message.topic, "/zeek/event/my_topic");
    assert.equal(message.sender, `${SERVER_NODE_ID}-websocket-0`);
    assert.equal(message.format, "broker-bin-v1");
    const event = decodeEvent(message.payload, h.registry.argTypes);
    assert.deepEqual([event.name, event.args], ["ping", ["Hello", 42]]);
    assert.equal(h.api.snapshot().messagesIn, 1);
  });
});

Deno.test("spec example 3: a peer's hello(3) reaches the client exactly; a wrong argument is refused", async () => {
  await withHarness({}, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.subscribe(["zeek."]);
    await publishFromPeer(h, "zeek.test", "hello", [3]);
    const got = await client.recv();
    assert.equal(
      got.text,
      '{"type":"data-message","topic":"zeek.test","@data-type":"vector","data":[' +
        '{"@data-type":"count","data":1},{"@data-type":"count","data":1},' +
        '{"@data-type":"vector","data":[{"@data-type":"string","data":"hello"},' +
        '{"@data-type":"vector","data":[{"@data-type":"count","data":3}]},' +
        '{"@data-type":"vector","data":[]}]}]}',
    );
    await client.sendJson(dataMessage("zeek.test", "hello", [string("three")]));
    assert.deepEqual(await client.recvJson(), {
      type: "error",
      code: "deserialization_failed",
      context: "failed to create Zeek event",
    });
    assert.equal(h.api.snapshot().messagesOut, 1);
  });
});

Deno.test("subscription errors: not an array, not strings; the socket stays open without an ack", async () => {
  await withHarness({}, async (h) => {
    for (
      const [frame, context] of [
        ['{"topics":["a"]}', "subscriptions not an array"],
        ["not json", "subscriptions not an array"],
        ['["zeek.", 7]', "individual subscription not a string"],
      ]
    ) {
      await using client = await PyClient.start(h.api.url);
      await client.send(frame!);
      assert.deepEqual(await client.recvJson(), {
        type: "error",
        code: "deserialization_failed",
        context,
      });
      await client.sendJson(["zeek."]);
      assert.deepEqual(await client.recv(0.3), { event: "timeout" }, "never acknowledged");
    }
    assert.equal(h.api.snapshot().errors["deserialization_failed"], 3);
    assert.equal(h.api.clients().length, 0);
  });
});

Deno.test("data-message errors keep the connection open, each with Zeek's context", async () => {
  await withHarness({ peerPrefixes: ["zeek."] }, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.subscribe([]);
    const cases: [string, string][] = [
      ["{not json", "failed to decode JSON object"],
      [
        '{"type":"data-message","topic":"zeek.x","@data-type":"bogus","data":1}',
        "failed to decode JSON object",
      ],
      [
        JSON.stringify({
          ...(dataMessage("zeek.x", "hello", [count(1)]) as object),
          topic: undefined,
        }),
        "no topic in top-level JSON object",
      ],
      [JSON.stringify(dataMessage("zeek.x", "no_such_event", [])), "failed to create Zeek event"],
      [
        JSON.stringify(dataMessage("zeek.x", "hello", [count(1), count(2)])),
        "failed to create Zeek event",
      ],
      [
        JSON.stringify(dataMessage("zeek.x", "hello", [{ "@data-type": "count", data: 1.5 }])),
        "failed to decode JSON object",
      ],
    ];
    for (const [text, context] of cases) {
      await client.send(text);
      assert.deepEqual(await client.recvJson(), {
        type: "error",
        code: "deserialization_failed",
        context,
      }, text);
    }
    await client.sendJson(dataMessage("zeek.x", "hello", [count(5)]));
    await until(() => h.peerGot.length === 1, "the valid event after the errors");
    assert.deepEqual(decodeEvent(h.peerGot[0]!.payload, h.registry.argTypes).args, [5]);
    const snapshot = h.api.snapshot();
    assert.equal(snapshot.errors["deserialization_failed"], cases.length);
    assert.equal(snapshot.applications["unknown"]?.errors, cases.length);
    assert.equal(snapshot.messagesIn, cases.length + 1);
  });
});

Deno.test("wrong path gets invalid_uri and a bad application name invalid_application_name, both closed 1008", async () => {
  await withHarness({}, async (h) => {
    {
      await using client = await PyClient.start(
        h.api.url.replace("/v1/messages/json", "/v1/other"),
      );
      const error = await client.recvJson();
      assert.equal(error["type"], "error");
      assert.equal(error["code"], "invalid_uri");
      const closed = await client.recv();
      assert.equal(closed.event, "closed");
      assert.equal(closed.code, 1008);
    }
    {
      await using client = await PyClient.start(h.api.url, {
        headers: { "X-Application-Name": "bad name!" },
      });
      const error = await client.recvJson();
      assert.equal(error["code"], "invalid_application_name");
      const closed = await client.recv();
      assert.deepEqual([closed.event, closed.code], ["closed", 1008]);
    }
    {
      await using client = await PyClient.start(h.api.url, {
        headers: { "X-Application-Name": "zeekctl/2.6-x:y=z*@a_b" },
      });
      await client.subscribe([]);
      assert.equal(h.api.snapshot().applications["zeekctl/2.6-x:y=z*@a_b"]?.connectionsOpen, 1);
    }
    const snapshot = h.api.snapshot();
    assert.equal(snapshot.disconnects.invalid_uri, 1);
    assert.equal(snapshot.disconnects.invalid_application_name, 1);
  });
});

Deno.test("two clients see each other's events but never their own; a peer sees both", async () => {
  await withHarness({ peerPrefixes: ["chat."] }, async (h) => {
    await using alice = await PyClient.start(h.api.url, {
      headers: { "X-Application-Name": "alice" },
    });
    await using bob = await PyClient.start(h.api.url, { headers: { "X-Application-Name": "bob" } });
    await alice.subscribe(["chat."]);
    await bob.subscribe(["chat."]);
    await until(() => h.serverSeen.has("chat."), "the server's subscription");
    await alice.sendJson(dataMessage("chat.room", "ping", [string("from alice"), count(1)]));
    await bob.sendJson(dataMessage("chat.room", "ping", [string("from bob"), count(2)]));
    const atBob = await bob.recvJson();
    const atAlice = await alice.recvJson();
    const firstArg = (
      m: Record<string, unknown>,
    ) => ((((m["data"] as { data: unknown }[])[2]!.data as { data: unknown }[])[1]!.data as {
      data: unknown;
    }[])[0]!.data);
    assert.equal(firstArg(atBob), "from alice");
    assert.equal(firstArg(atAlice), "from bob");
    assert.deepEqual(
      await alice.recv(0.3),
      { event: "timeout" },
      "alice does not get her own event",
    );
    assert.deepEqual(await bob.recv(0.3), { event: "timeout" }, "bob does not get his own event");
    await until(() => h.peerGot.length === 2, "the peer to see both");
    assert.deepEqual(
      h.peerGot.map((m) => decodeEvent(m.payload, h.registry.argTypes).args[0]).sort(),
      ["from alice", "from bob"],
    );
    const apps = h.api.snapshot().applications;
    assert.deepEqual([apps["alice"]?.messagesIn, apps["alice"]?.messagesOut], [1, 1]);
  });
});

Deno.test("every Zeek type crosses both ways: peer → client as v1 JSON, client → peer back to the same values", async () => {
  await withHarness({ peerPrefixes: ["types.back."] }, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.subscribe(["types.out."]);
    const args = [
      18446744073709551615n,
      -42,
      2.5,
      true,
      "héllo",
      "2001:db8::1",
      "10.0.0.0/8",
      "443/tcp",
      1700000000.25,
      1.5,
      "Cluster::WORKER",
      [1, 2, 3],
      ["a", "b"],
      new Map([["k", 7]]),
      { orig_h: "192.168.1.1", orig_p: "53/udp", note: undefined },
    ];
    await publishFromPeer(h, "types.out.x", "all_types", args);
    const received = await client.recv();
    assert.ok(received.text.includes('{"@data-type":"count","data":18446744073709551615}'));
    const message = JSON.parse(received.text);
    const event = (message["data"] as { data: unknown }[])[2]!.data as { data: unknown }[];
    assert.deepEqual(event[1], {
      "@data-type": "vector",
      data: [
        { "@data-type": "count", data: 18446744073709551615n },
        { "@data-type": "integer", data: -42 },
        { "@data-type": "real", data: 2.5 },
        { "@data-type": "boolean", data: true },
        { "@data-type": "string", data: "héllo" },
        { "@data-type": "address", data: "2001:db8::1" },
        { "@data-type": "subnet", data: "10.0.0.0/8" },
        { "@data-type": "port", data: "443/tcp" },
        { "@data-type": "timestamp", data: "2023-11-14T22:13:20.250" },
        { "@data-type": "timespan", data: "1500ms" },
        { "@data-type": "enum-value", data: "Cluster::WORKER" },
        vector([count(1), count(2), count(3)]),
        { "@data-type": "set", data: [string("a"), string("b")] },
        { "@data-type": "table", data: [{ key: string("k"), value: count(7) }] },
        vector([
          { "@data-type": "address", data: "192.168.1.1" },
          { "@data-type": "port", data: "53/udp" },
          { "@data-type": "none", data: {} },
        ]),
      ].map((v) => JSON.parse(JSON.stringify(v, (_k, x) => typeof x === "bigint" ? Number(x) : x))),
    });
    await client.send(received.text.replace('"topic":"types.out.x"', '"topic":"types.back.x"'));
    await until(() => h.peerGot.length === 1, "the peer to get the event back");
    const back = decodeEvent(h.peerGot[0]!.payload, h.registry.argTypes);
    assert.equal(back.name, "all_types");
    assert.deepEqual(back.args, args);
  });
});

Deno.test("messages sent before the ack are processed after it, in order", async () => {
  await withHarness({ peerPrefixes: ["early."] }, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.sendJson(["early."]);
    for (let n = 1; n <= 3; n++) await client.sendJson(dataMessage("early.x", "hello", [count(n)]));
    assert.equal((await client.recvJson())["type"], "ack");
    await until(() => h.peerGot.length === 3, "the three early events");
    assert.deepEqual(h.peerGot.map((m) => decodeEvent(m.payload, h.registry.argTypes).args[0]), [
      1,
      2,
      3,
    ]);
  });
});

Deno.test("undeclared events are refused like Zeek does, or forwarded untyped when asked", async () => {
  await withHarness({ peerPrefixes: ["x."], forwardUndeclaredEvents: true }, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.subscribe([]);
    await client.sendJson(dataMessage("x.y", "site::custom", [string("free"), count(9)]));
    await until(() => h.peerGot.length === 1, "the undeclared event");
    const event = decodeEvent(h.peerGot[0]!.payload, () => undefined);
    assert.equal(event.name, "site::custom");
    assert.deepEqual(event.args.map((a) => (a as { value: unknown }).value), ["free", 9]);
    await client.sendJson(dataMessage("x.y", "hello", [string("typed wrong")]));
    assert.equal((await client.recvJson())["context"], "failed to create Zeek event");
  });
});

Deno.test("close() sends 1001 Terminating to every client and unsubscribes from the bus", async () => {
  await withHarness({}, async (h) => {
    await using client = await PyClient.start(h.api.url);
    await client.subscribe(["bye."]);
    assert.ok(h.serverBus.subscriptions.includes("bye."));
    await h.api.close();
    assert.deepEqual(await client.recv(), { event: "closed", code: 1001, reason: "Terminating" });
    assert.ok(!h.serverBus.subscriptions.includes("bye."));
    assert.equal(h.api.snapshot().disconnects.shutdown, 1);
  });
});

Deno.test("a client leaving drops its bus subscriptions (reference counted with other clients)", async () => {
  await withHarness({}, async (h) => {
    await using a = await PyClient.start(h.api.url);
    await a.subscribe(["shared.", "only-a."]);
    {
      await using b = await PyClient.start(h.api.url);
      await b.subscribe(["shared."]);
    }
    await until(() => h.api.clients().length === 1, "b to be gone");
    assert.deepEqual(
      h.serverBus.subscriptions.filter((s) => !s.startsWith("zeek.")).sort(),
      ["only-a.", "shared."],
    );
    await a.close();
    await until(() => h.api.clients().length === 0, "a to be gone");
    assert.deepEqual(h.serverBus.subscriptions.filter((s) => !s.startsWith("zeek.")), []);
  });
});

Deno.test("the connection limit refuses the next client with HTTP 503", async () => {
  await withHarness({ maxConnections: 1 }, async (h) => {
    await using first = await PyClient.start(h.api.url);
    await first.subscribe([]);
    await using second = await PyClient.start(h.api.url);
    assert.deepEqual(second.first, { event: "rejected", status: 503 });
    assert.equal(h.api.snapshot().rejected.connection_limit, 1);
  });
});
