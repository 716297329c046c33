import assert from "node:assert/strict";
import { fileId, formatHandleTime, HighwayHash128 } from "./file_id.ts";

const RESEARCH = new URL("../../shared/research/http-files-ssl-x509.md", import.meta.url);

Deno.test("HighwayHash-128: the reference vector (key 00..1f, empty input)", () => {
  const key = new Uint8Array(32).map((_, i) => i);
  const view = new DataView(key.buffer);
  const lanes = [0, 8, 16, 24].map((o) => view.getBigUint64(o, true));
  assert.deepEqual(new HighwayHash128(lanes).digest(new Uint8Array(0)), [
    0x0FED268F9D8FFEC7n,
    0x33565E767F093E6Fn,
  ]);
});

Deno.test("fuid: the handle Zeek's HTTP script builds for get.pcap's reply gives Zeek's fuid", () => {
  assert.equal(
    fileId(
      "Analyzer::ANALYZER_HTTP1362692526.869344F11141.142.228.5:59856 > 192.150.187.43:80",
    ),
    "FMnxxt3xjVcWNS2141",
  );
});

Deno.test("handle times print as Zeek's ODesc::Add(double)", () => {
  assert.equal(formatHandleTime(1362692526.869344), "1362692526.869344");
  assert.equal(formatHandleTime(1443732977.72774), "1443732977.72774");
  assert.equal(formatHandleTime(1700000000), "1700000000.0");
  assert.equal(formatHandleTime(1700000000.5), "1700000000.5");
});

Deno.test({
  name:
    "fuid: 300 handles of every length mod 32 agree with the research note's reference (Appendix A)",
  ignore: !exists(RESEARCH) || !hasPython(),
  async fn() {
    const text = await Deno.readTextFile(RESEARCH);
    const start = text.indexOf("```python", text.indexOf("## Appendix A"));
    const code = text.slice(start + "```python".length, text.indexOf("```", start + 9));
    const handles: string[] = [];
    for (let i = 0; i < 300; i++) {
      const n = i % 97;
      handles.push(
        Array.from({ length: n }, (_, j) => String.fromCharCode(33 + ((i * 31 + j * 7) % 90))).join(
          "",
        ),
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "weir-fuid-" });
    try {
      await Deno.writeTextFile(`${dir}/fuid.py`, code);
      const out = await new Deno.Command("python3", {
        args: [`${dir}/fuid.py`, ...handles.filter((h) => h !== "")],
        stdout: "piped",
      }).output();
      const expected = new TextDecoder().decode(out.stdout).trim().split("\n");
      const ours = handles.filter((h) => h !== "").map((h) => fileId(h));
      assert.deepEqual(ours, expected);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["-c", "1"] }).outputSync().success;
  } catch {
    return false;
  }
}
