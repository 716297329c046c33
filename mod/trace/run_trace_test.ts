import assert from "node:assert/strict";
import { runTrace } from "./run_trace.ts";

/** Worker processes that are shell scripts: one fails at once, the other ignores SIGTERM and writes late. */
function scripted(scripts: readonly string[]) {
  return (index: number, _count: number, dir: string) =>
    new Deno.Command("sh", {
      args: ["-c", scripts[index]!, "sh", dir],
      stdout: "piped",
      stderr: "piped",
    });
}

Deno.test("weir -r --workers: a failing worker's own error is reported, after every worker ended; nothing is left behind", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "weir-run-trace-" });
  try {
    const said: string[] = [];
    const error = await runTrace({
      path: "t.pcap",
      logDir,
      checksums: true,
      workers: 2,
      say: (l) => said.push(l),
      spawnWorker: scripted([
        "echo 'cannot read t.pcap: boom' >&2; exit 3",
        // Still writing into its directory after the first one failed.
        `trap '' TERM; sleep 1; echo row > "$1/conn.log"; echo '{"packets":1,"analyzed":1,"connections":1,"weirds":0}'`,
      ]),
    }).catch((e) => e);
    assert.ok(error instanceof Error);
    assert.equal(error.message, "trace worker 1 of 2 failed: cannot read t.pcap: boom");
    assert.deepEqual([...Deno.readDirSync(logDir)].map((e) => e.name), [], "no .weir-trace-* left");
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("weir -r --workers: the workers' logs are merged and their warning said once", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "weir-run-trace-" });
  try {
    const said: string[] = [];
    const worker = (ts: string) =>
      `printf '#fields\\tts\\n${ts}\\n' > "$1/conn.log"; ` +
      `echo '{"packets":2,"analyzed":1,"connections":1,"weirds":0,"warning":"trace is truncated"}'`;
    await runTrace({
      path: "t.pcap",
      logDir,
      checksums: true,
      workers: 2,
      say: (l) => said.push(l),
      spawnWorker: scripted([worker("2.0"), worker("1.0")]),
    });
    assert.equal(await Deno.readTextFile(`${logDir}/conn.log`), "#fields\tts\n1.0\n2.0\n");
    assert.deepEqual(said.filter((l) => l.startsWith("warning")), ["warning: trace is truncated"]);
    assert.deepEqual([...Deno.readDirSync(logDir)].map((e) => e.name), ["conn.log"]);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});
