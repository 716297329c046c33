/**
 * Bearer tokens for the WebSocket API (Zeek has no authentication at all).
 *
 * The token file is text, one token per line; blank lines and lines
 * starting with `#` are ignored. After the token, optional `key=value`
 * words, separated by spaces:
 *
 * ```
 * # weir WebSocket tokens (chmod 600)
 * 6f1c0e4d2b9a8c7e5f3a1b0d9e8c7f6a                    # full access
 * 0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d name=grafana subscribe=zeek.cluster.,app.metrics.
 * 5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a name=sensor-feed subscribe= publish=site.feed.
 * ```
 *
 * - `name=` a label for logs and metrics (default `line-<n>`);
 * - `subscribe=` the topic prefixes the client may subscribe under: a
 *   subscription must start with one of them. Empty allows none; absent
 *   allows all.
 * - `publish=` the same for topics the client publishes to.
 *
 * Tokens are at least 16 characters of `A-Z a-z 0-9 . _ ~ + / = -`
 * (`openssl rand -hex 32` makes a good one). A `#` after the words starts
 * a comment. The file must not be readable or writable by group or others
 * (mode 0600 or 0400), since it holds secrets.
 *
 * @module
 */

/** What one token allows. */
export interface TokenGrant {
  readonly name: string;
  /** Prefixes subscriptions must start with; `undefined` allows every subscription. */
  readonly subscribe: readonly string[] | undefined;
  /** Prefixes published topics must start with; `undefined` allows every topic. */
  readonly publish: readonly string[] | undefined;
}

/** The token file is readable or writable by others than its owner. */
export class TokenFileModeError extends Error {
  override readonly name = "TokenFileModeError";
  readonly path: string;
  readonly mode: number;
  constructor(path: string, mode: number) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    super(
      `Cannot use WebSocket token file "${path}": its mode is ${octal}, but a file of secrets ` +
        `must be private to its owner; run: chmod 600 ${path}`,
    );
    this.path = path;
    this.mode = mode;
  }
}

/** One problem in a token file. */
export interface TokenFileProblem {
  readonly line: number;
  readonly value: string;
  readonly message: string;
}

/** The token file cannot be read or has problems; all are listed. */
export class TokenFileError extends Error {
  override readonly name = "TokenFileError";
  readonly path: string;
  readonly problems: readonly TokenFileProblem[];
  constructor(path: string, problems: readonly TokenFileProblem[]) {
    super(
      problems.map((p) =>
        p.line > 0
          ? `${path}:${p.line}: ${p.message} (found "${p.value}")`
          : `${path}: ${p.message}`
      ).join("\n"),
    );
    this.path = path;
    this.problems = problems;
  }
}

const TOKEN_REGEXP = /^[A-Za-z0-9._~+/=-]{16,}$/;
const encoder = new TextEncoder();

async function digest(token: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function prefixList(text: string): readonly string[] {
  return Object.freeze(text === "" ? [] : text.split(","));
}

/** True when `topic` starts with one of `prefixes` (`undefined` allows everything). */
export function allowedBy(prefixes: readonly string[] | undefined, topic: string): boolean {
  if (prefixes === undefined) return true;
  for (const prefix of prefixes) if (topic.startsWith(prefix)) return true;
  return false;
}

/**
 * The tokens of one file. Tokens are kept only as SHA-256 digests, and a
 * presented token is looked up by its digest, so lookups take the same
 * time whatever part of a token an attacker guessed right.
 */
export class TokenTable {
  readonly source: string;
  #grants: ReadonlyMap<string, TokenGrant>;

  private constructor(source: string, grants: ReadonlyMap<string, TokenGrant>) {
    this.source = source;
    this.#grants = grants;
  }

  /** How many tokens the file holds. */
  get size(): number {
    return this.#grants.size;
  }

  /**
   * Reads a token file, refusing one that group or others may read or
   * write. Throws `TokenFileModeError` or `TokenFileError`.
   */
  static async load(path: string): Promise<TokenTable> {
    let info: Deno.FileInfo;
    let text: string;
    try {
      info = await Deno.stat(path);
      text = await Deno.readTextFile(path);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new TokenFileError(path, [{
        line: 0,
        value: path,
        message: `cannot read the WebSocket token file (${why}); create it with one token ` +
          `per line and chmod 600, or leave WebSocketTokenFile empty`,
      }]);
    }
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new TokenFileModeError(path, info.mode);
    }
    return await TokenTable.parse(text, path);
  }

  /** Parses token file text; `source` names it in errors. Throws `TokenFileError`. */
  static async parse(text: string, source: string): Promise<TokenTable> {
    const problems: TokenFileProblem[] = [];
    const grants = new Map<string, TokenGrant>();
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const lineNumber = i + 1;
      const hash = lines[i]!.indexOf("#");
      const content = (hash < 0 ? lines[i]! : lines[i]!.slice(0, hash)).trim();
      if (content === "") continue;
      const [token, ...words] = content.split(/\s+/) as [string, ...string[]];
      if (!TOKEN_REGEXP.test(token)) {
        problems.push({
          line: lineNumber,
          value: token.length > 4 ? `${token.slice(0, 4)}…` : token,
          message: "a token must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / = -",
        });
        continue;
      }
      let name = `line-${lineNumber}`;
      let subscribe: readonly string[] | undefined;
      let publish: readonly string[] | undefined;
      for (const word of words) {
        const eq = word.indexOf("=");
        const key = eq < 0 ? word : word.slice(0, eq);
        const value = eq < 0 ? "" : word.slice(eq + 1);
        if (eq < 0 || !["name", "subscribe", "publish"].includes(key)) {
          problems.push({
            line: lineNumber,
            value: word,
            message: "expected name=…, subscribe=prefix,… or publish=prefix,… after the token",
          });
        } else if (key === "name") name = value;
        else if (key === "subscribe") subscribe = prefixList(value);
        else publish = prefixList(value);
      }
      const key = await digest(token);
      if (grants.has(key)) {
        problems.push({
          line: lineNumber,
          value: name,
          message: "this token is already listed on an earlier line; remove one",
        });
        continue;
      }
      grants.set(key, Object.freeze({ name, subscribe, publish }));
    }
    if (problems.length === 0 && grants.size === 0) {
      problems.push({
        line: 0,
        value: "",
        message: "holds no tokens, so no client could connect; add a token " +
          "(e.g. from `openssl rand -hex 32`) or leave WebSocketTokenFile empty",
      });
    }
    if (problems.length > 0) throw new TokenFileError(source, problems);
    return new TokenTable(source, grants);
  }

  /**
   * The grant for an `Authorization` header value (`Bearer <token>`), or
   * undefined when it is missing or unknown.
   */
  async authenticate(authorization: string | undefined): Promise<TokenGrant | undefined> {
    if (authorization === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match === null) return undefined;
    return this.#grants.get(await digest(match[1]!));
  }
}
