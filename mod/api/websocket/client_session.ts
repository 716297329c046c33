/**
 * One client of the WebSocket API speaking Zeek's v1 JSON protocol: the
 * first text message subscribes (checked against the token's prefixes),
 * the ack follows once the forwarder confirmed the subscriptions, and after
 * it every message is a data message published on the bus under the
 * client's own id.
 *
 * @module
 */

import {
  ByteWriter,
  decodeJsonEvent,
  encodeEvent,
  type EventTypesLookup,
  jsonToEvent,
  parseBrokerJson,
} from "../../codec/mod.ts";
import type { Bus } from "../../bus/mod.ts";
import { T } from "../../../zeek/mod.ts";
import type { WebSocketConnection } from "./connection.ts";
import type { ApplicationCounters, WebSocketCounters } from "./counters.ts";
import { CLOSE_CODE } from "./frames.ts";
import type { WebSocketClientInfo } from "./options.ts";
import { allowedBy, type TokenGrant } from "./tokens.ts";

/*
 * What clients can make the server keep is bounded. A subscription costs far
 * more than its text: libzmq keeps every prefix in tries of one allocation
 * per byte, about 35 bytes per byte in each trie, and a client's prefixes go
 * into the tries of the manager's forwarder, of the API's bus connection,
 * and of every node's XPUB (measured: 10 MB of prefixes grew the manager by
 * 1.4 GB and each worker by 300 MB). Their number is bounded too: 950,000
 * subscriptions in one burst made libzmq 4.3 abort the manager (its
 * assertion `_input_stopped`, libzmq issue 3937).
 */
/** Topic prefixes one client may subscribe to. */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 10_000;
/** Characters of one subscribed prefix (Zeek's topics are tens). */
export const MAX_SUBSCRIPTION_LENGTH = 1024;
/** Characters of all of one client's prefixes together. */
export const MAX_SUBSCRIPTION_CHARS_PER_CLIENT = 256 * 1024;
/** Prefixes of all clients together. */
export const MAX_SUBSCRIPTIONS_TOTAL = 100_000;
/** Characters of the prefixes of all clients together. */
export const MAX_SUBSCRIPTION_CHARS_TOTAL = 1024 * 1024;

/** The prefixes the server holds for all its clients, counted in `counters`. */
export class SubscriptionBudget {
  constructor(readonly counters: WebSocketCounters) {}

  /** Reserves a client's prefixes; when they do not fit, nothing is reserved and the reason returned. */
  take(prefixes: number, chars: number): string | undefined {
    const c = this.counters;
    if (c.subscriptions + prefixes > MAX_SUBSCRIPTIONS_TOTAL) {
      return `the server holds ${c.subscriptions} subscriptions for its clients, at most ` +
        `${MAX_SUBSCRIPTIONS_TOTAL}: ${prefixes} more do not fit`;
    }
    if (c.subscriptionChars + chars > MAX_SUBSCRIPTION_CHARS_TOTAL) {
      return `the server holds ${c.subscriptionChars} characters of subscriptions for its clients, ` +
        `at most ${MAX_SUBSCRIPTION_CHARS_TOTAL}: ${chars} more do not fit`;
    }
    c.subscriptions += prefixes;
    c.subscriptionChars += chars;
    return undefined;
  }

  give(prefixes: number, chars: number): void {
    this.counters.subscriptions -= prefixes;
    this.counters.subscriptionChars -= chars;
  }
}

/** What a session needs from its server. */
export interface SessionContext {
  readonly bus: Bus;
  readonly events: EventTypesLookup;
  readonly writer: ByteWriter;
  readonly counters: WebSocketCounters;
  readonly version: string;
  readonly subscribeTimeoutMs: number;
  readonly forwardUndeclaredEvents: boolean;
  /** Shared by all sessions of the server. */
  readonly subscriptionBudget: SubscriptionBudget;
  /** Called once the client is acknowledged: from then on it receives events. */
  readonly activate: (session: ClientSession) => void;
}

/** Where a session stands. */
export type SessionState =
  /** Waiting for the JSON array of subscriptions. */
  | "awaiting-subscriptions"
  /** Subscriptions sent to the forwarder, ack not yet sent. */
  | "subscribing"
  /** Acknowledged: publishes and receives. */
  | "active"
  /** The subscription message was refused; Zeek leaves such a client open and never acks it. */
  | "refused";

const encoder = new TextEncoder();
const ANY = T.any;
/**
 * Text in which plain `JSON.parse` could lose something broker-json-v1
 * cares about: a number with a fraction or exponent (`3.0` is not a
 * count) or with 16 or more digits (beyond 2^53). A match inside a string
 * only costs the slower exact parse.
 */
const NEEDS_EXACT_PARSE = /[0-9][.eE]|[0-9]{16}/;

/** The server side of one acknowledged-or-not client. */
export class ClientSession {
  readonly id: string;
  readonly idBytes: Uint8Array;
  readonly application: string;
  readonly app: ApplicationCounters;
  readonly grant: TokenGrant | undefined;
  readonly connection: WebSocketConnection;
  #context: SessionContext;
  #state: SessionState = "awaiting-subscriptions";
  #subscriptions: readonly string[] = [];
  #busSubscriptions: string[] = [];
  /** What `#busSubscriptions` took from the server's budget. */
  #held = { prefixes: 0, chars: 0 };
  #left = false;

  constructor(
    context: SessionContext,
    connection: WebSocketConnection,
    id: string,
    application: string,
    grant: TokenGrant | undefined,
  ) {
    this.#context = context;
    this.connection = connection;
    this.id = id;
    this.idBytes = encoder.encode(id);
    this.application = application;
    this.app = context.counters.application(application);
    this.grant = grant;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The prefixes the client subscribed to (as it sent them, duplicates removed). */
  get subscriptions(): readonly string[] {
    return this.#subscriptions;
  }

  info(): WebSocketClientInfo {
    return Object.freeze({
      id: this.id,
      application: this.application,
      remoteAddress: this.connection.remoteAddress,
      tokenName: this.grant?.name,
      subscriptions: this.#subscriptions,
    });
  }

  /** Handles one message from the client. */
  onText = (text: string): void | Promise<void> => {
    switch (this.#state) {
      case "active":
        this.#publish(text);
        return;
      case "awaiting-subscriptions":
        return this.#subscribe(text);
      default:
        // Zeek reads nothing more from a client it has not acknowledged.
        return;
    }
  };

  /**
   * Queues a data message (UTF-8 bytes, copied). Returns false when the
   * client's queue is full, i.e. the client is too slow.
   */
  deliver(text: Uint8Array): boolean {
    if (this.connection.sendText(text)) {
      this.#context.counters.messagesOut++;
      this.app.messagesOut++;
      return true;
    }
    return this.connection.closing;
  }

  /** Sends `{"type":"error","code":…,"context":…}`. */
  sendError(code: string, context: string): void {
    this.#context.counters.error(code, this.app);
    this.connection.sendText(encoder.encode(JSON.stringify({ type: "error", code, context })));
  }

  async #subscribe(text: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) {
      this.#state = "refused";
      this.sendError("deserialization_failed", "subscriptions not an array");
      return;
    }
    if (parsed.some((item) => typeof item !== "string")) {
      this.#state = "refused";
      this.sendError("deserialization_failed", "individual subscription not a string");
      return;
    }
    const prefixes = [...new Set(parsed as string[])];
    // What a client can make the server (and the forwarder) keep is bounded.
    const long = prefixes.find((p) => p.length > MAX_SUBSCRIPTION_LENGTH);
    const chars = prefixes.reduce((n, p) => n + p.length, 0);
    const tooMuch = prefixes.length > MAX_SUBSCRIPTIONS_PER_CLIENT
      ? `${prefixes.length} subscriptions; a client may have at most ${MAX_SUBSCRIPTIONS_PER_CLIENT}`
      : long !== undefined
      ? `a subscription of ${long.length} characters; at most ${MAX_SUBSCRIPTION_LENGTH}`
      : chars > MAX_SUBSCRIPTION_CHARS_PER_CLIENT
      ? `subscriptions of ${chars} characters in all; a client may have at most ${MAX_SUBSCRIPTION_CHARS_PER_CLIENT}`
      : undefined;
    if (tooMuch !== undefined) {
      this.#refuseSubscriptions(
        tooMuch,
        CLOSE_CODE.policyViolation,
        "Too many or too long subscriptions",
      );
      return;
    }
    const forbidden = prefixes.filter((p) => !allowedBy(this.grant?.subscribe, p));
    if (forbidden.length > 0) {
      this.#state = "refused";
      const allowed = this.grant?.subscribe ?? [];
      this.sendError(
        "forbidden",
        `subscription ${forbidden.map((p) => JSON.stringify(p)).join(", ")} not allowed for ` +
          `token "${this.grant?.name}"; it may subscribe only under ${
            allowed.length === 0
              ? "no prefix at all"
              : allowed.map((p) => JSON.stringify(p)).join(", ")
          }`,
      );
      this.#context.counters.disconnects.forbidden_subscription++;
      this.connection.close(CLOSE_CODE.policyViolation, "Forbidden subscription");
      return;
    }
    const full = this.#context.subscriptionBudget.take(prefixes.length, chars);
    if (full !== undefined) {
      this.#refuseSubscriptions(
        `${full}; try again later`,
        CLOSE_CODE.tryAgainLater,
        "Subscriptions of all clients at their limit",
      );
      return;
    }
    this.#held = { prefixes: prefixes.length, chars };
    this.#state = "subscribing";
    this.#subscriptions = Object.freeze(prefixes);
    const bus = this.#context.bus;
    for (const prefix of prefixes) {
      bus.subscribe(prefix);
      this.#busSubscriptions.push(prefix);
    }
    try {
      await bus.ready(this.#context.subscribeTimeoutMs);
    } catch (error) {
      if (this.#left) return;
      this.#context.counters.disconnects.subscribe_failed++;
      this.connection.close(
        CLOSE_CODE.internalError,
        `Subscribing failed: ${error instanceof Error ? error.message : error}`,
      );
      return;
    }
    if (this.#left || this.connection.closing) return;
    this.#state = "active";
    this.#context.activate(this);
    this.connection.sendText(
      encoder.encode(
        JSON.stringify({ type: "ack", endpoint: this.id, version: this.#context.version }),
      ),
    );
  }

  #refuseSubscriptions(context: string, code: number, reason: string): void {
    this.#state = "refused";
    this.sendError("subscription_limit", context);
    this.#context.counters.disconnects.subscription_limit++;
    this.connection.close(code, reason);
  }

  #publish(text: string): void {
    const context = this.#context;
    context.counters.messagesIn++;
    this.app.messagesIn++;
    let message: unknown = text;
    if (!NEEDS_EXACT_PARSE.test(text)) {
      // Four times faster than the source-keeping parse, and exact for this text.
      try {
        message = JSON.parse(text);
      } catch {
        message = text;
      }
    }
    const result = decodeJsonEvent(message, context.events);
    const writer = context.writer;
    writer.reset();
    let topic: string;
    if (result.ok) {
      topic = result.topic;
      if (!this.#mayPublish(topic)) return;
      try {
        encodeEvent(
          writer,
          result.name,
          result.args,
          context.events(result.name)!,
          result.metadata,
        );
      } catch {
        this.sendError("deserialization_failed", "failed to create Zeek event");
        return;
      }
    } else if (
      context.forwardUndeclaredEvents && result.error.context === "failed to create Zeek event"
    ) {
      const undeclared = this.#undeclared(text);
      if (undeclared === undefined) {
        this.sendError(result.error.code, result.error.context);
        return;
      }
      topic = undeclared;
      if (!this.#mayPublish(topic)) return;
    } else {
      this.sendError(result.error.code, result.error.context);
      return;
    }
    if (!context.bus.publishAs(this.idBytes, topic, writer.bytes())) {
      context.counters.publishDrops++;
    }
  }

  /** Encodes an event nobody declared, untyped, into the writer; returns its topic. */
  #undeclared(text: string): string | undefined {
    try {
      const parsed = parseBrokerJson(text) as { topic: string };
      const event = jsonToEvent(parsed, () => undefined);
      if (this.#context.events(event.name) !== undefined) return undefined;
      encodeEvent(
        this.#context.writer,
        event.name,
        event.args,
        event.args.map(() => ANY),
        event.metadata,
      );
      return parsed.topic;
    } catch {
      return undefined;
    }
  }

  #mayPublish(topic: string): boolean {
    if (allowedBy(this.grant?.publish, topic)) return true;
    const allowed = this.grant?.publish ?? [];
    this.sendError(
      "forbidden",
      `publishing to ${JSON.stringify(topic)} not allowed for token "${this.grant?.name}"; ` +
        `it may publish only under ${
          allowed.length === 0
            ? "no prefix at all"
            : allowed.map((p) => JSON.stringify(p)).join(", ")
        }`,
    );
    return false;
  }

  /** Drops the client's bus subscriptions. Idempotent. */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    for (const prefix of this.#busSubscriptions) this.#context.bus.unsubscribe(prefix);
    this.#busSubscriptions = [];
    this.#context.subscriptionBudget.give(this.#held.prefixes, this.#held.chars);
    this.#held = { prefixes: 0, chars: 0 };
  }
}
