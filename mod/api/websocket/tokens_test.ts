import assert from "node:assert/strict";
import { allowedBy, TokenFileError, TokenFileModeError, TokenTable } from "./tokens.ts";

const A = "aaaaaaaaaaaaaaaa1111";
const B = "bbbbbbbbbbbbbbbb2222";
const C = "cccccccccccccccc3333";

Deno.test("TokenTable.parse reads names and prefix lists; authenticate finds the grant", async () => {
  const table = await TokenTable.parse(
    `# comment\n\n${A}\n${B} name=feed subscribe=feed.out.,zeek.cluster. publish=feed.in.  # trailing\n` +
      `${C} subscribe= publish=\n`,
    "tokens",
  );
  assert.equal(table.size, 3);
  assert.deepEqual(await table.authenticate(`Bearer ${A}`), {
    name: "line-3",
    subscribe: undefined,
    publish: undefined,
  });
  assert.deepEqual(await table.authenticate(`bearer   ${B}`), {
    name: "feed",
    subscribe: ["feed.out.", "zeek.cluster."],
    publish: ["feed.in."],
  });
  const none = (await table.authenticate(`Bearer ${C}`))!;
  assert.deepEqual([none.subscribe, none.publish], [[], []]);
  assert.equal(await table.authenticate(undefined), undefined);
  assert.equal(await table.authenticate(A), undefined, "the Bearer scheme is required");
  assert.equal(await table.authenticate(`Bearer ${A}x`), undefined);
});

Deno.test("allowedBy: undefined allows all, [] allows none, otherwise a prefix must match", () => {
  assert.ok(allowedBy(undefined, "anything"));
  assert.ok(!allowedBy([], "anything"));
  assert.ok(allowedBy(["feed.in."], "feed.in.x"));
  assert.ok(!allowedBy(["feed.in."], "feed.inx"));
});

Deno.test("TokenTable.parse lists every problem with its line", async () => {
  await assert.rejects(
    TokenTable.parse(`short\n${A} colour=blue\n${A}\n`, "/etc/weir/tokens"),
    (error: unknown) => {
      assert.ok(error instanceof TokenFileError);
      assert.deepEqual(error.problems.map((p) => p.line), [1, 2, 3]);
      assert.match(error.message, /^\/etc\/weir\/tokens:1: a token must be at least 16/);
      assert.match(error.message, /tokens:2: expected name=/);
      assert.match(error.message, /tokens:3: this token is already listed/);
      assert.ok(!error.message.includes(A), "a token never appears in an error");
      return true;
    },
  );
  await assert.rejects(TokenTable.parse("# nothing\n", "t"), /holds no tokens/);
});

Deno.test("TokenTable.load refuses group/other access and accepts 0600 and 0400", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tokens`;
    await Deno.writeTextFile(path, `${A}\n`);
    for (const mode of [0o644, 0o640, 0o606, 0o660]) {
      await Deno.chmod(path, mode);
      await assert.rejects(TokenTable.load(path), TokenFileModeError);
    }
    for (const mode of [0o600, 0o400]) {
      await Deno.chmod(path, mode);
      assert.equal((await TokenTable.load(path)).size, 1);
    }
    await assert.rejects(TokenTable.load(`${dir}/missing`), /cannot read the WebSocket token file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
