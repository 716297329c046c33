import assert from "node:assert/strict";
import { decodeEvent } from "../../codec/mod.ts";
import { PyClient, RawClient, until, withHarness } from "../../../testing/websocket.ts";
import { openWebSocketApi } from "./server.ts";
import { TokenFileModeError } from "./tokens.ts";

const FULL = "full-access-token-0123456789abcdef";
const LIMITED = "limited-token-0123456789abcdef";

async function tokenFile(dir: string, mode: number): Promise<string> {
  const path = `${dir}/tokens`;
  await Deno.writeTextFile(
    path,
    `# test tokens\n${FULL} name=ops\n${LIMITED} name=feed subscribe=feed.out. publish=feed.in.\n`,
  );
  await Deno.chmod(path, mode);
  return path;
}

function hello(topic: string, n: number): string {
  return JSON.stringify({
    type: "data-message",
    topic,
    "@data-type": "vector",
    data: [
      { "@data-type": "count", data: 1 },
      { "@data-type": "count", data: 1 },
      {
        "@data-type": "vector",
        data: [
          { "@data-type": "string", data: "hello" },
          { "@data-type": "vector", data: [{ "@data-type": "count", data: n }] },
        ],
      },
    ],
  });
}

Deno.test("a token file readable by others is refused before anything binds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await tokenFile(dir, 0o644);
    await withHarness({ port: 0 }, async (h) => {
      await assert.rejects(
        openWebSocketApi({
          bus: h.serverBus,
          events: h.registry.argTypes,
          port: 0,
          tokenFile: path,
        }),
        (error: unknown) =>
          error instanceof TokenFileModeError && error.mode === 0o100644 &&
          error.message.includes(`chmod 600 ${path}`),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bearer tokens: missing and wrong tokens get 401, a valid one connects", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tokenPath = await tokenFile(dir, 0o600);
    await withHarness({ tokenFile: tokenPath }, async (h) => {
      await using anonymous = await PyClient.start(h.api.url);
      assert.deepEqual(anonymous.first, { event: "rejected", status: 401 });
      await using wrong = await PyClient.start(h.api.url, {
        headers: { Authorization: "Bearer not-the-right-token-000000" },
      });
      assert.deepEqual(wrong.first, { event: "rejected", status: 401 });
      await using good = await PyClient.start(h.api.url, {
        headers: { Authorization: `Bearer ${FULL}` },
      });
      assert.equal(good.first.event, "open");
      await good.subscribe(["anything."]);
      assert.equal(h.api.clients()[0]!.tokenName, "ops");
      assert.equal(h.api.snapshot().rejected.unauthorized, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a prefix-limited token publishes and subscribes only under its prefixes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tokenPath = await tokenFile(dir, 0o600);
    await withHarness({ tokenFile: tokenPath, peerPrefixes: ["feed.", "zeek."] }, async (h) => {
      const auth = { Authorization: `Bearer ${LIMITED}` };
      await using client = await PyClient.start(h.api.url, { headers: auth });
      await client.subscribe(["feed.out.alerts"]);
      await client.send(hello("zeek.cluster.worker", 1));
      const error = await client.recvJson();
      assert.equal(error["type"], "error");
      assert.equal(error["code"], "forbidden");
      assert.match(String(error["context"]), /"zeek\.cluster\.worker" not allowed.*"feed\.in\."/);
      await client.send(hello("feed.in.x", 2));
      await until(() => h.peerGot.length === 1, "the allowed publication");
      assert.equal(h.peerGot[0]!.topic, "feed.in.x");
      assert.deepEqual(decodeEvent(h.peerGot[0]!.payload, h.registry.argTypes).args, [2]);
      assert.equal(h.peerGot.length, 1, "the forbidden publication never reached the bus");

      await using greedy = await PyClient.start(h.api.url, { headers: auth });
      await greedy.sendJson(["zeek."]);
      const refused = await greedy.recvJson();
      assert.equal(refused["code"], "forbidden");
      const closed = await greedy.recv();
      assert.deepEqual([closed.event, closed.code], ["closed", 1008]);
      assert.equal(h.api.snapshot().disconnects.forbidden_subscription, 1);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TLS: a client trusting the generated certificate completes the handshake over wss://", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cert = `${dir}/cert.pem`;
    const key = `${dir}/key.pem`;
    const openssl = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(openssl.code, 0, new TextDecoder().decode(openssl.stderr));
    await withHarness({ tlsCertFile: cert, tlsKeyFile: key }, async (h) => {
      assert.match(h.api.url, /^wss:\/\/127\.0\.0\.1:\d+\/v1\/messages\/json$/);
      await using client = await PyClient.start(h.api.url, { cafile: cert });
      assert.equal(client.first.event, "open");
      const ack = await client.subscribe(["zeek."]);
      assert.equal(ack["type"], "ack");
      await using untrusting = await PyClient.start(h.api.url);
      assert.equal(untrusting.first.event, "failed");
      assert.match(untrusting.first.error, /CERTIFICATE_VERIFY_FAILED|certificate verify failed/);
      await assert.rejects(RawClient.open(h.api.port), "plain TCP gets no upgrade from a TLS port");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
