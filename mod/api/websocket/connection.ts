/**
 * One server-side WebSocket connection after the upgrade: a read loop that
 * hands over whole messages, a bounded send queue written in batches (all
 * frames queued while a write is in flight go out in the next write), pings,
 * and the closing handshake with a deadline.
 *
 * @module
 */

import {
  CLOSE_CODE,
  closePayload,
  frameHeaderBytes,
  FrameReader,
  OPCODE,
  WebSocketProtocolError,
  writeFrameHeader,
} from "./frames.ts";
import { noteDroppedBuffers } from "../../process/mod.ts";

/** After sending a close frame, the TCP connection is dropped if the peer has not answered by then. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 1000;

const READ_CHUNK_BYTES = 64 * 1024;
const INITIAL_OUT_BYTES = 64 * 1024;
// A send buffer that grew past this is dropped once drained, so one burst does not pin memory.
const KEEP_OUT_BYTES = 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** How a connection ended. */
export interface CloseInfo {
  /** The close code sent or received; 1006 when the TCP connection ended without one. */
  readonly code: number;
  readonly reason: string;
  /** Who started the close: this server, the client, or neither (connection lost). */
  readonly by: "server" | "client" | "network";
}

/** The bounds of one connection. */
export interface ConnectionLimits {
  /** Longest message (fragments joined) accepted from the client. */
  readonly maxMessageBytes: number;
  /** Bytes queued for the client (not yet taken by the kernel) beyond which sends are refused. */
  readonly maxQueuedBytes: number;
  /** Messages queued for the client beyond which sends are refused. */
  readonly maxQueuedMessages: number;
  readonly closeTimeoutMs?: number;
}

/** Receives each whole text or binary message as text. */
export type MessageHandler = (text: string) => void | Promise<void>;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One WebSocket peer over a TCP or TLS connection. */
export class WebSocketConnection {
  readonly remoteAddress: string;
  #conn: Deno.Conn;
  #limits: ConnectionLimits;
  #reader: FrameReader;
  #out = new Uint8Array(INITIAL_OUT_BYTES);
  #spare: Uint8Array<ArrayBuffer> | undefined = new Uint8Array(INITIAL_OUT_BYTES);
  #outLength = 0;
  #outMessages = 0;
  #inflightBytes = 0;
  #inflightMessages = 0;
  #writing = false;
  #flushScheduled = false;
  #closeSent = false;
  #closeReceived = false;
  #closeInfo: CloseInfo | undefined;
  #destroyed = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #awaitingPong = false;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #closed: Promise<CloseInfo>;

  /** `initial` holds bytes that arrived right behind the request head. */
  constructor(conn: Deno.Conn, limits: ConnectionLimits, initial: Uint8Array = EMPTY) {
    this.#conn = conn;
    this.#limits = limits;
    this.#reader = new FrameReader(limits.maxMessageBytes);
    if (initial.length > 0) this.#reader.push(initial);
    const address = conn.remoteAddr as Deno.NetAddr;
    this.remoteAddress = address.hostname === undefined
      ? "unknown"
      : `${address.hostname}:${address.port}`;
    this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Resolves once the TCP connection is gone. */
  closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  /** True from the moment either side started closing. */
  get closing(): boolean {
    return this.#closeSent || this.#closeReceived || this.#destroyed;
  }

  /** A ping was sent and neither a pong nor any other frame came back since. */
  get awaitingPong(): boolean {
    return this.#awaitingPong;
  }

  /** Bytes queued for the client, the write in flight included. */
  get queuedBytes(): number {
    return this.#outLength + this.#inflightBytes;
  }

  /** Messages queued for the client, the write in flight included. */
  get queuedMessages(): number {
    return this.#outMessages + this.#inflightMessages;
  }

  /**
   * Queues a text message (UTF-8 bytes, copied). Returns false, queuing
   * nothing, when the connection is closing or the queue is at its bound;
   * an empty queue always takes one message, however long.
   */
  sendText(payload: Uint8Array): boolean {
    if (this.closing) return false;
    const queued = this.queuedMessages;
    if (
      queued > 0 &&
      (queued >= this.#limits.maxQueuedMessages ||
        this.queuedBytes + payload.length > this.#limits.maxQueuedBytes)
    ) return false;
    this.#append(OPCODE.text, payload);
    return true;
  }

  /** Sends a ping; `awaitingPong` stays true until the client answers. */
  ping(): void {
    if (this.closing) return;
    this.#awaitingPong = true;
    this.#append(OPCODE.ping, EMPTY);
  }

  /**
   * Starts the closing handshake: the close frame goes out behind what is
   * queued (or instead of it, with `discardQueued`, for a client that does
   * not keep up), and the TCP connection is dropped when the client answers
   * or after the close timeout. Idempotent.
   */
  close(code: number, reason: string, discardQueued = false): void {
    if (this.#closeSent || this.#destroyed) return;
    this.#closeSent = true;
    this.#closeInfo ??= { code, reason, by: "server" };
    if (discardQueued) {
      this.#outLength = 0;
      this.#outMessages = 0;
    }
    this.#append(OPCODE.close, closePayload(code, reason));
    this.#closeTimer = setTimeout(
      () => this.#destroy(),
      this.#limits.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    );
  }

  /**
   * Reads until the connection ends, handing each message to `onMessage`;
   * a returned promise is awaited before the next message is read. Protocol
   * violations close with their code. Resolves with how it closed.
   */
  async run(onMessage: MessageHandler): Promise<CloseInfo> {
    const chunk = new Uint8Array(READ_CHUNK_BYTES);
    try {
      if (await this.#drainFrames(onMessage)) {
        while (!this.#destroyed) {
          const n = await this.#conn.read(chunk);
          if (n === null) break;
          this.#reader.push(chunk.subarray(0, n));
          if (!await this.#drainFrames(onMessage)) break;
        }
      }
    } catch (error) {
      if (error instanceof WebSocketProtocolError) this.close(error.code, error.message);
      else if (!(error instanceof Deno.errors.BadResource)) this.#destroy();
    }
    if (!this.#closeSent) this.#destroy();
    noteDroppedBuffers(this.#reader.capacity);
    return await this.#closed;
  }

  /** Handles every whole frame buffered; false once the client's close frame was seen. */
  async #drainFrames(onMessage: MessageHandler): Promise<boolean> {
    for (;;) {
      const opcode = this.#reader.next();
      if (opcode < 0) {
        const released = this.#reader.shrink();
        if (released > 0) noteDroppedBuffers(released);
        return true;
      }
      this.#awaitingPong = false;
      switch (opcode) {
        case OPCODE.text:
        case OPCODE.binary: {
          if (this.#closeSent) break;
          let text: string;
          try {
            text = utf8.decode(this.#reader.payload);
          } catch {
            throw new WebSocketProtocolError(CLOSE_CODE.invalidPayload, "message is not UTF-8");
          }
          const result = onMessage(text);
          if (result !== undefined) await result;
          break;
        }
        case OPCODE.ping:
          if (!this.#closeSent) this.#append(OPCODE.pong, this.#reader.payload.slice());
          break;
        case OPCODE.pong:
          break;
        case OPCODE.close:
          this.#onCloseFrame(this.#reader.payload);
          return false;
      }
    }
  }

  #onCloseFrame(payload: Uint8Array): void {
    this.#closeReceived = true;
    let code: number = CLOSE_CODE.noStatus;
    let reason = "";
    // RFC 6455 §5.5.1, §7.4: a close body is empty or a code a peer may send
    // plus a UTF-8 reason; anything else is answered 1002 (or 1007).
    let answer: number | undefined;
    if (payload.length === 1) answer = CLOSE_CODE.protocolError;
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!isSendableCloseCode(code)) answer = CLOSE_CODE.protocolError;
      try {
        reason = utf8.decode(payload.subarray(2));
      } catch {
        reason = "";
        answer ??= CLOSE_CODE.invalidPayload;
      }
    }
    if (this.#closeSent) {
      this.#destroyAfterWrites();
      return;
    }
    this.#closeInfo = { code, reason, by: "client" };
    this.#closeSent = true;
    this.#outLength = 0;
    this.#outMessages = 0;
    const echo = answer ?? (code === CLOSE_CODE.noStatus ? CLOSE_CODE.normal : code);
    this.#append(
      OPCODE.close,
      closePayload(echo, answer === undefined ? "" : `invalid close frame (code ${code})`),
    );
    this.#closeTimer = setTimeout(
      () => this.#destroy(),
      this.#limits.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    );
    this.#destroyAfterWrites();
  }

  #destroyAfterWrites(): void {
    if (!this.#writing && !this.#flushScheduled) this.#destroy();
  }

  #append(opcode: number, payload: Uint8Array): void {
    const length = payload.length;
    const header = frameHeaderBytes(length);
    const needed = this.#outLength + header + length;
    if (needed > this.#out.length) {
      const grown = new Uint8Array(Math.max(needed, this.#out.length * 2));
      grown.set(this.#out.subarray(0, this.#outLength));
      this.#out = grown;
    }
    writeFrameHeader(this.#out, this.#outLength, opcode, length);
    this.#out.set(payload, this.#outLength + header);
    this.#outLength = needed;
    this.#outMessages++;
    if (!this.#writing && !this.#flushScheduled) {
      this.#flushScheduled = true;
      // Deferred so every frame queued in this turn of the event loop shares one write.
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  async #flush(): Promise<void> {
    if (this.#writing || this.#destroyed) return;
    this.#writing = true;
    try {
      while (this.#outLength > 0 && !this.#destroyed) {
        const buffer = this.#out;
        const chunk = buffer.subarray(0, this.#outLength);
        this.#inflightBytes = chunk.length;
        this.#inflightMessages = this.#outMessages;
        this.#out = this.#spare ?? new Uint8Array(INITIAL_OUT_BYTES);
        this.#spare = undefined;
        this.#outLength = 0;
        this.#outMessages = 0;
        let offset = 0;
        while (offset < chunk.length) {
          offset += await this.#conn.write(chunk.subarray(offset));
          this.#inflightBytes = chunk.length - offset;
        }
        this.#inflightMessages = 0;
        this.#spare = buffer.length > KEEP_OUT_BYTES ? new Uint8Array(INITIAL_OUT_BYTES) : buffer;
      }
    } catch {
      this.#destroy();
    } finally {
      this.#writing = false;
      this.#inflightBytes = 0;
      this.#inflightMessages = 0;
    }
    if (this.#closeSent && this.#closeReceived) this.#destroy();
  }

  #destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#closeTimer);
    this.#outLength = 0;
    this.#outMessages = 0;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after an error; nothing left to release.
    }
    this.#resolveClosed(this.#closeInfo ?? { code: 1006, reason: "", by: "network" });
  }
}

/**
 * Close codes a peer may put in a close frame (RFC 6455 §7.4): 1000–1003,
 * 1007–1014 (IANA's registry), and 3000–4999 for libraries and applications.
 * 1004–1006 and 1015 must never be sent; the rest is reserved.
 */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}
