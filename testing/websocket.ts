/**
 * What the WebSocket tests share: a real forwarder with real buses (one for
 * the server, one peer standing in for another node), the server, and the
 * Python client of `tests/ws_client.py` driven over JSON lines.
 *
 * @module
 */

import { ZmqContext, ZmqForwarder } from "../ffi/mod.ts";
import { Bus, type BusMessage, EventRegistry } from "../mod/bus/mod.ts";
import { T, type ZeekType } from "../zeek/mod.ts";
import {
  openWebSocketApi,
  type WebSocketApi,
  type WebSocketApiOptions,
} from "../mod/api/websocket/mod.ts";

export const PYTHON = "/usr/bin/python3";
export const CLIENT_SCRIPT = new URL("../tests/ws_client.py", import.meta.url).pathname;
export const SERVER_NODE_ID = "zeromq_manager_test_1_Nws";

/** The record type used for the all-types event. */
export const CONN_ID: ZeekType = T.record("conn_id", [
  ["orig_h", T.addr],
  ["orig_p", T.port],
  ["note", T.string, "optional"],
]);

/** Events the tests declare on both sides. */
export function createTestRegistry(): EventRegistry {
  const registry = new EventRegistry((name, error) => {
    throw new Error(`handler of ${name} failed: ${error}`);
  });
  registry.declare("ping", [["msg", T.string], ["n", T.count]]);
  registry.declare("hello", [["n", T.count]]);
  registry.declare("all_types", [
    ["c", T.count],
    ["i", T.int],
    ["d", T.double],
    ["b", T.bool],
    ["s", T.string],
    ["a", T.addr],
    ["net", T.subnet],
    ["p", T.port],
    ["t", T.time],
    ["iv", T.interval],
    ["e", T.enum("Cluster::NodeType")],
    ["v", T.vector(T.count)],
    ["set", T.set(T.string)],
    ["tab", T.table(T.string, T.count)],
    ["rec", CONN_ID],
  ]);
  return registry;
}

export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A forwarder, the server's bus, a peer bus, the registry and the running server. */
export interface Harness {
  readonly ctx: ZmqContext;
  readonly forwarder: ZmqForwarder;
  readonly serverBus: Bus;
  readonly peer: Bus;
  readonly registry: EventRegistry;
  /** Messages the peer received (payloads copied). */
  readonly peerGot: BusMessage[];
  /** Topics the peer's XPUB has seen subscribed (so it is safe to publish to them). */
  readonly peerSeen: Set<string>;
  /** Topics the server bus's XPUB has seen subscribed. */
  readonly serverSeen: Set<string>;
  readonly api: WebSocketApi;
}

/** Runs `body` with a fresh harness and always tears it down. */
export async function withHarness(
  options: Partial<WebSocketApiOptions> & { peerPrefixes?: readonly string[] },
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const ctx = new ZmqContext();
  const forwarder = ZmqForwarder.open(ctx, {
    xpub: "tcp://127.0.0.1:*",
    xsub: "tcp://127.0.0.1:*",
  });
  const fail = (error: unknown) => {
    throw error;
  };
  const open = (nodeId: string) =>
    Bus.open(ctx, {
      nodeId,
      connectXpub: forwarder.xsubEndpoint,
      connectXsub: forwarder.xpubEndpoint,
      xpubSndHwm: 100_000,
      xsubRcvHwm: 100_000,
    }, fail);
  const serverBus = open(`${SERVER_NODE_ID}-websocket`);
  const peer = open("zeromq_worker-1_test_2_Npeer");
  const registry = createTestRegistry();
  const peerGot: BusMessage[] = [];
  const peerSeen = new Set<string>();
  const serverSeen = new Set<string>();
  peer.onMessage((m) => peerGot.push({ ...m, payload: m.payload.slice() }));
  peer.onSubscriptionChange((topic, on) => on ? peerSeen.add(topic) : peerSeen.delete(topic));
  serverBus.onSubscriptionChange((topic, on) =>
    on ? serverSeen.add(topic) : serverSeen.delete(topic)
  );
  let api: WebSocketApi | undefined;
  try {
    serverBus.start();
    peer.start();
    for (const prefix of options.peerPrefixes ?? []) peer.subscribe(prefix);
    await peer.ready();
    for (const prefix of options.peerPrefixes ?? []) {
      await until(() => serverSeen.has(prefix), `the server bus to see ${prefix}`);
    }
    api = await openWebSocketApi({
      bus: serverBus,
      events: registry.argTypes,
      nodeId: SERVER_NODE_ID,
      port: 0,
      ...options,
    });
    await body({ ctx, forwarder, serverBus, peer, registry, peerGot, peerSeen, serverSeen, api });
  } finally {
    await api?.close();
    await serverBus.close();
    await peer.close();
    await forwarder.close();
    await ctx.close();
  }
}

/** One line-delimited JSON event printed by the Python client. */
// deno-lint-ignore no-explicit-any
export type ClientEvent = { event: string; [key: string]: any };

/** Reads lines from a byte stream, with a timeout per line. */
export class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #pending: Promise<ReadableStreamReadResult<string>> | undefined;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or undefined at the end of the stream. Throws after `timeoutMs`. */
  async next(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return line;
      }
      this.#pending ??= this.#reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
      });
      const result = await Promise.race([this.#pending, timeout]);
      clearTimeout(timer);
      if (result === "timeout") throw new Error(`No line within ${timeoutMs} ms`);
      this.#pending = undefined;
      if (result.done) return undefined;
      this.#buffer += result.value;
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Options of a Python client process. */
export interface PyClientOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly cafile?: string;
  readonly mode?: "control" | "recv" | "send";
  readonly extraArgs?: readonly string[];
}

/** The Python client (`tests/ws_client.py`) as a child process. */
export class PyClient implements AsyncDisposable {
  readonly first: ClientEvent;
  #child: Deno.ChildProcess;
  #lines: LineReader;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stderr: Promise<string>;

  private constructor(
    child: Deno.ChildProcess,
    lines: LineReader,
    first: ClientEvent,
    stdin: WritableStreamDefaultWriter<Uint8Array>,
    stderr: Promise<string>,
  ) {
    this.#child = child;
    this.#lines = lines;
    this.first = first;
    this.#stdin = stdin;
    this.#stderr = stderr;
  }

  /** Starts a client; resolves with its first output line (open, rejected, failed or ack). */
  static async start(url: string, options: PyClientOptions = {}): Promise<PyClient> {
    const args = [CLIENT_SCRIPT, options.mode ?? "control", "--url", url];
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      args.push("--header", `${name}: ${value}`);
    }
    if (options.cafile !== undefined) args.push("--cafile", options.cafile);
    args.push(...(options.extraArgs ?? []));
    const child = new Deno.Command(PYTHON, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = new LineReader(child.stdout);
    const stdin = child.stdin.getWriter();
    const line = await lines.next(15_000).catch(async (error) => {
      child.kill();
      await child.status;
      throw new Error(`${error.message}; the client's stderr: ${await stderr}`);
    });
    if (line === undefined) {
      await child.status;
      throw new Error(`The Python client ended without output: ${await stderr}`);
    }
    return new PyClient(child, lines, JSON.parse(line), stdin, stderr);
  }

  async #command(command: Record<string, unknown>): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
  }

  /** Sends a text frame. */
  send(text: string): Promise<void> {
    return this.#command({ op: "send", text });
  }

  /** Sends a value as JSON text. */
  sendJson(value: unknown): Promise<void> {
    return this.send(JSON.stringify(value));
  }

  /** The next frame (or timeout, or close) as the client saw it. */
  async recv(timeoutSeconds = 5): Promise<ClientEvent> {
    await this.#command({ op: "recv", timeout: timeoutSeconds });
    return await this.nextEvent((timeoutSeconds + 10) * 1000);
  }

  /** The next message, parsed; throws when it is not a message. */
  async recvJson(timeoutSeconds = 5): Promise<Record<string, unknown>> {
    const event = await this.recv(timeoutSeconds);
    if (event.event !== "message") {
      throw new Error(`Expected a message, got ${JSON.stringify(event)}`);
    }
    return JSON.parse(event.text);
  }

  /** The next line the client prints, parsed. */
  async nextEvent(timeoutMs = 15_000): Promise<ClientEvent> {
    const line = await this.#lines.next(timeoutMs);
    if (line === undefined) {
      throw new Error(`The Python client ended: ${await this.#stderr}`);
    }
    return JSON.parse(line);
  }

  /** Subscribes and waits for the ack, which it returns. */
  async subscribe(prefixes: readonly string[]): Promise<Record<string, unknown>> {
    await this.sendJson(prefixes);
    const ack = await this.recvJson();
    if (ack["type"] !== "ack") throw new Error(`Expected an ack, got ${JSON.stringify(ack)}`);
    return ack;
  }

  /** Ends the client process, politely first. */
  async close(): Promise<void> {
    try {
      await this.#stdin.close();
    } catch {
      // The process already exited and closed its end.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill();
      } catch {
        // Exited in the meantime.
      }
    }, 3000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#lines.cancel();
    await this.#stderr.catch(() => "");
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A server frame as the raw client reads it. */
export interface RawFrame {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/**
 * A bare-bones client on a TCP socket, for what a well-behaved library
 * will not do: never answer pings, stop reading.
 */
export class RawClient implements Disposable {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects and completes the upgrade; throws unless the answer is 101. */
  static async open(
    port: number,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new RawClient(conn);
    let request = "GET /v1/messages/json HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n";
    for (const [name, value] of Object.entries(headers)) request += `${name}: ${value}\r\n`;
    await conn.write(new TextEncoder().encode(`${request}\r\n`));
    const head = await client.#readUntilHeadEnd();
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`Upgrade refused: ${head}`);
    return client;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  async #readUntilHeadEnd(): Promise<string> {
    for (;;) {
      const text = new TextDecoder("latin1").decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        this.#buffer = this.#buffer.slice(end + 4);
        return text.slice(0, end);
      }
      if (!await this.#fill()) throw new Error("Connection closed during the handshake");
    }
  }

  /** Sends a masked text frame. */
  async sendText(text: string): Promise<void> {
    await this.sendFrame(0x1, new TextEncoder().encode(text));
  }

  /** Sends one masked, final frame of `opcode`. */
  async sendFrame(opcode: number, payload: Uint8Array): Promise<void> {
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const n = payload.length;
    const header = n < 126
      ? [0x80 | opcode, 0x80 | n]
      : n < 65536
      ? [0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff]
      : [
        0x80 | opcode,
        0x80 | 127,
        0,
        0,
        0,
        0,
        n >>> 24,
        (n >> 16) & 0xff,
        (n >> 8) & 0xff,
        n & 0xff,
      ];
    const frame = new Uint8Array(header.length + 4 + payload.length);
    frame.set(header);
    frame.set(mask, header.length);
    for (let i = 0; i < payload.length; i++) {
      frame[header.length + 4 + i] = payload[i]! ^ mask[i & 3]!;
    }
    await this.conn.write(frame);
  }

  /** The next frame, or undefined when the connection ended. */
  async nextFrame(): Promise<RawFrame | undefined> {
    for (;;) {
      const b = this.#buffer;
      if (b.length >= 2) {
        let length = b[1]! & 0x7f;
        let at = 2;
        if (length === 126 && b.length >= 4) {
          length = (b[2]! << 8) | b[3]!;
          at = 4;
        } else if (length === 127 && b.length >= 10) {
          length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
          at = 10;
        }
        if ((length < 126 || at > 2) && b.length >= at + length) {
          const frame = { opcode: b[0]! & 0x0f, payload: b.slice(at, at + length) };
          this.#buffer = b.slice(at + length);
          return frame;
        }
      }
      if (!await this.#fill()) return undefined;
    }
  }

  /** Reads frames until a close frame; returns its code and reason. */
  async untilClose(): Promise<{ code: number; reason: string; pings: number }> {
    let pings = 0;
    for (;;) {
      const frame = await this.nextFrame();
      if (frame === undefined) return { code: 1006, reason: "", pings };
      if (frame.opcode === 0x9) pings++;
      if (frame.opcode === 0x8) {
        const code = (frame.payload[0]! << 8) | frame.payload[1]!;
        return { code, reason: new TextDecoder().decode(frame.payload.subarray(2)), pings };
      }
    }
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch {
      // The server closed it already.
    }
  }
}
