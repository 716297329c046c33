/**
 * What the manager hands a host's agent: the configuration files as the
 * manager reads them, the site scripts, and (on a closed bus) the keys of
 * that host's nodes, with a hash the agent reports back so drift shows.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { BUILT_IN, type Layout } from "../../config/mod.ts";
import type { ConfigBundle, KeyStore } from "../fleet/mod.ts";

/** The files of a configuration directory that travel. */
const CONFIG_FILES = ["node.cfg", "weir.cfg", "networks.cfg"] as const;
/** Site scripts beyond this total are refused: a site directory is code, not data. */
const MAX_SITE_BYTES = 16 * 1024 * 1024;

/** The configuration for `host`'s agent. */
export async function buildBundle(
  layout: Layout,
  host: string,
  store: KeyStore | undefined,
): Promise<ConfigBundle> {
  if (layout.source === BUILT_IN) {
    throw new RangeError(
      "the built-in layout has no other hosts: start the manager with --config DIR",
    );
  }
  const files: Record<string, string> = {};
  for (const name of CONFIG_FILES) {
    try {
      files[name] = await Deno.readTextFile(join(layout.source, name));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const site = await readSite(layout.settings.siteDir);
  const keys: Record<string, { public: string; secret: string }> = {};
  if (store !== undefined && layout.closedBus) {
    for (const node of layout.nodes.filter((n) => n.host === host && n.type !== "manager")) {
      const pair = store.nodeKeys(node.name);
      if (pair !== undefined) keys[node.name] = { public: pair.publicKey, secret: pair.secretKey };
    }
  }
  const directory = store !== undefined && layout.closedBus ? store.directory() : undefined;
  const hash = createHash("sha256")
    .update(
      JSON.stringify({
        files,
        site,
        keys: Object.keys(keys).map((k) => keys[k]!.public),
        directory,
      }),
    )
    .digest("hex").slice(0, 16);
  return { hash, files, site, keys, directory };
}

async function readSite(dir: string): Promise<Record<string, string>> {
  const site: Record<string, string> = {};
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
      const full = join(path, entry.name);
      if (entry.isDirectory) await walk(full);
      else if (entry.isFile) {
        const text = await Deno.readTextFile(full);
        total += text.length;
        if (total > MAX_SITE_BYTES) {
          throw new RangeError(
            `the site directory ${dir} holds more than ${
              MAX_SITE_BYTES >> 20
            } MiB: only scripts belong there`,
          );
        }
        site[relative(dir, full)] = text;
      }
    }
  };
  await walk(dir);
  return site;
}
