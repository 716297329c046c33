/**
 * The manager's end of the agent channel: a ROUTER socket on ZeekPort+2 of
 * the manager's address, CURVE always (the forwarder's key). Agents enrol
 * with a one-time token, then report their nodes every HeartbeatInterval
 * and at once when one changes; the manager hands each host its
 * configuration (node.cfg, weir.cfg, networks.cfg, site scripts, its nodes'
 * keys) and sends it commands (start, stop, restart, stop-all, scrape), each
 * answered by id.
 *
 * @module
 */

import {
  tcpEndpoint,
  ZMQ_OPTION,
  type ZmqContext,
  ZmqReactor,
  type ZmqSocket,
} from "../../ffi/mod.ts";
import { type Heartbeat, setHeartbeat } from "../bus/mod.ts";
import {
  type AgentVerb,
  type ConfigBundle,
  decodeAgentMessage,
  encodeMessage,
  type KeyStore,
  type ManagerMessage,
  type NodeReport,
} from "../fleet/mod.ts";
import { type Reporter, WEIR_VERSION } from "../process/mod.ts";

/** The ZAP domain of the agent channel. */
export const AGENT_ZAP_DOMAIN = "weir-agent";
/** The ZAP user id of a key that may only enrol: `enrolling:<public key>`. */
export const ENROLLING = "enrolling";

/** A configuration sent is not sent again within this time while the agent applies it. */
const CONFIG_RESEND_MS = 10_000;

/** How long a command to an agent may take (a node's stop can take StopTimeout). */
const COMMAND_TIMEOUT_MS = 150_000;

/** An agent's answer to a command. */
export interface AgentReply {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

/** One host's agent as the manager knows it. */
export interface AgentState {
  readonly host: string;
  readonly version: string;
  /** Whether it reported within NodeTimeout. */
  readonly connected: boolean;
  readonly lastSeen: Date;
  readonly nodes: readonly NodeReport[];
  readonly configHash: string;
}

interface Session {
  host: string;
  identity: Uint8Array;
  version: string;
  lastSeen: number;
  nodes: readonly NodeReport[];
  configHash: string;
  /** When the configuration was last sent (performance.now()), or -Infinity. */
  configSentAt: number;
}

export interface AgentHubOptions {
  readonly zmq: ZmqContext;
  readonly address: string;
  readonly port: number;
  readonly store: KeyStore;
  readonly heartbeat: Heartbeat;
  /** The configuration `host` runs now. */
  readonly bundleFor: (host: string) => Promise<ConfigBundle>;
  /** Whether agents should run their nodes (false while the cluster stops). */
  readonly running: () => boolean;
  readonly reporter: Reporter;
  /** Sees the ROUTER before it binds (handshake monitor). */
  readonly configure?: (socket: ZmqSocket) => void;
}

/** The agent channel's manager side. */
export class AgentHub implements AsyncDisposable {
  readonly endpoint: string;
  readonly #options: AgentHubOptions;
  readonly #socket: ZmqSocket;
  readonly #reactor = new ZmqReactor();
  readonly #sessions = new Map<string, Session>();
  readonly #waiting = new Map<number, (reply: AgentReply) => void>();
  readonly #versionWarned = new Set<string>();
  readonly #bundles = new Map<string, Promise<ConfigBundle>>();
  #enrolling: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #closed = false;

  constructor(options: AgentHubOptions) {
    this.#options = options;
    const socket = options.zmq.openSocket("router");
    try {
      socket.readUserId = true;
      // What an agent that went away did not take is not worth waiting for at exit.
      socket.setOption(ZMQ_OPTION.LINGER, 0);
      socket.setCurveServer(options.store.forwarder.secretKey, AGENT_ZAP_DOMAIN);
      setHeartbeat(socket, options.heartbeat);
      if (options.address.includes(":")) socket.setOption(ZMQ_OPTION.IPV6, 1);
      options.configure?.(socket);
      socket.bind(tcpEndpoint(options.address, options.port));
    } catch (error) {
      socket.close();
      throw error;
    }
    this.#socket = socket;
    this.endpoint = socket.lastEndpoint;
    this.#reactor.watch(socket, (frames, message) => this.#onMessage(frames, message.userId ?? ""));
    this.#reactor.start((error) => options.reporter.error(`the agent channel failed: ${error}`));
  }

  #onMessage(frames: readonly Uint8Array[], userId: string): void {
    if (frames.length !== 2) return;
    const identity = frames[0]!.slice();
    const message = decodeAgentMessage(frames[1]!);
    if (message === undefined) {
      this.#options.reporter.warning(
        `dropped a malformed message on the agent channel (${userId})`,
      );
      return;
    }
    if (message.t === "enroll") {
      // One at a time: a token is spent by the first.
      this.#enrolling = this.#enrolling.then(() =>
        this.#enrol(identity, userId, message.host, message.token)
      ).catch((error) => this.#options.reporter.error(`enrolment failed: ${error}`));
      return;
    }
    // Anything but enrolment needs an enrolled key. ZAP named the connection
    // when it opened: one that enrolled since is looked up by its key.
    const host = userId.startsWith("agent:")
      ? userId.slice(6)
      : userId.startsWith(`${ENROLLING}:`)
      ? this.#options.store.agentHostOf(userId.slice(ENROLLING.length + 1))
      : undefined;
    if (host === undefined) {
      this.#options.reporter.warning(
        `refused a ${message.t} on the agent channel from a key not enrolled (${
          userId || "no key"
        })`,
      );
      this.#send(identity, {
        t: "refused",
        reason: "this agent is not enrolled: run weir join with --token",
      });
      return;
    }
    // A host revoked since its connection opened is told so once and forgotten.
    if (!this.#options.store.enrolledHosts().includes(host)) {
      if (this.#sessions.delete(host)) {
        this.#options.reporter.warning(`the agent of ${host} was revoked; it is told to stop`);
      }
      this.#send(identity, {
        t: "refused",
        revoked: true,
        reason:
          `the agent key of ${host} was revoked (weir revoke); enrol it again: weir enroll ${host} on the control host, then weir join with the new token after removing agent.json`,
      });
      return;
    }
    let session = this.#sessions.get(host);
    if (session === undefined) {
      session = {
        host,
        identity,
        version: "",
        lastSeen: 0,
        nodes: [],
        configHash: "",
        configSentAt: -Infinity,
      };
      this.#sessions.set(host, session);
      this.#options.reporter.info(`agent of ${host} joined`);
    }
    session.identity = identity;
    session.lastSeen = performance.now();
    if (message.t === "status") {
      if (message.host !== host) return;
      session.version = message.version;
      session.nodes = message.nodes;
      session.configHash = message.configHash;
      if (message.version !== WEIR_VERSION && !this.#versionWarned.has(host)) {
        this.#versionWarned.add(host);
        this.#options.reporter.warning(
          `the agent of ${host} runs weir ${message.version}, the manager ${WEIR_VERSION}: install the same binary on both`,
        );
      }
      // An agent that runs another configuration than this host's (it just
      // started, or missed a deploy) gets it; one that is applying it is not
      // sent it again for a while.
      void this.#bundle(host).then((bundle) => {
        const stale = message.configHash !== bundle.hash;
        // "" is an agent that has none yet (it just started): no waiting for it.
        const fresh = message.configHash === "";
        if (stale && (fresh || performance.now() - session.configSentAt > CONFIG_RESEND_MS)) {
          void this.sendConfig(host, 0);
        } else {
          this.#send(identity, { t: "seen" });
        }
      }).catch((error) => {
        this.#options.reporter.error(`cannot build the configuration for ${host}: ${error}`);
      });
      return;
    }
    const waiter = this.#waiting.get(message.id);
    this.#waiting.delete(message.id);
    waiter?.(message);
  }

  async #enrol(identity: Uint8Array, userId: string, host: string, token: string): Promise<void> {
    const { store, reporter } = this.#options;
    // The ZAP handler named an unknown key `enrolling:<key>`; an enrolled agent may enrol again.
    const agentKey = userId.startsWith(`${ENROLLING}:`)
      ? userId.slice(ENROLLING.length + 1)
      : undefined;
    // The agent repeats its request until it hears back: a key enrolled for
    // this host (by an earlier copy of the request) is told so again.
    if (agentKey !== undefined && store.agentHostOf(agentKey) === host) {
      this.#send(identity, { t: "enrolled", host });
      return;
    }
    // The same, when the repeat came on a new connection: ZAP already knows
    // the key as this host's agent.
    if (userId === `agent:${host}`) {
      this.#send(identity, { t: "enrolled", host });
      return;
    }
    if (agentKey !== undefined && await store.redeemToken(host, token, agentKey)) {
      reporter.info(`enrolled the agent of ${host}`);
      this.#send(identity, { t: "enrolled", host });
      return;
    }
    reporter.warning(`refused to enrol an agent for ${host}: wrong, used or expired token`);
    this.#send(identity, {
      t: "refused",
      reason:
        `the token for ${host} is wrong, used or expired; run weir enroll ${host} on the control host again`,
    });
  }

  /** Sends `host` its configuration (`id` 0: no answer awaited). */
  async sendConfig(host: string, id: number): Promise<void> {
    const session = this.#sessions.get(host);
    if (session === undefined) return;
    const bundle = await this.#bundle(host);
    session.configSentAt = performance.now();
    this.#send(session.identity, { t: "config", id, run: this.#options.running(), ...bundle });
  }

  /** Sends `verb` to `host`'s agent and waits for its answer. */
  async command(
    host: string,
    verb: AgentVerb | "config",
    nodes: readonly string[] = [],
    timeoutMs = COMMAND_TIMEOUT_MS,
  ): Promise<AgentReply> {
    const session = this.#sessions.get(host);
    if (!this.#options.store.enrolledHosts().includes(host)) {
      return { ok: false, error: `the agent of ${host} was revoked` };
    }
    if (session === undefined || !this.#connected(session)) {
      return { ok: false, error: `the agent of ${host} is not connected` };
    }
    const id = this.#nextId++;
    const answer = new Promise<AgentReply>((resolve) => {
      this.#waiting.set(id, resolve);
      setTimeout(() => {
        if (this.#waiting.delete(id)) {
          resolve({
            ok: false,
            error: `the agent of ${host} did not answer within ${timeoutMs / 1000} s`,
          });
        }
      }, timeoutMs);
    });
    if (verb === "config") await this.sendConfig(host, id);
    else this.#send(session.identity, { t: "command", id, verb, nodes });
    return await answer;
  }

  /** The bundle of `host`, built once per configuration (see `invalidate`). */
  #bundle(host: string): Promise<ConfigBundle> {
    let bundle = this.#bundles.get(host);
    if (bundle === undefined) {
      bundle = this.#options.bundleFor(host);
      bundle.catch(() => this.#bundles.delete(host));
      this.#bundles.set(host, bundle);
    }
    return bundle;
  }

  /** The configuration or the keys changed (deploy, revoke): bundles are built anew. */
  invalidate(): void {
    this.#bundles.clear();
  }

  /** Every agent that reported in this manager's lifetime. */
  agents(): AgentState[] {
    return [...this.#sessions.values()].map((s) => ({
      host: s.host,
      version: s.version,
      connected: this.#connected(s),
      lastSeen: new Date(Date.now() - (performance.now() - s.lastSeen)),
      nodes: s.nodes,
      configHash: s.configHash,
    }));
  }

  /** The agent of `host`, if it reported. */
  agent(host: string): AgentState | undefined {
    return this.agents().find((a) => a.host === host);
  }

  #connected(session: Session): boolean {
    return performance.now() - session.lastSeen < this.#options.heartbeat.timeoutMs;
  }

  #send(identity: Uint8Array, message: ManagerMessage): void {
    if (this.#closed) return;
    this.#socket.send([identity, encodeMessage(message)]);
    this.#reactor.noteSend(this.#socket);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reactor.close();
    await this.#reactor.closed();
    this.#socket.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
