/**
 * The manager's WebSocket API in a running cluster, driven by the Python
 * client: a client's event runs a handler on a worker, and the worker's
 * answer reaches the client.
 */

import assert from "node:assert/strict";
import { findFreePortRange, killLeftovers, WeirProcess, writeConfig } from "./harness.ts";

const CLIENT = new URL("./ws_client.py", import.meta.url).pathname;

const SITE = `
export default function (zeek) {
  zeek.declare("Test::poke", [["n", zeek.T.count]]);
  zeek.declare("Test::pong", [["node", zeek.T.string], ["n", zeek.T.count]]);
  zeek.on("Test::poke", (n) => zeek.publish("weir.ws.out", "Test::pong", zeek.node, n * 2));
}
`;

class Client {
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffered = "";

  constructor(url: string) {
    this.#proc = new Deno.Command("/usr/bin/python3", {
      args: [CLIENT, "control", "--url", url],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#reader = this.#proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const nl = this.#buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return JSON.parse(line);
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the WebSocket client exited");
      this.#buffered += value;
    }
  }

  async command(cmd: Record<string, unknown>): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
  }

  async recv(timeout = 5): Promise<Record<string, unknown>> {
    await this.command({ op: "recv", timeout });
    return await this.next();
  }

  async close(): Promise<void> {
    try {
      await this.command({ op: "close", code: 1000 });
      await this.#writer.close();
    } catch { /* already gone */ }
    await this.#proc.status;
  }
}

Deno.test({
  name: "websocket: a client's event runs a worker's handler and the answer reaches the client",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const base = findFreePortRange(2);
    const config = await writeConfig({
      nodeCfg:
        "[manager]\ntype=manager\nhost=localhost\n\n[logger]\ntype=logger\nhost=localhost\n\n" +
        `[proxy-1]\ntype=proxy\nhost=localhost\nwebsocket_port=${base}\n\n` +
        "[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n",
      site: { "ws.js": SITE },
    });
    const manager = new WeirProcess(["--role", "manager", "--config", config.dir]);
    let client: Client | undefined;
    let viaProxy: Client | undefined;
    try {
      await manager.waitForLine((l) => l.startsWith('{"weir":"ready","node":"manager"'), "ready");
      // writeConfig puts WebSocketPort at ZeekPort + 19.
      const port = config.zeekPort + 19;
      client = new Client(`ws://127.0.0.1:${port}/v1/messages/json`);
      assert.equal((await client.next()).event, "open");
      await client.command({ op: "send", text: JSON.stringify(["weir.ws."]) });
      const ack = JSON.parse((await client.recv()).text as string);
      assert.equal(ack.type, "ack");
      assert.match(ack.endpoint, /-websocket-\d+$/);
      // A second client on the proxy's own entry point (node.cfg's websocket_port).
      viaProxy = new Client(`ws://127.0.0.1:${base}/v1/messages/json`);
      assert.equal((await viaProxy.next()).event, "open");
      await viaProxy.command({ op: "send", text: JSON.stringify(["weir.ws."]) });
      const proxyAck = JSON.parse((await viaProxy.recv()).text as string);
      assert.match(proxyAck.endpoint, /^zeromq_proxy-1_.*-websocket-\d+$/);
      const poke = {
        type: "data-message",
        topic: "zeek.cluster.node.worker-1.",
        "@data-type": "vector",
        data: [
          { "@data-type": "count", data: 1 },
          { "@data-type": "count", data: 1 },
          {
            "@data-type": "vector",
            data: [
              { "@data-type": "string", data: "Test::poke" },
              { "@data-type": "vector", data: [{ "@data-type": "count", data: 21 }] },
            ],
          },
        ],
      };
      await client.command({ op: "send", text: JSON.stringify(poke) });
      const reply = await client.recv(10);
      assert.equal(reply.event, "message", JSON.stringify(reply));
      const msg = JSON.parse(reply.text as string);
      assert.equal(msg.type, "data-message");
      assert.equal(msg.topic, "weir.ws.out");
      const [name, args] = msg.data[2].data;
      assert.equal(name.data, "Test::pong");
      assert.deepEqual(args.data, [
        { "@data-type": "string", data: "worker-1" },
        { "@data-type": "count", data: 42 },
      ]);
      const atProxy = await viaProxy.recv(10);
      assert.equal(atProxy.event, "message", "the proxy's client sees the worker's answer too");
      assert.equal(JSON.parse(atProxy.text as string).topic, "weir.ws.out");
    } finally {
      await client?.close();
      await viaProxy?.close();
      await manager.stop();
      await killLeftovers(config.dir);
      await Deno.remove(config.dir, { recursive: true });
    }
  },
});
