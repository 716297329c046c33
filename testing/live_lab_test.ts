import assert from "node:assert/strict";
import { labUnavailable, run, VethLab } from "./live_lab.ts";

const unavailable = await labUnavailable();
if (unavailable !== undefined) console.log(`%cSKIPPED live lab: ${unavailable}`, "color: yellow");

Deno.test({
  name: "VethLab builds two namespaces with a veth pair and removes them",
  ignore: unavailable !== undefined,
  async fn() {
    let names: string[] = [];
    {
      await using lab = await VethLab.create({ queues: 2 });
      names = [lab.senderNs, lab.captureNs];
      const list = await run("ip", ["netns", "list"]);
      for (const ns of names) assert.match(list, new RegExp(`^${ns}\\b`, "m"));
      const link = await lab.inCapture("ip", ["-d", "link", "show", lab.captureDevice]);
      assert.match(link, /veth/);
      assert.match(link, /state (UP|LOWERLAYERDOWN)|,UP/);
      assert.match(link, /numtxqueues 2 numrxqueues 2/);
      assert.doesNotMatch(await lab.inCapture("ip", ["-6", "addr"]), /inet6/);
    }
    const after = await run("ip", ["netns", "list"]);
    for (const ns of names) assert.doesNotMatch(after, new RegExp(`^${ns}\\b`, "m"));
  },
});

Deno.test("run reports the failing command and its stderr", async () => {
  await assert.rejects(
    run("sh", ["-c", "echo oops >&2; exit 3"]),
    /sh -c .* failed \(status 3\): oops/,
  );
});
