import assert from "node:assert/strict";
import { ControlTokenError, ensureControlToken, readControlToken } from "./token.ts";

async function run(...args: string[]): Promise<void> {
  const out = await new Deno.Command(args[0]!, { args: args.slice(1), stderr: "piped" }).output();
  if (!out.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("control token: created once (0600), the same on the next start, concurrent starts agree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-token-" });
  try {
    const file = `${dir}/spool/control.token`;
    const tokens = await Promise.all([1, 2, 3, 4].map(() => ensureControlToken(file)));
    assert.equal(new Set(tokens).size, 1, "every starter reads the one token");
    assert.match(tokens[0]!, /^[0-9a-f]{64}$/);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal(await ensureControlToken(file), tokens[0]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/spool`)].map((e) => e.name), ["control.token"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("control token: an empty one (left by an older weir on a full disk) is replaced; the verbs are told to start the manager", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-token-" });
  try {
    const file = `${dir}/control.token`;
    await Deno.writeTextFile(file, "", { mode: 0o600 });
    await assert.rejects(readControlToken(file), /empty or too short; start the manager/);
    const token = await ensureControlToken(file);
    assert.equal(await readControlToken(file), token);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "control token: on a full disk the start fails with one clear line and leaves no file behind",
  ignore: Deno.uid() !== 0, // mounts a tmpfs
  async fn() {
    const mount = await Deno.makeTempDir({ prefix: "weir-token-full-" });
    try {
      await run("mount", "-t", "tmpfs", "-o", "size=16k", "weir-token-full", mount);
      try {
        // Fill it to the last block.
        await Deno.writeFile(`${mount}/filler`, new Uint8Array(64 * 1024)).catch(() => {});
        const error = await ensureControlToken(`${mount}/control.token`).catch((e) => e);
        assert.ok(error instanceof ControlTokenError, String(error));
        assert.match(error.message, /^Cannot create the control token .*No space left on device/);
        assert.ok(!error.message.includes("\n"));
        const left = [...Deno.readDirSync(mount)].map((e) => e.name).sort();
        assert.deepEqual(left, ["filler"], "no token file, no temporary file");
        // Space returns: the next start creates it.
        await Deno.remove(`${mount}/filler`);
        assert.match(await ensureControlToken(`${mount}/control.token`), /^[0-9a-f]{64}$/);
      } finally {
        await run("umount", mount);
      }
    } finally {
      await Deno.remove(mount, { recursive: true });
    }
  },
});
