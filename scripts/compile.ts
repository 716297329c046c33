/**
 * `deno task compile`: builds `dist/weir`. `deno compile` downloads Deno's
 * `denort` runtime on first use; where that download is impossible this
 * stops with one line saying so (exit code 1), and weir still runs from
 * source (`./weir`). The binary holds what `main.ts` imports, and the
 * checked forwarder's Worker module; no tests, no benchmarks, no test
 * support (`testing/`).
 */

const out = new URL("../dist/weir", import.meta.url).pathname;
const main = new URL("../main.ts", import.meta.url).pathname;
// A Worker's module is not found by following imports: it is named here.
const forwarderWorker = new URL("../ffi/_forwarder_worker.ts", import.meta.url).pathname;
await Deno.mkdir(new URL("../dist", import.meta.url), { recursive: true });
const result = await new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "-A",
    "--quiet",
    "--output",
    out,
    "--include",
    forwarderWorker,
    main,
  ],
  stdout: "inherit",
  stderr: "piped",
}).output();
const stderr = new TextDecoder().decode(result.stderr);
if (result.success) {
  console.log(`compile: built ${out}`);
  Deno.exit(0);
}
if (
  /denort|download|dl\.deno\.land|error sending request|dns error|Connection refused|timed out/i
    .test(stderr)
) {
  console.error(
    "compile: deno compile could not download its denort runtime (no access to Deno's download server from this machine); run weir from source with ./weir, or set DENORT_BIN to a local denort binary",
  );
} else {
  console.error(`compile: deno compile failed:\n${stderr}`);
}
Deno.exit(1);
