import assert from "node:assert/strict";
import type { SiteApi } from "./site_api.ts";
import {
  checkNodeScripts,
  listSiteScripts,
  loadSiteScripts,
  SiteScriptError,
  type SiteScriptLoading,
} from "./site_scripts.ts";

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
        const files = await loadSiteScripts({ siteDir: dir }, api as unknown as SiteApi, {
          loading,
        });
        assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ["10-plain.js", "20-typed.ts"]);
        assert.deepEqual(api.seen, ["plain", "typed:5"]);
      },
    );
  });

  Deno.test(`site scripts (${loading}): a script without a default export function stops loading`, async () => {
    await withSiteDir({ "a.ts": "export const x = 1;", "b.ts": PLAIN_SCRIPT }, async (dir) => {
      const api: Recorder = { seen: [] };
      const error = await loadSiteScripts({ siteDir: dir }, api as unknown as SiteApi, { loading })
        .then(
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
    await loadSiteScripts({ siteDir: dir }, fromFile as unknown as SiteApi, { loading: "file" });
    assert.deepEqual(fromFile.seen, ["helper"]);
    // ...inlined, as in a compiled binary, it cannot.
    const inline: Recorder = { seen: [] };
    await assert.rejects(
      loadSiteScripts({ siteDir: dir }, inline as unknown as SiteApi, { loading: "inline" }),
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
      loadSiteScripts({ siteDir: dir }, { seen: [] } as unknown as SiteApi, { loading: "inline" }),
      (error: Error) => error instanceof SiteScriptError && /broken\.ts/.test(error.message),
    );
  });
});

const push = (word: string) =>
  `export default function (zeek) { zeek.seen.push(${JSON.stringify(word)}); }`;

Deno.test("site scripts: SitePolicyScripts picks and orders the scripts, then the node's aux_scripts", async () => {
  await withSiteDir(
    { "a.ts": push("a"), "b.ts": push("b"), "c.ts": push("c"), "extra/w.ts": push("w") },
    async (dir) => {
      const everything: Recorder = { seen: [] };
      await loadSiteScripts(
        { siteDir: dir, aux: ["extra/w.ts"] },
        everything as unknown as SiteApi,
      );
      assert.deepEqual(everything.seen, ["a", "b", "c", "w"]);

      const chosen: Recorder = { seen: [] };
      const files = await loadSiteScripts(
        { siteDir: dir, policy: ["c.ts", "a.ts"], aux: [`${dir}/extra/w.ts`, "a.ts"] },
        chosen as unknown as SiteApi,
      );
      assert.deepEqual(chosen.seen, ["c", "a", "w"], "policy order, aux after, a.ts once");
      assert.deepEqual(files, [`${dir}/c.ts`, `${dir}/a.ts`, `${dir}/extra/w.ts`]);
    },
  );
});

Deno.test("site scripts: a named script that does not exist is an error; a missing SiteDir is none", async () => {
  await withSiteDir({ "a.ts": push("a") }, async (dir) => {
    await assert.rejects(
      listSiteScripts({ siteDir: dir, policy: ["a.ts", "local.ts"] }),
      (error: Error) =>
        error instanceof SiteScriptError && error.file === `${dir}/local.ts` &&
        /no such file \(named in SitePolicyScripts or aux_scripts\)/.test(error.message),
    );
    await assert.rejects(listSiteScripts({ siteDir: dir, aux: ["gone.ts"] }), SiteScriptError);
    assert.deepEqual(await listSiteScripts({ siteDir: `${dir}/absent` }), []);
  });
});

Deno.test("site scripts: check imports every node's scripts without running them", async () => {
  await withSiteDir({ "a.ts": push("a"), "b.ts": "export const nothing = 1;" }, async (dir) => {
    const ok: string[] = [];
    const problems: string[] = [];
    const out = { ok: (l: string) => ok.push(l), problem: (l: string) => problems.push(l) };
    // Run, a.ts would throw here: it pushes to an API that check does not have.
    const nodes = [{ name: "worker-1", auxScripts: [] }, {
      name: "worker-2",
      auxScripts: ["b.ts"],
    }];
    assert.equal(await checkNodeScripts(dir, ["a.ts"], nodes, out), 1);
    assert.deepEqual(ok, ["worker-1 scripts are ok."]);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^worker-2 scripts failed: Cannot load site script .*\/b\.ts: it has no default export function/,
    );
  });
});
