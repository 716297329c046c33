/**
 * Fuzzing the DNS parser: DNS payloads from the corpus pcaps (or messages
 * built here when the corpus is absent), mutated by a seeded PRNG (bit
 * flips, truncation, random length and count fields, compression pointers
 * aimed anywhere, spliced bytes), fed as UDP datagrams and as TCP streams.
 * Fails on any exception, on a run that takes too long, and on state that
 * grows past Zeek's bounds. The seed is printed; set `WEIR_FUZZ_SEED` to
 * it to rerun the same inputs.
 */

import assert from "node:assert/strict";
import { appsCorpusPayloads } from "../../../testing/apps_corpus.ts";
import { LogRegistry } from "../../log/mod.ts";
import type { ConnEndpoints } from "../framework/mod.ts";
import { DnsInterpreter, type InterpreterHost } from "./interpreter.ts";
import { DnsSessions, type SessionHost } from "./session.ts";
import { DnsTcpFraming } from "./tcp_framing.ts";
import { mulberry32 as prng } from "../../../testing/prng.ts";

const DNS_PORTS = new Set([53, 137, 5353, 5355]);
const MESSAGES = 100_000;
const TIME_LIMIT_MS = 15_000;

async function corpusPayloads(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const p of appsCorpusPayloads(/^(dns-|wikipedia)/)) {
    if (!DNS_PORTS.has(p.srcPort) && !DNS_PORTS.has(p.dstPort)) continue;
    let m = p.payload;
    // DNS over TCP: drop the length prefix of a segment that starts a message.
    if (p.proto === 6 && m.length > 2 && ((m[0]! << 8) | m[1]!) === m.length - 2) m = m.slice(2);
    out.push(m);
  }
  return out;
}

/** Messages built here: every RR type the parser knows, with compression. */
function builtPayloads(): Uint8Array[] {
  const types = [
    1,
    2,
    5,
    6,
    11,
    12,
    13,
    15,
    16,
    28,
    29,
    32,
    33,
    35,
    38,
    41,
    43,
    44,
    46,
    47,
    48,
    50,
    51,
    64,
    65,
    99,
    249,
    250,
    257,
    65534,
    52,
  ];
  return types.map((t, i) => {
    const rdata = Array.from({ length: 24 }, (_, k) => (k * 37 + t) & 0xff);
    rdata[0] = 3;
    return Uint8Array.from([
      0,
      i,
      0x85,
      0x80,
      0,
      1,
      0,
      2,
      0,
      1,
      0,
      1,
      3,
      0x77,
      0x77,
      0x77,
      1,
      0x78,
      0,
      0,
      t >> 8,
      t & 0xff,
      0,
      1,
      0xc0,
      12,
      t >> 8,
      t & 0xff,
      0,
      1,
      0,
      0,
      1,
      0,
      0,
      rdata.length,
      ...rdata,
      0xc0,
      16,
      0,
      1,
      0,
      1,
      0,
      0,
      0,
      5,
      0,
      4,
      1,
      2,
      3,
      4,
      0,
      0,
      2,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      3,
      0xc0,
      12,
      0,
      0,
      0,
      41,
      16,
      0,
      0,
      0,
      0,
      0,
      0,
      8,
      0,
      8,
      0,
      4,
      0,
      1,
      24,
      0,
    ]);
  });
}

function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
  let m = seed.slice();
  const ops = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rand() * Math.max(1, m.length));
    switch (Math.floor(rand() * 7)) {
      case 0: // bit flips
        if (m.length > 0) m[at] = m[at]! ^ (1 << Math.floor(rand() * 8));
        break;
      case 1: // truncation
        m = m.slice(0, at);
        break;
      case 2: // a 16-bit length field anywhere, often extreme
        if (at + 1 < m.length) {
          const v = [0, 1, 0xffff, 0xff, Math.floor(rand() * 65536)][Math.floor(rand() * 5)]!;
          m[at] = v >> 8;
          m[at + 1] = v & 0xff;
        }
        break;
      case 3: // a compression pointer, backwards, to itself or forwards
        if (at + 1 < m.length) {
          const target = [at, Math.floor(rand() * at), at + 2, 12][Math.floor(rand() * 4)]!;
          m[at] = 0xc0 | ((target >> 8) & 0x3f);
          m[at + 1] = target & 0xff;
        }
        break;
      case 4: // header counts
        if (m.length >= 12) {
          const c = 4 + 2 * Math.floor(rand() * 4);
          const v = [0, 1, 25, 26, 0xffff, Math.floor(rand() * 65536)][Math.floor(rand() * 6)]!;
          m[c] = v >> 8;
          m[c + 1] = v & 0xff;
        }
        break;
      case 5: { // splice bytes from elsewhere in the message
        const from = Math.floor(rand() * Math.max(1, m.length));
        const n = Math.floor(rand() * 16);
        const piece = m.slice(from, from + n);
        const out = new Uint8Array(m.length + piece.length);
        out.set(m.subarray(0, at));
        out.set(piece, at);
        out.set(m.subarray(at), at + piece.length);
        m = out;
        break;
      }
      default: // opcode and flags
        if (m.length >= 4) {
          m[2] = Math.floor(rand() * 256);
          m[3] = Math.floor(rand() * 256);
        }
    }
  }
  return m;
}

Deno.test("fuzz: 100,000 mutated DNS messages, UDP and TCP, never throw, hang or grow", async () => {
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const corpus = await corpusPayloads();
  const seeds = corpus.length > 0 ? corpus : builtPayloads();
  console.log(
    `dns fuzz seed ${seed} (rerun: WEIR_FUZZ_SEED=${seed}), ${seeds.length} ${
      corpus.length > 0 ? "corpus" : "built"
    } seed messages`,
  );
  const rand = prng(seed);
  let rows = 0;
  let weirds = 0;
  const logs = new LogRegistry({ validate: true });
  logs.setSink({ write: () => void rows++ });
  const started = performance.now();
  let time = 1000;
  let sessions: DnsSessions | undefined;
  let interpreter: DnsInterpreter | undefined;
  let tcp: [DnsTcpFraming, DnsTcpFraming] | undefined;
  const ids: ConnEndpoints[] = [
    { origH: "10.0.0.1", origP: 40000, respH: "10.0.0.2", respP: 53, proto: "udp" },
    { origH: "10.0.0.1", origP: 137, respH: "10.0.0.255", respP: 137, proto: "udp" },
    { origH: "10.0.0.1", origP: 5353, respH: "224.0.0.251", respP: 5353, proto: "udp" },
    { origH: "10.0.0.1", origP: 40000, respH: "10.0.0.2", respP: 53, proto: "tcp" },
  ];
  let id = ids[0]!;
  const sessionHost: SessionHost = {
    uid: "Cfuzz",
    logs,
    events: undefined,
    endpoints: () => id,
    respIsMulticast: () => id.respH === "224.0.0.251",
    now: () => time,
    connection: () => ({}),
  };
  const host: InterpreterHost = {
    weird: () => void weirds++,
    history: () => {},
    violate: () => {},
    confirm: () => {},
    flip: () => {
      id = { origH: id.respH, origP: id.respP, respH: id.origH, respP: id.origP, proto: id.proto };
    },
    respIsMulticast: () => id.respH === "224.0.0.251",
    respPort: () => id.respP,
    get udp() {
      return id.proto === "udp";
    },
  };
  for (let n = 0; n < MESSAGES; n++) {
    if (n % 500 === 0) {
      sessions?.done();
      id = ids[Math.floor(rand() * ids.length)]!;
      sessions = new DnsSessions(sessionHost, rand() < 0.3);
      interpreter = new DnsInterpreter(host, sessions, id.respP === 137, {
        skipAllAuth: rand() < 0.5,
        skipAllAddl: rand() < 0.5,
      });
      const i = interpreter;
      tcp = [
        new DnsTcpFraming((m) => i.parseMessage(m, 1), (m) => i.parseMessage(m, 2)),
        new DnsTcpFraming((m) => i.parseMessage(m, 0), (m) => i.parseMessage(m, 2)),
      ];
    }
    const m = mutate(seeds[Math.floor(rand() * seeds.length)]!, rand);
    time += rand() * 0.01;
    if (id.proto === "udp") {
      interpreter!.parseMessage(m, rand() < 0.5 ? 1 : 0);
    } else {
      const side = rand() < 0.5 ? 0 : 1;
      const framed = new Uint8Array(m.length + 2);
      framed[0] = rand() < 0.1 ? Math.floor(rand() * 256) : m.length >> 8;
      framed[1] = m.length & 0xff;
      framed.set(m, 2);
      const cut = Math.floor(rand() * framed.length);
      tcp![side]!.push(framed.subarray(0, cut));
      tcp![side]!.push(framed.subarray(cut));
      if (rand() < 0.01) {
        tcp![0].flush();
        tcp![1].flush();
      }
    }
    // Zeek's bounds: at most 51 ids of at most 51 queued messages per table, plus the fast path.
    if (n % 97 === 0) assert.ok(sessions!.pendingCount() <= 2 * 51 * 52 + 1);
    if (n % 1000 === 0) {
      assert.ok(
        performance.now() - started < TIME_LIMIT_MS,
        `fuzzing took over ${TIME_LIMIT_MS} ms after ${n} messages (seed ${seed})`,
      );
    }
  }
  sessions!.done();
  const ms = performance.now() - started;
  console.log(
    `dns fuzz: ${MESSAGES} messages in ${ms.toFixed(0)} ms, ${rows} rows, ${weirds} weirds`,
  );
  assert.ok(rows > 0 && weirds > 0);
});
