/**
 * Whether a directory weir creates and writes into (LogDir, SpoolDir) can
 * be: asked by `weir check` and by the manager before it opens anything,
 * so a bad one is one line, not an uncaught error halfway through a start.
 *
 * @module
 */

import { dirname } from "node:path";

/**
 * Why `dir` cannot be used as a directory weir creates and writes into, or
 * undefined when it can: it, or its nearest existing ancestor, must be a
 * directory where a file can be created (tried, then removed).
 */
export async function directoryProblem(dir: string): Promise<string | undefined> {
  let at = dir;
  for (;;) {
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(at);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) return describe(error);
    }
    if (info !== undefined) {
      if (!info.isDirectory) {
        return at === dir
          ? "exists and is not a directory"
          : `cannot be created: ${at} is not a directory`;
      }
      break;
    }
    const parent = dirname(at);
    if (parent === at) return "cannot be created: no part of the path exists";
    at = parent;
  }
  try {
    const probe = await Deno.makeTempFile({ dir: at, prefix: ".weir-check-" });
    await Deno.remove(probe);
  } catch (error) {
    return at === dir
      ? `cannot be written: ${describe(error)}`
      : `cannot be created in ${at}: ${describe(error)}`;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // "No such file or directory (os error 2): tmpfile '/proc/…'" → "No such file or directory".
  return error.message.replace(/ \(os error \d+\)/, "").replace(
    /: (tmpfile|stat|mkdir) .*$|: tmpfile$/,
    "",
  );
}
