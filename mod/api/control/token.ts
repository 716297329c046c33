/**
 * The control API's shared secret: a token file readable by its owner only
 * (mode 0600), created by the manager on first start. The verbs read it;
 * anyone who can read it can drive the cluster.
 *
 * @module
 */

import { dirname } from "node:path";
import { createFileAtomic, writeFileAtomic } from "../../fleet/mod.ts";

/** Thrown when the token file is missing, unreadable, too short or readable by others. */
export class ControlTokenError extends Error {
  override readonly name = "ControlTokenError";
  /** What is wrong: no file, a file too short to be a token, or anything else. */
  readonly reason: "missing" | "short" | "unreadable";
  constructor(message: string, reason: "missing" | "short" | "unreadable") {
    super(message);
    this.reason = reason;
  }
}

/**
 * Returns the token in `file`, creating the file (mode 0600) with a random
 * token if missing. The file is written whole or not at all (a full disk
 * leaves nothing behind); one that is empty or too short, as an older
 * weir could leave after a full disk, is replaced.
 */
export async function ensureControlToken(file: string): Promise<string> {
  let broken = false;
  try {
    return await readControlToken(file);
  } catch (error) {
    if (!(error instanceof ControlTokenError) || error.reason === "unreadable") throw error;
    broken = error.reason === "short";
  }
  const token = [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  try {
    await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
    if (broken) await writeFileAtomic(file, token + "\n");
    else await createFileAtomic(file, token + "\n");
  } catch (error) {
    // Another manager won the race: use its token.
    if (error instanceof Deno.errors.AlreadyExists) return await readControlToken(file);
    throw new ControlTokenError(
      `Cannot create the control token ${file}: ${
        error instanceof Error ? error.message : error
      }; free space or fix SpoolDir, then start again`,
      "unreadable",
    );
  }
  return token;
}

/** Reads the token, refusing a file that group or others may read. */
export async function readControlToken(file: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ControlTokenError(
        `Cannot read the control token: ${file} does not exist; start the manager first (weir start)`,
        "missing",
      );
    }
    throw new ControlTokenError(
      `Cannot read the control token ${file}: ${error instanceof Error ? error.message : error}; ` +
        `run as the user that runs the manager`,
      "unreadable",
    );
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new ControlTokenError(
      `Cannot use the control token ${file}: its mode is ${
        (info.mode & 0o777).toString(8)
      }, so others can read it; run chmod 600 ${file}`,
      "unreadable",
    );
  }
  const token = (await Deno.readTextFile(file)).trim();
  if (token.length < 16) {
    throw new ControlTokenError(
      `Cannot use the control token ${file}: it is empty or too short; start the manager to replace it`,
      "short",
    );
  }
  return token;
}
