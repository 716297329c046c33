/**
 * `weir check` on a configuration with site scripts, as zeekctl's check:
 * one line per node, SitePolicyScripts for every node and aux_scripts for
 * one, a script that loads from source but not in the compiled binary, and
 * a policy script that does not exist.
 */

import assert from "node:assert/strict";
import { writeConfig } from "./harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function check(dir: string): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "check", "--config", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

const NODE_CFG = `
[manager]
type=manager
host=localhost

[logger-1]
type=logger
host=localhost

[worker-1]
type=worker
host=localhost
interface=lo
aux_scripts=worker.ts

[worker-2]
type=worker
host=localhost
interface=lo
`;

const LOCAL = `
import type { SiteApi } from "./types.ts";
export default function (zeek: SiteApi): void {
  zeek.subscribe("site.");
}
`;

Deno.test("weir check: every node's site scripts, including what only loads from source", async () => {
  const config = await writeConfig({
    nodeCfg: NODE_CFG,
    weirCfg: "SiteDir = site\nSitePolicyScripts = local.ts\n",
    site: {
      "local.ts": LOCAL,
      // Works from source, but a compiled weir cannot import ./lib/helper.ts.
      "worker.ts":
        `import { topic } from "./lib/helper.ts";\nexport default function (zeek) { zeek.subscribe(topic); }\n`,
      // Not in SitePolicyScripts: not loaded, so its error does not matter.
      "unused.ts": "this is not a module",
    },
  });
  try {
    await Deno.mkdir(`${config.dir}/site/lib`);
    await Deno.writeTextFile(
      `${config.dir}/site/lib/helper.ts`,
      `export const topic = "site.w";\n`,
    );

    const first = await check(config.dir);
    assert.equal(first.code, 1, first.out + first.err);
    assert.match(first.out, /^manager scripts are ok\.$/m);
    assert.match(first.out, /^logger-1 scripts are ok\.$/m);
    assert.match(first.out, /^worker-2 scripts are ok\.$/m);
    assert.match(
      first.err,
      /^worker-1 scripts failed: Cannot load site script .*\/worker\.ts: .*cannot import other files or packages/m,
    );

    await Deno.writeTextFile(
      `${config.dir}/site/worker.ts`,
      `const topic = "site.w";\nexport default function (zeek) { zeek.subscribe(topic); }\n`,
    );
    const fixed = await check(config.dir);
    assert.equal(fixed.code, 0, fixed.out + fixed.err);
    assert.equal(fixed.out.match(/scripts are ok\./g)?.length, 4);

    await Deno.writeTextFile(
      `${config.dir}/weir.cfg`,
      (await Deno.readTextFile(`${config.dir}/weir.cfg`)).replace("local.ts", "local.ts gone.ts"),
    );
    const missing = await check(config.dir);
    assert.equal(missing.code, 1);
    assert.equal(missing.err.match(/scripts failed: .*gone\.ts: no such file/g)?.length, 4);
  } finally {
    await Deno.remove(config.dir, { recursive: true });
  }
});

Deno.test("weir check: a port another program holds is named with the setting that moves it", async () => {
  const config = await writeConfig({
    nodeCfg:
      "[manager]\ntype=manager\nhost=localhost\n\n[logger-1]\ntype=logger\nhost=localhost\n" +
      "\n[worker-1]\ntype=worker\nhost=localhost\ninterface=lo\n",
  });
  const weirCfg = await Deno.readTextFile(`${config.dir}/weir.cfg`);
  const webSocketPort = Number(/WebSocketPort = (\d+)/.exec(weirCfg)![1]);
  try {
    const free = await check(config.dir);
    assert.equal(free.code, 0, free.out + free.err);
    assert.match(free.out, /listening ports of this host are free/);
    // A second cluster (or anything) on the WebSocket port and on a logger's metrics port.
    using _ws = Deno.listen({ hostname: "127.0.0.1", port: webSocketPort });
    using _metrics = Deno.listen({ hostname: "127.0.0.1", port: config.metricsPort + 1 });
    const taken = await check(config.dir);
    assert.equal(taken.code, 1, taken.out + taken.err);
    assert.match(
      taken.err,
      new RegExp(
        `port 127\\.0\\.0\\.1:${webSocketPort} for the WebSocket API \\(WebSocketPort\\) is taken`,
      ),
    );
    assert.match(taken.err, /for the metrics of logger-1 \(MetricsPort\) is taken/);
    assert.doesNotMatch(taken.err, /at .*\.ts:\d+/, "a stack trace");
  } finally {
    await Deno.remove(config.dir, { recursive: true });
  }
});

Deno.test("a manager for an address this host does not have stops with one line", async () => {
  const config = await writeConfig({
    nodeCfg: "[manager]\ntype=manager\nhost=192.0.2.1\n\n[logger]\ntype=logger\nhost=192.0.2.1\n",
  });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "--role", "manager", "--config", config.dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1, err);
    const lines = err.trim().split("\n").filter((l) => l.startsWith("weir:"));
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, /192\.0\.2\.1.*this host has no such address/);
    assert.doesNotMatch(err, /^\s+at /m, "a stack trace");
  } finally {
    await Deno.remove(config.dir, { recursive: true });
  }
});
