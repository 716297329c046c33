/**
 * A node's credentials for a closed bus, as files in a keys directory: its
 * own CURVE keypair (`<node>.key`, mode 0600) and the directory of public
 * keys (`directory.json`: the forwarder's and every node's), which tells a
 * client the key of the server it connects to (the forwarder, a logger) and
 * a logger whose clients to let in. The manager's key store writes these
 * files for its own host; an agent writes them for its sensor.
 *
 * @module
 */

import { join } from "node:path";
import { type CurveKeyPair, isZ85Key } from "../../ffi/mod.ts";

/** The public keys of a closed bus. */
export interface KeyDirectory {
  /** The forwarder's public key (the manager's agent channel uses it too). */
  readonly forwarder: string;
  /** Node name → public key; revoked keys are absent. */
  readonly nodes: Readonly<Record<string, string>>;
}

/** What a node needs to join a closed bus. */
export interface BusCredentials {
  readonly node: string;
  readonly keys: CurveKeyPair;
  readonly directory: KeyDirectory;
  /** Where they were read from (a logger re-reads the directory when it changes). */
  readonly dir: string;
}

/** A keys directory that is missing, unreadable or wrong: one line for the operator. */
export class CredentialsError extends Error {
  override readonly name = "CredentialsError";
}

export const DIRECTORY_FILE = "directory.json";

/** The key file of `node` in `dir`. */
export function keyFile(dir: string, node: string): string {
  return join(dir, `${node}.key`);
}

/** Reads `node`'s credentials from `dir`. */
export async function readCredentials(dir: string, node: string): Promise<BusCredentials> {
  const file = keyFile(dir, node);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch {
    throw new CredentialsError(
      `Cannot join the closed bus: there is no key for ${node} in ${dir}; ` +
        `nodes of a closed bus are started by the manager or by their host's agent (weir join)`,
    );
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new CredentialsError(
      `Cannot use ${file}: its mode is ${
        (info.mode & 0o777).toString(8)
      }, so others can read the secret key; run chmod 600 ${file}`,
    );
  }
  const keys = parseKeyPair(await Deno.readTextFile(file), file);
  return { node, keys, directory: await readDirectory(dir), dir };
}

/** Reads `directory.json` of `dir`. */
export async function readDirectory(dir: string): Promise<KeyDirectory> {
  const file = join(dir, DIRECTORY_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new CredentialsError(`Cannot join the closed bus: ${file} is missing`);
  }
  return parseDirectory(text, file);
}

/** Checks a directory's JSON; throws `CredentialsError` naming `source`. */
export function parseDirectory(text: string, source: string): KeyDirectory {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CredentialsError(`${source} is not JSON`);
  }
  const v = value as { forwarder?: unknown; nodes?: unknown };
  const nodes = v.nodes as Record<string, unknown> | undefined;
  if (
    typeof v.forwarder !== "string" || !isZ85Key(v.forwarder) || typeof nodes !== "object" ||
    nodes === null || !Object.values(nodes).every((k) => typeof k === "string" && isZ85Key(k))
  ) {
    throw new CredentialsError(`${source} is not a key directory (forwarder and nodes keys)`);
  }
  return Object.freeze({
    forwarder: v.forwarder,
    nodes: Object.freeze({ ...nodes as Record<string, string> }),
  });
}

/** Parses a `{ "public": …, "secret": … }` key file. */
export function parseKeyPair(text: string, source: string): CurveKeyPair {
  let value: { public?: unknown; secret?: unknown };
  try {
    value = JSON.parse(text);
  } catch {
    throw new CredentialsError(`${source} is not JSON`);
  }
  if (
    typeof value.public !== "string" || !isZ85Key(value.public) ||
    typeof value.secret !== "string" || !isZ85Key(value.secret)
  ) {
    throw new CredentialsError(`${source} is not a CURVE key file (public and secret in Z85)`);
  }
  return { publicKey: value.public, secretKey: value.secret };
}

/** The text of a key file. */
export function keyPairText(keys: CurveKeyPair): string {
  return JSON.stringify({ public: keys.publicKey, secret: keys.secretKey }) + "\n";
}

/** Writes `text` to `file` whole (a temporary file renamed over it), with `mode`. */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const temporary = await writeTemporary(file, text, mode);
  try {
    await Deno.rename(temporary, file);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Creates `file` with `text` unless it exists (then `Deno.errors.AlreadyExists`),
 * whole or not at all: the text goes to a temporary file that is then
 * hard-linked into place, so a full disk leaves no empty or half file
 * behind and two creators never mix their contents.
 */
export async function createFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const temporary = await writeTemporary(file, text, mode);
  try {
    await Deno.link(temporary, file);
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
}

/** `text` in a new temporary file beside `file` (removed again when writing fails). */
async function writeTemporary(file: string, text: string, mode: number): Promise<string> {
  // Unique per write: two writes of one file in one process must not share it.
  const temporary = `${file}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temporary, text, { mode });
    await Deno.chmod(temporary, mode);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  return temporary;
}

/** Writes a keys directory for `nodes` (name → keypair) with `directory`. */
export async function writeCredentials(
  dir: string,
  directory: KeyDirectory,
  nodes: Readonly<Record<string, CurveKeyPair>>,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  for (const [name, keys] of Object.entries(nodes)) {
    await writeFileAtomic(keyFile(dir, name), keyPairText(keys));
  }
  await writeFileAtomic(
    join(dir, DIRECTORY_FILE),
    JSON.stringify(directory, null, 1) + "\n",
    0o644,
  );
}

/**
 * The node names of a directory by public key, re-read when the file
 * changes: a logger's ZAP check, which must see a key revoked or issued
 * after it started.
 */
export class DirectoryWatch {
  readonly #file: string;
  #version = "";
  #byKey = new Map<string, string>();
  #forwarder = "";

  constructor(dir: string) {
    this.#file = join(dir, DIRECTORY_FILE);
  }

  /** The node whose public key is `key`, from the file as it is now. */
  nodeOf(key: string): string | undefined {
    this.#refresh();
    return this.#byKey.get(key);
  }

  get forwarder(): string {
    this.#refresh();
    return this.#forwarder;
  }

  #refresh(): void {
    let version: string;
    try {
      // Writers rename a new file over the old one: a new inode says it changed.
      const info = Deno.statSync(this.#file);
      version = `${info.ino}:${info.mtime?.getTime()}`;
    } catch {
      return;
    }
    if (version === this.#version) return;
    try {
      const directory = parseDirectory(Deno.readTextFileSync(this.#file), this.#file);
      this.#byKey = new Map(Object.entries(directory.nodes).map(([name, key]) => [key, name]));
      this.#forwarder = directory.forwarder;
      this.#version = version;
    } catch { /* half written: keep the last good copy */ }
  }
}
