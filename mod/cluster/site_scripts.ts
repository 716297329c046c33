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

import { Buffer } from "node:buffer";
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
  constructor(readonly file: string, cause: unknown) {
    super(
      `Cannot load site script ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = "SiteScriptError";
  }
}

const SCRIPT_PATTERN = /\.(ts|js|mjs)$/;

/**
 * Which scripts a node loads, as zeekctl decides it: weir.cfg's
 * SitePolicyScripts for every node (when empty, every module in SiteDir, in
 * name order), then the node's own node.cfg `aux_scripts`. A script named
 * twice loads once, at its first place.
 */
export interface SiteScriptSelection {
  readonly siteDir: string;
  /** SitePolicyScripts: paths relative to `siteDir` (or absolute). */
  readonly policy?: readonly string[];
  /** The node's aux_scripts: paths relative to `siteDir` (or absolute). */
  readonly aux?: readonly string[];
}

/**
 * The scripts `loadSiteScripts` would load, in load order. A missing SiteDir
 * means none; a script named in SitePolicyScripts or aux_scripts that does
 * not exist is an error, as a missing `@load` is for Zeek.
 */
export async function listSiteScripts(selection: SiteScriptSelection): Promise<string[]> {
  const { siteDir } = selection;
  const policy = selection.policy ?? [];
  const named = [...policy, ...(selection.aux ?? [])].map((p) => resolveIn(siteDir, p));
  const files = policy.length > 0 ? [] : await modulesIn(siteDir);
  for (const file of named) {
    try {
      if (!(await Deno.stat(file)).isFile) throw new Error("it is not a file");
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound ? "no such file" : String(error);
      throw new SiteScriptError(file, `${why} (named in SitePolicyScripts or aux_scripts)`);
    }
    files.push(file);
  }
  return [...new Set(files)];
}

async function modulesIn(dir: string): Promise<string[]> {
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

function resolveIn(dir: string, path: string): string {
  return path.startsWith("/") ? path : `${dir}/${path}`;
}

/**
 * Loads the selected site scripts and runs each default export with `api`.
 * Returns the files loaded. The first failure stops loading, as a broken
 * `local.zeek` stops Zeek.
 */
export async function loadSiteScripts(
  selection: SiteScriptSelection,
  api: SiteApi,
  options: LoadSiteScriptsOptions = {},
): Promise<string[]> {
  const files = await listSiteScripts(selection);
  for (const file of files) {
    try {
      await (await importSiteScript(file, options))(api);
    } catch (error) {
      throw error instanceof SiteScriptError ? error : new SiteScriptError(file, error);
    }
  }
  return files;
}

async function importSiteScript(
  file: string,
  options: LoadSiteScriptsOptions,
): Promise<(api: SiteApi) => unknown> {
  const loading = options.loading ?? (Deno.build.standalone ? "inline" : "file");
  try {
    const module = loading === "file" ? await import(toFileUrl(file)) : await importInline(file);
    if (typeof module.default !== "function") {
      throw new TypeError(
        "it has no default export function (export default function (zeek) { … })",
      );
    }
    return module.default;
  } catch (error) {
    throw new SiteScriptError(file, error);
  }
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
    Buffer.from(`${code}\n//# sourceURL=${toFileUrl(file)}\n`).toString("base64")
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

/** What `checkNodeScripts` reports to. */
export interface ScriptCheckOutput {
  ok(line: string): void;
  problem(line: string): void;
}

/**
 * `weir check` for site scripts, as zeekctl's `check` does it per node:
 * each node's scripts (SitePolicyScripts, then its aux_scripts) are
 * imported without running, and a line says `<node> scripts are ok.` or
 * why not. Run from source, each script is also tried the way the compiled
 * binary loads it, and a script that only works from source is reported.
 * Returns the number of problems.
 */
export async function checkNodeScripts(
  siteDir: string,
  policy: readonly string[],
  nodes: readonly { readonly name: string; readonly auxScripts: readonly string[] }[],
  out: ScriptCheckOutput,
): Promise<number> {
  const verdicts = new Map<string, SiteScriptError | undefined>();
  const checkOnce = async (file: string): Promise<SiteScriptError | undefined> => {
    if (verdicts.has(file)) return verdicts.get(file);
    let verdict: SiteScriptError | undefined;
    try {
      await importSiteScript(file, {});
      if (!Deno.build.standalone) await importSiteScript(file, { loading: "inline" });
    } catch (error) {
      verdict = error instanceof SiteScriptError ? error : new SiteScriptError(file, error);
    }
    verdicts.set(file, verdict);
    return verdict;
  };
  let problems = 0;
  for (const node of nodes) {
    let failure: string | undefined;
    try {
      for (const file of await listSiteScripts({ siteDir, policy, aux: node.auxScripts })) {
        const error = await checkOnce(file);
        if (error !== undefined) {
          failure = error.message;
          break;
        }
      }
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (failure === undefined) {
      out.ok(`${node.name} scripts are ok.`);
    } else {
      problems++;
      out.problem(`${node.name} scripts failed: ${failure}`);
    }
  }
  return problems;
}
