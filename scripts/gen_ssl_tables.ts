/**
 * `deno run -A scripts/gen_ssl_tables.ts ZEEK_SRC [--rev REV]`: writes
 * `mod/analysis/ssl/ssl_tables.ts`, the name tables Zeek's ssl.log prints
 * (`SSL::version_strings`, `cipher_desc`, `ec_curves`, `alert_descriptions`),
 * read from Zeek's `scripts/base/protocols/ssl/consts.zeek`, and the cipher
 * suites whose ServerKeyExchange Zeek's binpac grammar parses as (EC)DHE
 * (`tls-handshake-protocol.pac`, codes from `ssl-defs.pac`). ZEEK_SRC is a
 * checkout or a bare git mirror (then `--rev`, default HEAD, picks the
 * commit). The output is data, checked in: CI does not need Zeek's sources.
 *
 * @module
 */

const CONSTS = "scripts/base/protocols/ssl/consts.zeek";
const OUT = new URL("../mod/analysis/ssl/ssl_tables.ts", import.meta.url);

const GRAMMAR = "src/analyzer/protocol/ssl/tls-handshake-protocol.pac";
const DEFS = "src/analyzer/protocol/ssl/ssl-defs.pac";

async function readSource(
  src: string,
  rev: string,
  path: string,
): Promise<{ text: string; commit: string }> {
  try {
    return { text: await Deno.readTextFile(`${src}/${path}`), commit: "(a checkout)" };
  } catch {
    const git = (args: string[]) =>
      new Deno.Command("git", { args: [`--git-dir=${src}`, ...args], stdout: "piped" })
        .outputSync();
    const show = git(["show", `${rev}:${path}`]);
    if (!show.success) throw new Error(`Cannot read ${path} from ${src} at ${rev}`);
    const commit = new TextDecoder().decode(git(["rev-parse", rev]).stdout).trim();
    return { text: new TextDecoder().decode(show.stdout), commit };
  }
}

/**
 * The suites of each `->` arm of `ServerKeyExchange`'s casetype, by the
 * arm's field name (`ecdhe_server_key_exchange`, …), as codes.
 */
function keyExchangeArms(grammar: string, defs: Map<string, number>): Map<string, number[]> {
  const start = grammar.indexOf("type ServerKeyExchange(");
  const end = grammar.indexOf("default", start);
  if (start < 0 || end < 0) throw new Error(`${GRAMMAR} has no ServerKeyExchange casetype`);
  const arms = new Map<string, number[]>();
  let names: string[] = [];
  for (const line of grammar.slice(grammar.indexOf("{", start) + 1, end).split("\n")) {
    const text = line.replace(/#.*/, "").trim();
    const arm = /^->\s*(\w+)/.exec(text);
    if (arm !== null) {
      arms.set(
        arm[1]!,
        names.map((n) => {
          const code = defs.get(n);
          if (code === undefined) throw new Error(`${DEFS} does not define ${n}`);
          return code;
        }),
      );
      names = [];
    } else if (text !== "") names.push(...text.split(",").map((n) => n.trim()).filter(Boolean));
  }
  return arms;
}

/** `[KEY] = "name",` entries of one `const <name>: table[count] of string = { … }`. */
function table(text: string, name: string, constants: Map<string, number>): [number, string][] {
  const start = text.indexOf(`const ${name}: table[count] of string = {`);
  if (start < 0) throw new Error(`consts.zeek has no table ${name}`);
  const end = text.indexOf("}", text.indexOf("{", start));
  const out: [number, string][] = [];
  for (const m of text.slice(start, end).matchAll(/\[\s*([A-Za-z0-9_]+)\s*\]\s*=\s*"([^"]*)"/g)) {
    const key = /^(0x[0-9a-fA-F]+|\d+)$/.test(m[1]!) ? Number(m[1]) : constants.get(m[1]!);
    if (key === undefined) throw new Error(`${name}: unknown constant ${m[1]}`);
    out.push([key, m[2]!]);
  }
  return out;
}

const src = Deno.args[0];
if (src === undefined) {
  console.error("usage: deno run -A scripts/gen_ssl_tables.ts ZEEK_SRC [--rev REV]");
  Deno.exit(2);
}
const revAt = Deno.args.indexOf("--rev");
const rev = revAt >= 0 ? Deno.args[revAt + 1]! : "HEAD";
const { text, commit } = await readSource(src, rev, CONSTS);
const defs = new Map<string, number>();
for (
  const m of (await readSource(src, rev, DEFS)).text.matchAll(/(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)/g)
) {
  defs.set(m[1]!, Number(m[2]));
}
const arms = keyExchangeArms((await readSource(src, rev, GRAMMAR)).text, defs);
const armOf = (name: string) => {
  const codes = arms.get(name);
  if (codes === undefined) throw new Error(`${GRAMMAR}: ServerKeyExchange has no arm ${name}`);
  return codes;
};
const suites = {
  ECDHE_SUITES: armOf("ecdhe_server_key_exchange"),
  ECDH_ANON_SUITES: armOf("ecdh_anon_server_key_exchange"),
  DHE_SUITES: armOf("dhe_server_key_exchange"),
  DH_ANON_SUITES: armOf("dh_anon_server_key_exchange"),
};
const constants = new Map<string, number>();
for (const m of text.matchAll(/const\s+([A-Za-z0-9_]+)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*;/g)) {
  constants.set(m[1]!, Number(m[2]));
}
const render = (rows: [number, string][]) =>
  rows.map(([k, v]) => `  [0x${k.toString(16).toUpperCase()}, ${JSON.stringify(v)}],`).join("\n");
const tables = {
  VERSION_NAMES: table(text, "version_strings", constants),
  CIPHER_NAMES: table(text, "cipher_desc", constants),
  CURVE_NAMES: table(text, "ec_curves", constants),
  ALERT_NAMES: table(text, "alert_descriptions", constants),
};
const body =
  Object.entries(tables).map(([name, rows]) =>
    `/** ${rows.length} entries. */\nexport const ${name}: ReadonlyMap<number, string> = new Map([\n${
      render(rows)
    }\n]);\n`
  ).join("\n") + "\n" + Object.entries(suites).map(([name, codes]) =>
    `/** ${codes.length} suites (\`${
      name.toLowerCase().replace(/_suites$/, "")
    }\` ServerKeyExchange). */\n` +
    `export const ${name}: ReadonlySet<number> = new Set([\n${
      codes.map((c) => `  0x${c.toString(16).toUpperCase()},`).join("\n")
    }\n]);\n`
  ).join("\n");
await Deno.writeTextFile(
  OUT,
  `/**
 * Zeek's ssl.log name tables, generated by scripts/gen_ssl_tables.ts from
 * zeek/zeek ${commit}, ${CONSTS}, ${GRAMMAR} and ${DEFS} (BSD-3-Clause, see Zeek's COPYING): do not
 * edit. Names not listed fall back as Zeek's \`&default\` functions do
 * (\`ssl_names.ts\`).
 *
 * @module
 */

${body}`,
);
console.log(
  `wrote ${OUT.pathname}: ${Object.values(tables).map((t) => t.length).join(", ")} entries`,
);
