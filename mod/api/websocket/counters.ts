/**
 * What the WebSocket API counts, as plain numbers for the metrics module:
 * per application (`X-Application-Name`, Zeek's `app` label) and in total.
 *
 * @module
 */

/** Distinct application names counted separately; later ones share `OTHER_APPLICATION`. */
export const MAX_APPLICATION_LABELS = 64;
/** The label of applications beyond `MAX_APPLICATION_LABELS`, so clients cannot grow the metric set. */
export const OTHER_APPLICATION = "_other";

/** Counters of one application name. */
export interface ApplicationCounters {
  /** Clients of this application connected now (after the upgrade). */
  connectionsOpen: number;
  /** Clients of this application ever upgraded. */
  connectionsTotal: number;
  /** Data messages received from its clients. */
  messagesIn: number;
  /** Data messages sent to its clients. */
  messagesOut: number;
  /** Error messages sent to its clients. */
  errors: number;
}

/** Why a connection was refused before the upgrade (HTTP status sent). */
export type RejectReason =
  | "bad_request"
  | "unauthorized"
  | "connection_limit"
  | "handshake_timeout";

/** Why the server closed an upgraded connection. */
export type DisconnectReason =
  | "slow_client"
  | "ping_timeout"
  | "invalid_uri"
  | "invalid_application_name"
  | "forbidden_subscription"
  | "subscription_limit"
  | "subscribe_failed"
  | "protocol_error"
  | "shutdown";

/** A copy of every counter, safe to keep. */
export interface WebSocketCountersSnapshot {
  readonly connectionsOpen: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Error messages sent, by `code`. */
  readonly errors: Readonly<Record<string, number>>;
  readonly rejected: Readonly<Record<RejectReason, number>>;
  readonly disconnects: Readonly<Record<DisconnectReason, number>>;
  /** Client publications the bus dropped at its high-water mark. */
  readonly publishDrops: number;
  /** Bus messages for clients that could not be turned into JSON. */
  readonly outboundErrors: number;
  /** Topic prefixes held for the clients now, and their characters (bounded: see `SubscriptionBudget`). */
  readonly subscriptions: number;
  readonly subscriptionChars: number;
  readonly applications: Readonly<Record<string, Readonly<ApplicationCounters>>>;
}

/** The live counters of one server. */
export class WebSocketCounters {
  connectionsOpen = 0;
  messagesIn = 0;
  messagesOut = 0;
  publishDrops = 0;
  outboundErrors = 0;
  subscriptions = 0;
  subscriptionChars = 0;
  readonly errors = new Map<string, number>();
  readonly rejected: Record<RejectReason, number> = {
    bad_request: 0,
    unauthorized: 0,
    connection_limit: 0,
    handshake_timeout: 0,
  };
  readonly disconnects: Record<DisconnectReason, number> = {
    slow_client: 0,
    ping_timeout: 0,
    invalid_uri: 0,
    invalid_application_name: 0,
    forbidden_subscription: 0,
    subscription_limit: 0,
    subscribe_failed: 0,
    protocol_error: 0,
    shutdown: 0,
  };
  readonly #applications = new Map<string, ApplicationCounters>();

  /** The counters of `application`, created on first use. */
  application(application: string): ApplicationCounters {
    let counters = this.#applications.get(application);
    if (counters === undefined) {
      if (this.#applications.size >= MAX_APPLICATION_LABELS) {
        return application === OTHER_APPLICATION
          ? this.#create(OTHER_APPLICATION)
          : this.application(OTHER_APPLICATION);
      }
      counters = this.#create(application);
    }
    return counters;
  }

  #create(application: string): ApplicationCounters {
    const existing = this.#applications.get(application);
    if (existing !== undefined) return existing;
    const counters = {
      connectionsOpen: 0,
      connectionsTotal: 0,
      messagesIn: 0,
      messagesOut: 0,
      errors: 0,
    };
    this.#applications.set(application, counters);
    return counters;
  }

  /** Counts an error message sent with `code`. */
  error(code: string, application: ApplicationCounters | undefined): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    if (application !== undefined) application.errors++;
  }

  snapshot(): WebSocketCountersSnapshot {
    const applications: Record<string, Readonly<ApplicationCounters>> = {};
    for (const [name, counters] of this.#applications) {
      applications[name] = Object.freeze({ ...counters });
    }
    return Object.freeze({
      connectionsOpen: this.connectionsOpen,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      errors: Object.freeze(Object.fromEntries(this.errors)),
      rejected: Object.freeze({ ...this.rejected }),
      disconnects: Object.freeze({ ...this.disconnects }),
      publishDrops: this.publishDrops,
      outboundErrors: this.outboundErrors,
      subscriptions: this.subscriptions,
      subscriptionChars: this.subscriptionChars,
      applications: Object.freeze(applications),
    });
  }
}
