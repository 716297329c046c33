import assert from "node:assert/strict";
import { NatsServer, natsServerUnavailable } from "./nats_server.ts";

const unavailable = natsServerUnavailable();
if (unavailable !== undefined) {
  console.log(`%cSKIPPED nats-server: ${unavailable}`, "color: yellow");
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const info = new Uint8Array(5);
    const n = await conn.read(info);
    conn.close();
    return n === 5 && new TextDecoder().decode(info) === "INFO ";
  } catch {
    return false;
  }
}

Deno.test({
  name: "NatsServer starts, is killed and restarts on the same port and store, and leaves nothing",
  ignore: unavailable !== undefined,
  async fn() {
    let storeDir: string;
    {
      await using server = await NatsServer.open();
      storeDir = server.storeDir;
      assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
      assert.ok(server.running);
      assert.ok(await accepts(server.port));
      assert.match(server.log, /Starting JetStream/);
      assert.match(server.log, new RegExp(`Store Directory: "${storeDir}/jetstream"`));

      await server.kill();
      assert.equal(server.running, false);
      assert.equal(await accepts(server.port), false);
      await server.kill();

      await server.restart();
      assert.ok(await accepts(server.port));
      await assert.rejects(server.start(), /already runs at nats:\/\/127\.0\.0\.1:/);
    }
    await assert.rejects(Deno.stat(storeDir), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "NatsServer reports a server that exits before it is ready, with its output",
  ignore: unavailable !== undefined,
  async fn() {
    await assert.rejects(
      NatsServer.open({ config: "this is { not a configuration\n" }),
      /^Error: nats-server at nats:\/\/127\.0\.0\.1:\d+ exited before it was ready:\n.+/s,
    );
  },
});
