/**
 * Site scripts, weir's counterpart of `local.zeek`: every `.ts`/`.js` module
 * in the site directory is loaded by every node, in name order, and its
 * default export is called with the node's `SiteApi`.
 *
 * @module
 */

import { toFileUrl } from "./_file_url.ts";
import type { SiteApi } from "./site_api.ts";

/** A site script that failed to load or to initialise. */
export class SiteScriptError extends Error {
  constructor(file: string, cause: unknown) {
    super(
      `Cannot load site script ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = "SiteScriptError";
  }
}

const SCRIPT_PATTERN = /\.(ts|js|mjs)$/;

/** The scripts `loadSiteScripts` would load from `dir`, in load order (none when `dir` is absent). */
export async function listSiteScripts(dir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && SCRIPT_PATTERN.test(entry.name) && !entry.name.endsWith("_test.ts")) {
        files.push(`${dir}/${entry.name}`);
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return files.sort();
}

/**
 * Loads every site script of `dir` and runs its default export with `api`.
 * Returns the files loaded. The first failure stops loading, as a broken
 * `local.zeek` stops Zeek.
 */
export async function loadSiteScripts(dir: string, api: SiteApi): Promise<string[]> {
  const files = await listSiteScripts(dir);
  for (const file of files) {
    try {
      const module = await import(toFileUrl(file));
      if (typeof module.default !== "function") {
        throw new TypeError(
          "it has no default export function (export default function (zeek) { … })",
        );
      }
      await module.default(api);
    } catch (error) {
      throw new SiteScriptError(file, error);
    }
  }
  return files;
}
