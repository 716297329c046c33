/**
 * Site scripts, weir's counterpart of `local.zeek`: every `.ts`/`.js` module
 * in the site directory is loaded by every node, in name order, and its
 * default export is called with the node's `SiteApi`.
 *
 * Run from source, a script is imported from its file, so it may import
 * its own helpers and packages. A compiled binary cannot import files that
 * were not there when it was built (denoland/deno#18327), so there each
 * script is read, its TypeScript types stripped (sucrase), and the result
 * imported as a `data:` module: such a script must be self-contained, and
 * `import type` lines are fine.
 *
 * @module
 */

import { toFileUrl } from "./_file_url.ts";
import type { SiteApi } from "./site_api.ts";

/** How scripts are imported: from their files, or inlined (what a compiled binary must do). */
export type SiteScriptLoading = "file" | "inline";

/** Options of `loadSiteScripts`. */
export interface LoadSiteScriptsOptions {
  /** Default: `inline` in a compiled binary, else `file`. */
  readonly loading?: SiteScriptLoading;
}

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
export async function loadSiteScripts(
  dir: string,
  api: SiteApi,
  options: LoadSiteScriptsOptions = {},
): Promise<string[]> {
  const loading = options.loading ?? (Deno.build.standalone ? "inline" : "file");
  const files = await listSiteScripts(dir);
  for (const file of files) {
    try {
      const module = loading === "file" ? await import(toFileUrl(file)) : await importInline(file);
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

/** Imports `file` from its text, as a compiled binary must (see the module notes). */
async function importInline(file: string): Promise<{ default?: unknown }> {
  let code = await Deno.readTextFile(file);
  if (file.endsWith(".ts")) {
    // Loaded only when needed: most nodes run from source, or with no TypeScript site scripts.
    const { transform } = await import("sucrase");
    code = transform(code, { transforms: ["typescript"], filePath: file }).code;
  }
  const url = `data:text/javascript;base64,${
    base64(`${code}\n//# sourceURL=${toFileUrl(file)}\n`)
  }`;
  try {
    return await import(url);
  } catch (error) {
    // Name the file, not the long data: URL, and keep the first line only.
    const raw = error instanceof Error ? error.message : String(error);
    const message = raw.replaceAll(url, toFileUrl(file)).split("\n")[0]!;
    const imports = /^\s*(import|export)\b[^;]*\bfrom\s*["']/m.test(code);
    throw new Error(
      imports && /import|resolve|module/i.test(message)
        ? `${message}; in a compiled weir a site script is loaded from its text and cannot ` +
          `import other files or packages: put what it needs into the script, or run weir from source`
        : message,
      { cause: error },
    );
  }
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
