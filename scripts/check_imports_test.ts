import assert from "node:assert/strict";

const SCRIPT = new URL("./check_imports.ts", import.meta.url).pathname;

async function checkTree(files: Record<string, string>, ...flags: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "weir-check-imports-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", SCRIPT, ...flags, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const README = "# x\n\n### Layers\n\n```\nmain.ts\nroles/a roles/b\nlib\n```\n";
const GOOD = {
  "README.md": README,
  "main.ts": 'import { a } from "./roles/a/mod.ts";\n',
  "roles/a/mod.ts": 'export { a } from "./a.ts";\n',
  "roles/a/a.ts": 'import { lib } from "../../lib/mod.ts";\nexport const a = lib;\n',
  "roles/b/mod.ts": "export const b = 1;\n",
  "lib/mod.ts": 'export { lib } from "./lib.ts";\n',
  "lib/lib.ts": "export const lib = 1;\n",
  "lib/lib_test.ts": 'import { a } from "../roles/a/a.ts";\n',
};

Deno.test("check_imports: a tree that imports down through doors passes; tests may import anything", async () => {
  const r = await checkTree(GOOD);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("check_imports: an import up the layers, across one, or past a door fails, each named", async () => {
  const r = await checkTree({
    ...GOOD,
    "lib/lib.ts": 'import { a } from "../roles/a/mod.ts";\nexport const lib = a;\n',
    "roles/b/b.ts": 'import { a } from "../a/mod.ts";\n',
    "main.ts": 'import { a } from "./roles/a/a.ts";\n',
    "stray/x.ts": "export const x = 1;\n",
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /lib\/lib\.ts: imports roles\/a\/mod\.ts \(runs up the layers\)/);
  assert.match(r.stderr, /roles\/b\/b\.ts: imports roles\/a\/mod\.ts \(runs across one layer\)/);
  assert.match(r.stderr, /main\.ts: imports roles\/a\/a\.ts \(bypasses the door of roles\/a\)/);
  assert.match(r.stderr, /stray\/x\.ts: is in no layer/);
  const lenient = await checkTree(
    { ...GOOD, "main.ts": 'import { a } from "./roles/a/a.ts";\n' },
    "--no-doors",
  );
  assert.equal(lenient.code, 0, lenient.stderr);
});
