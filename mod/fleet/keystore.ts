/**
 * The manager's key store for a closed bus: the forwarder's keypair, one
 * keypair per node (issued by the manager, handed to the node's host over
 * the agent channel), the agents enrolled per host, revoked keys, and the
 * one-time enrolment tokens. Everything lives in files under
 * `<SpoolDir>/keys` (secrets mode 0600), so `weir enroll` can write a token
 * while the manager runs, and a restarted manager knows every key it issued.
 *
 * ```
 * keys/forwarder.key    the forwarder's (and agent channel's) keypair
 * keys/agents.json      host → the public key of its enrolled agent
 * keys/revoked.json     public keys refused from now on
 * keys/tokens/<host>   sha-256 of the host's one-time token, expiry (one file
 *                      per host: `weir enroll` and the manager never rewrite
 *                      each other's entries)
 * keys/nodes/           a keys directory (see credentials.ts) for this host's nodes
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import type { Layout } from "../../config/mod.ts";
import { type CurveKeyPair, curveKeyPair } from "../../ffi/mod.ts";
import {
  createFileAtomic,
  CredentialsError,
  DIRECTORY_FILE,
  type KeyDirectory,
  keyFile,
  keyPairText,
  parseKeyPair,
  writeFileAtomic,
} from "./credentials.ts";

/** The manager's key store: `<SpoolDir>/keys`. */
export function keyStoreDir(layout: Layout): string {
  return join(layout.settings.spoolDir, "keys");
}

/** How long an enrolment token stays good. */
export const DEFAULT_TOKEN_TTL_SEC = 24 * 3600;

/** What `weir enroll` writes for a sensor. */
export interface EnrolmentToken {
  readonly host: string;
  /** The forwarder's public key: the agent checks the manager with it. */
  readonly serverKey: string;
  readonly token: string;
  readonly expires: number;
}

interface TokenEntry {
  readonly sha256: string;
  readonly expires: number;
}

/** The key store; one per manager. */
export class KeyStore {
  readonly dir: string;
  /** The keys directory of the nodes (`keys/nodes`), which local nodes read. */
  readonly nodesDir: string;
  readonly forwarder: CurveKeyPair;
  #nodes = new Map<string, CurveKeyPair>();
  #revoked = new Set<string>();
  #agents = new Map<string, string>();

  private constructor(dir: string, forwarder: CurveKeyPair) {
    this.dir = dir;
    this.nodesDir = join(dir, "nodes");
    this.forwarder = forwarder;
  }

  /** Opens the store in `dir`, creating it (and the forwarder's keypair) on first use. */
  static async open(dir: string): Promise<KeyStore> {
    await Deno.mkdir(join(dir, "nodes"), { recursive: true, mode: 0o700 });
    await Deno.mkdir(join(dir, "tokens"), { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
    const store = new KeyStore(dir, await ensureKeyPair(join(dir, "forwarder.key")));
    await store.reload();
    return store;
  }

  /** Re-reads what other processes may have changed (revocations, enrolments, node keys). */
  async reload(): Promise<void> {
    this.#revoked = new Set(await readJson<string[]>(join(this.dir, "revoked.json"), []));
    this.#agents = new Map(
      Object.entries(await readJson<Record<string, string>>(join(this.dir, "agents.json"), {})),
    );
    const nodes = new Map<string, CurveKeyPair>();
    for await (const entry of Deno.readDir(this.nodesDir)) {
      if (!entry.isFile || !entry.name.endsWith(".key")) continue;
      const file = join(this.nodesDir, entry.name);
      try {
        nodes.set(entry.name.slice(0, -4), parseKeyPair(await Deno.readTextFile(file), file));
      } catch (error) {
        if (!(error instanceof CredentialsError)) throw error;
      }
    }
    this.#nodes = nodes;
  }

  /** Issues a keypair to every node of `names` without one; rewrites the directory. */
  async issue(names: readonly string[]): Promise<string[]> {
    const issued: string[] = [];
    for (const name of names) {
      const current = this.#nodes.get(name);
      if (current !== undefined && !this.#revoked.has(current.publicKey)) continue;
      const keys = curveKeyPair();
      await writeFileAtomic(keyFile(this.nodesDir, name), keyPairText(keys));
      this.#nodes.set(name, keys);
      issued.push(name);
    }
    await this.#writeDirectory();
    return issued;
  }

  /** The keypair issued to `node`, unless revoked. */
  nodeKeys(node: string): CurveKeyPair | undefined {
    const keys = this.#nodes.get(node);
    return keys === undefined || this.#revoked.has(keys.publicKey) ? undefined : keys;
  }

  /** The public keys in force. */
  directory(): KeyDirectory {
    const nodes: Record<string, string> = {};
    for (const [name, keys] of [...this.#nodes].sort(([a], [b]) => a < b ? -1 : 1)) {
      if (!this.#revoked.has(keys.publicKey)) nodes[name] = keys.publicKey;
    }
    return { forwarder: this.forwarder.publicKey, nodes };
  }

  /** The node a bus key belongs to; undefined for an unknown or revoked key. */
  nodeOf(publicKey: string): string | undefined {
    if (this.#revoked.has(publicKey)) return undefined;
    for (const [name, keys] of this.#nodes) if (keys.publicKey === publicKey) return name;
    return undefined;
  }

  /** The host whose enrolled agent has `publicKey`. */
  agentHostOf(publicKey: string): string | undefined {
    if (this.#revoked.has(publicKey)) return undefined;
    for (const [host, key] of this.#agents) if (key === publicKey) return host;
    return undefined;
  }

  isRevoked(publicKey: string): boolean {
    return this.#revoked.has(publicKey);
  }

  /** Hosts with an enrolled agent. */
  enrolledHosts(): string[] {
    return [...this.#agents.keys()].filter((h) => !this.#revoked.has(this.#agents.get(h)!));
  }

  /** A one-time token for `host`'s agent; only its hash is kept. */
  async createToken(host: string, ttlSec = DEFAULT_TOKEN_TTL_SEC): Promise<EnrolmentToken> {
    const token = [...crypto.getRandomValues(new Uint8Array(32))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const expires = Math.floor(Date.now() / 1000) + ttlSec;
    const entry: TokenEntry = { sha256: sha256(token), expires };
    await writeFileAtomic(this.#tokenFile(host), JSON.stringify(entry) + "\n");
    return { host, serverKey: this.forwarder.publicKey, token, expires };
  }

  /**
   * Spends `host`'s token: on a match (and before expiry) the agent key is
   * enrolled for `host` and the token is gone. False otherwise.
   */
  async redeemToken(host: string, token: string, agentKey: string): Promise<boolean> {
    const file = this.#tokenFile(host);
    const entry = await readJson<TokenEntry | undefined>(file, undefined);
    if (entry === undefined || entry.expires < Date.now() / 1000) return false;
    const given = Buffer.from(sha256(token), "hex");
    const expected = Buffer.from(String(entry.sha256), "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    await Deno.remove(file);
    const old = this.#agents.get(host);
    if (old !== undefined && old !== agentKey) await this.#revoke([old]);
    this.#agents.set(host, agentKey);
    await writeFileAtomic(
      join(this.dir, "agents.json"),
      JSON.stringify(Object.fromEntries(this.#agents), null, 1) + "\n",
    );
    return true;
  }

  /** Where `host`'s token is kept (the name made safe for a file). */
  #tokenFile(host: string): string {
    return join(this.dir, "tokens", encodeURIComponent(host));
  }

  /**
   * Revokes the keys of `nodes` (each gets a fresh one, for its agent to
   * restart it with) and, for `host`, its agent's key: that host must
   * enrol again. Returns the names whose keys were revoked.
   */
  async revoke(nodes: readonly string[], host?: string): Promise<string[]> {
    const keys = nodes.flatMap((n) => {
      const k = this.#nodes.get(n);
      return k === undefined ? [] : [k.publicKey];
    });
    const agent = host === undefined ? undefined : this.#agents.get(host);
    await this.#revoke(agent === undefined ? keys : [...keys, agent]);
    if (host === undefined) await this.issue(nodes);
    else await this.#writeDirectory();
    return nodes.filter((n) => this.#nodes.has(n));
  }

  async #revoke(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#revoked.add(key);
    await writeFileAtomic(
      join(this.dir, "revoked.json"),
      JSON.stringify([...this.#revoked], null, 1) + "\n",
    );
  }

  async #writeDirectory(): Promise<void> {
    await writeFileAtomic(
      join(this.nodesDir, DIRECTORY_FILE),
      JSON.stringify(this.directory(), null, 1) + "\n",
      0o644,
    );
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function readJson<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await Deno.readTextFile(file)) as T;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return fallback;
    throw new CredentialsError(
      `Cannot read ${file}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

async function ensureKeyPair(file: string): Promise<CurveKeyPair> {
  try {
    return parseKeyPair(await Deno.readTextFile(file), file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const keys = curveKeyPair();
  try {
    await createFileAtomic(file, keyPairText(keys));
  } catch (error) {
    // Another process (a `weir enroll` beside the manager) made it first.
    if (error instanceof Deno.errors.AlreadyExists) {
      return parseKeyPair(await Deno.readTextFile(file), file);
    }
    throw error;
  }
  return keys;
}
