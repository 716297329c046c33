/**
 * The control API's shared secret: a token file readable by its owner only
 * (mode 0600), created by the manager on first start. The verbs read it;
 * anyone who can read it can drive the cluster.
 *
 * @module
 */

import { dirname } from "node:path";

/** Thrown when the token file is missing, unreadable or readable by others. */
export class ControlTokenError extends Error {
  override readonly name = "ControlTokenError";
}

/** Returns the token in `file`, creating the file (mode 0600) with a random token if missing. */
export async function ensureControlToken(file: string): Promise<string> {
  try {
    return await readControlToken(file);
  } catch (error) {
    if (!(error instanceof ControlTokenError) || !/does not exist/.test(error.message)) throw error;
  }
  await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  try {
    await Deno.writeTextFile(file, token + "\n", { createNew: true, mode: 0o600 });
  } catch (error) {
    // Another manager won the race: use its token.
    if (error instanceof Deno.errors.AlreadyExists) return await readControlToken(file);
    throw error;
  }
  await Deno.chmod(file, 0o600);
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
      );
    }
    throw new ControlTokenError(
      `Cannot read the control token ${file}: ${error instanceof Error ? error.message : error}; ` +
        `run as the user that runs the manager`,
    );
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new ControlTokenError(
      `Cannot use the control token ${file}: its mode is ${
        (info.mode & 0o777).toString(8)
      }, so others can read it; run chmod 600 ${file}`,
    );
  }
  const token = (await Deno.readTextFile(file)).trim();
  if (token.length < 16) {
    throw new ControlTokenError(
      `Cannot use the control token ${file}: it is empty or too short; delete it and restart the manager`,
    );
  }
  return token;
}
