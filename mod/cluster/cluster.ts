/**
 * The cluster as one node sees it: its bus connection, the typed events it
 * knows, Zeek's hello handshake that raises `Cluster::node_up` and
 * `Cluster::node_down`, and the pools. Role runners and site scripts talk
 * to the cluster only through this object.
 *
 * @module
 */

import type { Layout, NodeSpec, NodeType } from "../../config/mod.ts";
import { ByteWriter, decodeEvent, encodeEvent } from "../codec/mod.ts";
import {
  type Bus,
  type BusMessage,
  type EventHandler,
  EventRegistry,
  FORMAT_BROKER_BIN,
  ForwarderTimeoutError,
  nodeIdFromTopic,
  nodeIdTopic,
  nodeTopic,
  nodeTypeTopic,
  POOL_TOPICS,
} from "../bus/mod.ts";
import { quoteUntrusted, type Reporter, ReportLimiter } from "../process/mod.ts";
import { T, type ZeekType, type ZeekValue } from "../../zeek/mod.ts";
import { Pool, type PoolSpec } from "./pools.ts";

/** The handshake events, whose id must be their sender's. */
const HELLOS = new Set(["Cluster::hello", "Cluster::Backend::ZeroMQ::hello"]);

/** How long a node waits for the forwarder before saying so (and waiting on). */
export const FORWARDER_WAIT_MS = 10_000;

/** Zeek's `hello_expiration`: a half-finished handshake is reported after this long. */
export const DEFAULT_HELLO_EXPIRATION_MS = 10_000;

const CLUSTER_EVENTS: readonly (readonly [string, readonly (readonly [string, ZeekType])[]])[] = [
  ["Cluster::hello", [["name", T.string], ["id", T.string]]],
  ["Cluster::Backend::ZeroMQ::hello", [["name", T.string], ["id", T.string]]],
  ["Cluster::node_up", [["name", T.string], ["id", T.string]]],
  ["Cluster::node_down", [["name", T.string], ["id", T.string]]],
  // zeekctl's netstats, as Zeek's Control framework names them.
  ["Control::net_stats_request", []],
  ["Control::net_stats_response", [["s", T.string]]],
  // zeekctl's print <id>.
  ["Control::id_value_request", [["id", T.string]]],
  ["Control::id_value_response", [["id", T.string], ["val", T.string]]],
];

/** A peer as this node knows it. */
export interface PeerState {
  readonly name: string;
  readonly type: NodeType;
  /** Set while the peer is up (Zeek's `Cluster::nodes[name]$id`). */
  readonly id: string | undefined;
}

/** Where the hello handshake with one peer id stands. */
interface Handshake {
  /** When the first half arrived (subscription notice or ZeroMQ hello). */
  startedAt: number;
  /** Our XPUB has seen the peer subscribe to its node id topic. */
  subscribed: boolean;
  /** The node name from the peer's `Cluster::Backend::ZeroMQ::hello`. */
  zmqHelloFrom: string | undefined;
}

export interface ClusterOptions {
  readonly layout: Layout;
  readonly self: NodeSpec;
  readonly nodeId: string;
  readonly bus: Bus;
  readonly reporter: Reporter;
  /**
   * Looks up a node missing from `layout` (one `weir deploy` added while
   * this node ran), so its hello is accepted without a restart.
   */
  readonly lookupNode?: (name: string) => Promise<NodeSpec | undefined>;
}

/** A node's view of the cluster. */
export class Cluster implements Disposable {
  readonly layout: Layout;
  readonly self: NodeSpec;
  readonly nodeId: string;
  readonly events: EventRegistry;
  readonly pools: ReadonlyMap<string, Pool>;
  /** Counters for metrics: events that failed to decode, events with an unexpected format. */
  readonly counters = { decodeErrors: 0, formatErrors: 0, unknownEvents: 0, forgedHellos: 0 };
  #bus: Bus;
  #reporter: Reporter;
  /** Reports of what other nodes sent: quoted, cut and rate-limited. */
  readonly #untrusted: ReportLimiter;
  #clusterLog: ((message: string) => void) | undefined;
  readonly #ids = new Map<string, () => unknown>();
  #lookupNode: ((name: string) => Promise<NodeSpec | undefined>) | undefined;
  #writer = new ByteWriter();
  #peers = new Map<string, { type: NodeType; id: string | undefined }>();
  /** When each peer that is not up went down, or this node met it (epoch ms). */
  #downSince = new Map<string, number>();
  #idToName = new Map<string, string>();
  #handshakes = new Map<string, Handshake>();
  /** A second id that said hello for a node that is up, by node name. */
  #waitingHellos = new Map<string, string>();
  #expiryTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ClusterOptions) {
    this.layout = options.layout;
    this.self = options.self;
    this.nodeId = options.nodeId;
    this.#bus = options.bus;
    this.#reporter = options.reporter;
    this.#untrusted = new ReportLimiter(options.reporter);
    this.#lookupNode = options.lookupNode;
    this.events = new EventRegistry((name, error) =>
      this.#reporter.error(
        `Handler of ${name} failed: ${
          error instanceof Error ? error.stack ?? error.message : error
        }`,
      )
    );
    for (const [name, args] of CLUSTER_EVENTS) this.events.declare(name, args);
    for (const node of this.layout.nodes) {
      if (node.name !== this.self.name) {
        this.#peers.set(node.name, { type: node.type, id: undefined });
        this.#downSince.set(node.name, Date.now());
      }
    }
    this.pools = this.#createPools();
    this.events.on(
      "Cluster::Backend::ZeroMQ::hello",
      (name, id) => this.#onZmqHello(String(name), String(id)),
    );
    this.events.on("Cluster::hello", (name, id) => this.#onHello(String(name), String(id)));
    this.events.on("Control::id_value_request", (id) => this.#answerIdRequest(String(id)));
    this.exportId("Cluster::node", () => this.self.name);
    this.exportId("Cluster::local_node_type", () => this.self.type);
    this.exportId("Cluster::node_id", () => this.nodeId);
    this.exportId("Site::local_nets", () => this.layout.localNets.map((n) => n.cidr));
    this.exportId("Cluster::nodes", () => Object.fromEntries(this.peers().map((p) => [p.name, p])));
    this.#bus.onMessage((message) => this.#onMessage(message));
    this.#bus.onSubscriptionChange((topic, subscribed) =>
      this.#onSubscriptionChange(topic, subscribed)
    );
  }

  #createPools(): Map<string, Pool> {
    const specs: [string, PoolSpec][] = [
      ["proxy", { topic: POOL_TOPICS.proxy, nodeType: "proxy" }],
      ["worker", { topic: POOL_TOPICS.worker, nodeType: "worker" }],
      ["logger", { topic: POOL_TOPICS.logger, nodeType: "logger" }],
    ];
    const pools = new Map<string, Pool>();
    for (const [name, spec] of specs) {
      const pool = new Pool(spec);
      const members = this.layout.nodes.filter((n) =>
        n.type === spec.nodeType ||
        (name === "logger" && n.type === "manager" && this.layout.managerIsLogger)
      ).map((n) => n.name).sort();
      for (const member of members) pool.add(member, member === this.self.name);
      pools.set(name, pool);
    }
    return pools;
  }

  /**
   * Joins the cluster: subscribes to Zeek's per-node topics (pools, type,
   * node id, node name) and waits until the forwarder confirmed them.
   */
  async start(signal?: AbortSignal): Promise<void> {
    this.#bus.start();
    for (const pool of this.pools.values()) {
      if (pool.has(this.self.name)) this.#bus.subscribe(pool.spec.topic);
    }
    this.#bus.subscribe(nodeTypeTopic(this.self.type));
    this.#bus.subscribe(nodeIdTopic(this.nodeId));
    this.#bus.subscribe(nodeTopic(this.self.name));
    // An unreachable manager is waited for (it may start later, or its link
    // be down); the node says so every FORWARDER_WAIT_MS and stops on `signal`.
    // A stop while waiting ends the wait at once: the node then stops as usual.
    const stopped = new Promise<"stopped">((resolve) => {
      if (signal?.aborted) resolve("stopped");
      signal?.addEventListener("abort", () => resolve("stopped"), { once: true });
    });
    for (let waited = 0;; waited += FORWARDER_WAIT_MS) {
      const ready = this.#bus.ready(FORWARDER_WAIT_MS).then(() => "ready" as const);
      ready.catch(() => {});
      try {
        if (await Promise.race([ready, stopped]) === "stopped") return;
        break;
      } catch (error) {
        if (!(error instanceof ForwarderTimeoutError)) throw error;
        const { address, xpubPort } = this.layout.forwarder;
        this.#reporter.warning(
          `the manager's forwarder at ${address}:${xpubPort} has not answered for ${
            (waited + FORWARDER_WAIT_MS) / 1000
          } s; still trying (is the manager running, and the link up?)`,
        );
      }
    }
    this.#expiryTimer = setInterval(() => this.#expireHandshakes(), 1000);
  }

  /**
   * Makes `id` answerable to `weir print <id>` (zeekctl's print); `value`
   * is read at the time of the question.
   */
  exportId(id: string, value: () => unknown): void {
    this.#ids.set(id, value);
  }

  /** `<node>: <value as JSON>`, as `weir print` shows it. */
  idValue(id: string): string {
    const value = this.#ids.get(id);
    let text: string;
    try {
      text = value === undefined ? "<unknown id>" : JSON.stringify(value()) ?? "<unset>";
    } catch (error) {
      text = `<error: ${error instanceof Error ? error.message : error}>`;
    }
    return `${this.self.name}: ${text}`;
  }

  #answerIdRequest(id: string): void {
    const manager = nodeTopic(this.layout.manager.name);
    this.publish(manager, "Control::id_value_response", id, this.idValue(id));
  }

  /** Where the lines Zeek writes to cluster.log go ("got hello from …"). */
  logTo(write: (message: string) => void): void {
    this.#clusterLog = write;
  }

  /** Declares an event with its argument types (Zeek's `global e: event(...)`). */
  declare(name: string, args: readonly (readonly [string, ZeekType])[]): void {
    this.events.declare(name, args);
  }

  /** Adds a local handler for `name`; it runs for local raises and remote events alike. */
  on(name: string, handler: EventHandler): void {
    this.events.on(name, handler);
  }

  /** Runs the local handlers of `name` (Zeek's `event name(args)`). */
  raise(name: string, ...args: ZeekValue[]): void {
    this.events.dispatch(name, args);
  }

  /**
   * Publishes a declared event to `topic` (Zeek's `Cluster::publish`).
   * Returns false when the bus dropped it (high-water mark).
   */
  publish(topic: string, name: string, ...args: ZeekValue[]): boolean {
    const declaration = this.events.lookup(name);
    if (declaration === undefined) {
      throw new TypeError(`Cannot publish "${name}": the event is not declared; declare it first`);
    }
    if (args.length !== declaration.argTypes.length) {
      throw new TypeError(
        `Cannot publish "${name}": it takes ${declaration.argTypes.length} arguments, got ${args.length}`,
      );
    }
    this.#writer.reset();
    encodeEvent(this.#writer, name, args, declaration.argTypes);
    return this.#bus.publish(topic, this.#writer.bytes());
  }

  /** Publishes to the pool member that wins `key` by HRW; false when no member is alive. */
  publishHrw(pool: string, key: string, name: string, ...args: ZeekValue[]): boolean {
    const topic = this.#pool(pool).hrwTopic(key);
    return topic !== undefined && this.publish(topic, name, ...args);
  }

  /** Publishes to the next live pool member for `key` in round-robin order. */
  publishRr(pool: string, key: string, name: string, ...args: ZeekValue[]): boolean {
    const topic = this.#pool(pool).rrTopic(key);
    return topic !== undefined && this.publish(topic, name, ...args);
  }

  #pool(name: string): Pool {
    const pool = this.pools.get(name);
    if (pool === undefined) {
      throw new RangeError(`Cannot use pool "${name}": no such pool (proxy, worker, logger)`);
    }
    return pool;
  }

  subscribe(prefix: string): boolean {
    return this.#bus.subscribe(prefix);
  }

  unsubscribe(prefix: string): boolean {
    return this.#bus.unsubscribe(prefix);
  }

  /** Every other node of the layout with its state. */
  peers(): PeerState[] {
    return [...this.#peers].map(([name, p]) => ({ name, type: p.type, id: p.id }));
  }

  /**
   * Since when (epoch ms) the peer `name` is not up: since it went down, or
   * since this node met it (its start, or the deploy that added the peer).
   * Undefined while the peer is up, and for names not in the layout.
   */
  downSince(name: string): number | undefined {
    return this.#downSince.get(name);
  }

  /** The name of the node with bus id `id`, while it is up. */
  nodeIdToNode(id: string): string | undefined {
    return this.#idToName.get(id);
  }

  #onMessage(message: BusMessage): void {
    if (message.format !== FORMAT_BROKER_BIN) {
      this.counters.formatErrors++;
      this.#untrusted.warning(
        "bus messages in unsupported formats",
        () =>
          `Dropped a message from ${quoteUntrusted(message.sender)} in unsupported format ${
            quoteUntrusted(message.format)
          }`,
      );
      return;
    }
    let event;
    try {
      event = decodeEvent(message.payload, this.events.argTypes);
    } catch (error) {
      this.counters.decodeErrors++;
      this.#untrusted.warning(
        "malformed bus events",
        () =>
          `Dropped a malformed event from ${quoteUntrusted(message.sender)} on ${
            quoteUntrusted(message.topic)
          }: ${quoteUntrusted(error instanceof Error ? error.message : String(error), 200)}`,
      );
      return;
    }
    if (this.events.lookup(event.name) === undefined) this.counters.unknownEvents++;
    if (HELLOS.has(event.name) && !this.#helloIsFromItsNode(event.args, message.sender)) return;
    this.events.dispatch(event.name, event.args);
  }

  /**
   * A hello speaks for the node that sent it: its id is the message's sender
   * id (as every Zeek node sends it), and on a closed bus, where the
   * forwarder binds sender ids to keys, that id is the named node's.
   */
  #helloIsFromItsNode(args: readonly ZeekValue[], sender: string): boolean {
    const [name, id] = args;
    const ok = id === sender &&
      (!this.layout.closedBus || String(id).startsWith(`zeromq_${String(name)}_`));
    if (!ok) {
      this.counters.forgedHellos++;
      this.#untrusted.warning(
        "forged hellos",
        () =>
          `Dropped a hello naming ${quoteUntrusted(String(name))} (${
            quoteUntrusted(String(id))
          }) that ${quoteUntrusted(sender)} sent`,
      );
    }
    return ok;
  }

  #onSubscriptionChange(topic: string, subscribed: boolean): void {
    const id = nodeIdFromTopic(topic);
    if (id === undefined || id === this.nodeId) return;
    if (subscribed) {
      // Every notice gets our hello, repeated ones too: after an outage the
      // forwarder replays subscriptions this node already knew, and the
      // peer that lost us learns of us again only from this hello (Zeek's
      // ZeroMQ backend does the same).
      this.#handshake(id).subscribed = true;
      this.publish(nodeIdTopic(id), "Cluster::Backend::ZeroMQ::hello", this.self.name, this.nodeId);
      this.#continueHandshake(id);
      return;
    }
    this.#handshakes.delete(id);
    const name = this.#idToName.get(id);
    if (name !== undefined) this.#nodeDown(name, id);
  }

  #onZmqHello(name: string, id: string): void {
    // A hello from a node that is up under this id is not ignored: the peer
    // lost us (its link broke and came back) and needs our Cluster::hello.
    // The peer may say hello before its subscription notice reaches us; we
    // answer only once our XPUB knows the subscription, or the answer would
    // be dropped for want of a subscriber.
    this.#handshake(id).zmqHelloFrom = name;
    this.#continueHandshake(id);
  }

  #handshake(id: string): Handshake {
    let handshake = this.#handshakes.get(id);
    if (handshake === undefined) {
      handshake = {
        startedAt: performance.now(),
        subscribed: false,
        zmqHelloFrom: undefined,
      };
      this.#handshakes.set(id, handshake);
    }
    return handshake;
  }

  #continueHandshake(id: string): void {
    const handshake = this.#handshakes.get(id);
    if (handshake === undefined) return;
    if (!handshake.subscribed || handshake.zmqHelloFrom === undefined) return;
    // Done: as in Zeek, a later subscription notice for the id (the peer
    // reconnected after an outage) starts the handshake again.
    this.#handshakes.delete(id);
    this.publish(nodeIdTopic(id), "Cluster::hello", this.self.name, this.nodeId);
  }

  #onHello(name: string, id: string): void {
    const peer = this.#peers.get(name);
    if (peer === undefined) {
      void this.#onUnknownHello(name, id);
      return;
    }
    if (peer.id === id) return;
    if (peer.id !== undefined) {
      // The node's old id is still subscribed, so its connection lives: a
      // second process claims the name (a forged hello, or a restart that
      // outran the old connection's end). The new id waits until the old
      // one goes down, instead of the live node being dropped.
      if (this.#waitingHellos.get(name) !== id) {
        this.#untrusted.warning(
          "second hellos",
          () =>
            `Node "${name}" said hello with a second id ${quoteUntrusted(id)} while ${
              quoteUntrusted(peer.id!)
            } is still up; it is taken up only once the old one goes down`,
        );
      }
      this.#waitingHellos.set(name, id);
      return;
    }
    this.#waitingHellos.delete(name);
    peer.id = id;
    this.#downSince.delete(name);
    this.#idToName.set(id, name);
    for (const pool of this.pools.values()) pool.setAlive(name, true);
    this.#reporter.debug(`got hello from ${name} (${id})`);
    this.#clusterLog?.(`got hello from ${name} (${id})`);
    this.events.dispatch("Cluster::node_up", [name, id]);
  }

  async #onUnknownHello(name: string, id: string): Promise<void> {
    const node = await this.#lookupNode?.(name).catch(() => undefined);
    if (node === undefined || node.name === this.self.name) {
      this.#reporter.error(
        `Got hello from unknown node "${name}" (${id}); it is not in the layout`,
      );
      return;
    }
    if (!this.#peers.has(name)) {
      this.#peers.set(name, { type: node.type, id: undefined });
      this.#downSince.set(name, Date.now());
      for (const pool of this.pools.values()) {
        if (pool.spec.nodeType === node.type) pool.add(name, false);
      }
      this.#reporter.info(`${name} joined the layout (${node.type})`);
    }
    this.#onHello(name, id);
  }

  #nodeDown(name: string, id: string): void {
    const peer = this.#peers.get(name);
    this.#idToName.delete(id);
    if (peer === undefined || peer.id !== id) return;
    peer.id = undefined;
    this.#downSince.set(name, Date.now());
    for (const pool of this.pools.values()) pool.setAlive(name, false);
    this.events.dispatch("Cluster::node_down", [name, id]);
    const waiting = this.#waitingHellos.get(name);
    if (waiting !== undefined && this.#handshakes.get(waiting)?.subscribed) {
      this.#onHello(name, waiting);
    }
  }

  #expireHandshakes(): void {
    const now = performance.now();
    for (const [id, h] of this.#handshakes) {
      if (now - h.startedAt > DEFAULT_HELLO_EXPIRATION_MS) {
        // A repeat from a node that is up (a replayed subscription) is no news.
        if (!this.#idToName.has(id)) {
          this.#untrusted.warning(
            "expired hello handshakes",
            () => `Expired half-finished hello handshake with ${quoteUntrusted(id)}`,
          );
        }
        this.#handshakes.delete(id);
      }
    }
  }

  /** Stops the handshake timer. The bus belongs to the caller. Idempotent. */
  close(): void {
    clearInterval(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
