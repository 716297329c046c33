/**
 * `deno task check` runs this: every relative import of the shipping code
 * must run down the layers that README.md's "Layers" block writes down
 * (the one place they are written), never across folders of one line (so
 * no role imports another), and into another folder only through its
 * `mod.ts` door. Test files (`*_test.ts`) may import anything. Prints each
 * offending import as `file: imports target (why)` and exits 1.
 *
 *   deno run --allow-read scripts/check_imports.ts [--no-doors] [repo-dir]
 *
 * @module
 */

import { dirname, join, normalize } from "node:path";

const args = Deno.args.filter((a) => a !== "--no-doors");
const doors = args.length === Deno.args.length;
const root = args[0] ?? new URL("..", import.meta.url).pathname;
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;"']*?from\s*["'](\.{1,2}\/[^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** The layers, top first; each a list of folders (or files) that do not import each other. */
function readLayers(readme: string): string[][] {
  const at = readme.indexOf("### Layers");
  const open = readme.indexOf("```", at);
  const close = readme.indexOf("```", open + 3);
  if (at < 0 || open < 0 || close < 0) {
    throw new Error('README.md has no "### Layers" section with a fenced block of layers');
  }
  return readme.slice(readme.indexOf("\n", open) + 1, close).split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(/\s+/).map((p) => p.replace(/\/$/, "")));
}

/** The unit a path belongs to: the longest layer entry that is it or holds it. */
function unitOf(path: string, units: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const u of units) {
    if (
      (path === u || path.startsWith(u + "/")) && (best === undefined || u.length > best.length)
    ) {
      best = u;
    }
  }
  return best;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(root, dir))) {
    const path = dir === "." ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      if (!entry.name.startsWith(".") && entry.name !== "node_modules" && entry.name !== "dist") {
        yield* sourceFiles(path);
      }
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

const layers = readLayers(await Deno.readTextFile(join(root, "README.md")));
const rank = new Map<string, number>();
layers.forEach((units, i) => units.forEach((u) => rank.set(u, i)));
const units = [...rank.keys()];
const problems: string[] = [];
let files = 0;
for await (const file of sourceFiles(".")) {
  const from = unitOf(file, units);
  if (from === undefined) {
    problems.push(`${file}: is in no layer (add its folder to README.md's Layers block)`);
    continue;
  }
  files++;
  const text = await Deno.readTextFile(join(root, file));
  for (const m of [...text.matchAll(IMPORT), ...text.matchAll(DYNAMIC)]) {
    const target = normalize(join(dirname(file), m[1]!));
    const to = unitOf(target, units);
    if (to === undefined || to === from) continue;
    const why = rank.get(to)! < rank.get(from)!
      ? "runs up the layers"
      : rank.get(to) === rank.get(from)
      ? "runs across one layer"
      : doors && !to.endsWith(".ts") && !target.endsWith("/mod.ts")
      ? `bypasses the door of ${dirname(target)}`
      : undefined;
    if (why !== undefined) problems.push(`${file}: imports ${target} (${why})`);
  }
}
for (const p of problems) console.error(`check_imports: ${p}`);
if (problems.length > 0) Deno.exit(1);
console.log(
  `check_imports: ${files} files import down ${layers.length} layers${
    doors ? ", through doors" : ""
  }`,
);
