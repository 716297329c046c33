import assert from "node:assert/strict";
import type { SiteApi } from "./site_api.ts";
import { loadSiteScripts, SiteScriptError, type SiteScriptLoading } from "./site_scripts.ts";

/** What the test scripts record into: they only push to `seen`. */
interface Recorder {
  readonly seen: string[];
}

async function withSiteDir(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weir-site-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      const path = `${dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TYPED_SCRIPT = `
import type { SiteApi } from "../weir/site_api.ts";
enum Level { Low = 1, High = 5 }
interface Note { readonly text: string; readonly level: Level }
const notes: readonly Note[] = [{ text: "typed", level: Level.High }];
export default function (zeek: SiteApi & { seen: string[] }): void {
  for (const n of notes) zeek.seen.push(\`\${n.text}:\${n.level as number}\`);
}
`;

const PLAIN_SCRIPT =
  `export default async function (zeek) { await Promise.resolve(); zeek.seen.push("plain"); }`;

for (const loading of ["file", "inline"] satisfies SiteScriptLoading[]) {
  Deno.test(`site scripts (${loading}): TypeScript and JavaScript run in name order with the API`, async () => {
    await withSiteDir(
      { "20-typed.ts": TYPED_SCRIPT, "10-plain.js": PLAIN_SCRIPT, "notes.txt": "not a script" },
      async (dir) => {
        const api: Recorder = { seen: [] };
        const files = await loadSiteScripts(dir, api as unknown as SiteApi, { loading });
        assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ["10-plain.js", "20-typed.ts"]);
        assert.deepEqual(api.seen, ["plain", "typed:5"]);
      },
    );
  });

  Deno.test(`site scripts (${loading}): a script without a default export function stops loading`, async () => {
    await withSiteDir({ "a.ts": "export const x = 1;", "b.ts": PLAIN_SCRIPT }, async (dir) => {
      const api: Recorder = { seen: [] };
      const error = await loadSiteScripts(dir, api as unknown as SiteApi, { loading }).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(error instanceof SiteScriptError, String(error));
      assert.match(error.message, /a\.ts: it has no default export function/);
      assert.deepEqual(api.seen, [], "b.ts never ran");
    });
  });
}

Deno.test("site scripts (inline): an import of another file is refused with what to do instead", async () => {
  await withSiteDir({
    "lib/helper.ts": "export const name = 'helper';",
    "main.ts":
      `import { name } from "./lib/helper.ts";\nexport default function (zeek: { seen: string[] }) { zeek.seen.push(name); }`,
  }, async (dir) => {
    // From source the import works (helpers in a subdirectory are not site scripts themselves)...
    const fromFile: Recorder = { seen: [] };
    await loadSiteScripts(dir, fromFile as unknown as SiteApi, { loading: "file" });
    assert.deepEqual(fromFile.seen, ["helper"]);
    // ...inlined, as in a compiled binary, it cannot.
    const inline: Recorder = { seen: [] };
    await assert.rejects(
      loadSiteScripts(dir, inline as unknown as SiteApi, { loading: "inline" }),
      (error: Error) => {
        assert.ok(error instanceof SiteScriptError);
        assert.match(error.message, /main\.ts: .*cannot import other files or packages/);
        return true;
      },
    );
  });
});

Deno.test("site scripts (inline): a syntax error names the file", async () => {
  await withSiteDir({ "broken.ts": "export default function (: {" }, async (dir) => {
    await assert.rejects(
      loadSiteScripts(dir, { seen: [] } as unknown as SiteApi, { loading: "inline" }),
      (error: Error) => error instanceof SiteScriptError && /broken\.ts/.test(error.message),
    );
  });
});
