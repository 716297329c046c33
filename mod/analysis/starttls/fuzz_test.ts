/**
 * Fuzzing the STARTTLS analyzers: per protocol, conversations (built here,
 * and the corpus trace's connection when `../shared` is there) are
 * mutated by a seeded PRNG (bit flips, protocol tokens and numbers
 * inserted, bytes deleted, truncation, re-split deliveries, content gaps,
 * repeated chunks, a chunk sent by the other side, random bytes) and run
 * through a fresh analyzer each, on a fake connection whose SSL child
 * records what it gets. Fails on an escaping exception or a run over its
 * time limit. The seed is printed; `WEIR_FUZZ_SEED` reruns it.
 */

import assert from "node:assert/strict";
import { appsCorpusPayloads } from "../../../testing/apps_corpus.ts";
import { concat } from "../../../testing/frames.ts";
import { mulberry32 as prng } from "../../../testing/prng.ts";
import { LogRegistry } from "../../log/mod.ts";
import type { AnalyzerSpec, ChildAnalyzer, ConnEndpoints } from "../framework/mod.ts";
import { RecordingHost } from "../../../testing/analyzer_host.ts";
import { CLIENT_HELLO, encodeBase64, SERVER_HELLO, text, type Turn } from "./fake_ssl_test.ts";
import {
  FTP_ANALYZER,
  IMAP_ANALYZER,
  IRC_ANALYZER,
  MYSQL_ANALYZER,
  POP3_ANALYZER,
  RDP_ANALYZER,
  SMTP_ANALYZER,
  XMPP_ANALYZER,
} from "./mod.ts";

const PER_PROTOCOL = 20_000;
const TIME_LIMIT_MS = 120_000;

const c = (s: string | Uint8Array): Turn => ({
  orig: true,
  data: typeof s === "string" ? text(s) : s,
});
const s = (x: string | Uint8Array): Turn => ({
  orig: false,
  data: typeof x === "string" ? text(x) : x,
});
const le = (v: number, n: number) => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
const mysql = (seq: number, payload: Uint8Array) =>
  concat(new Uint8Array([...le(payload.length, 3), seq]), payload);
const tpkt = (type: number, body: Uint8Array) => {
  const cotp = concat(new Uint8Array([6 + body.length, type, 0, 0, 0x12, 0x34, 0]), body);
  return concat(new Uint8Array([3, 0, (cotp.length + 4) >> 8, (cotp.length + 4) & 0xff]), cotp);
};

/** Per protocol: conversations built here, and the corpus case and server port. */
const PROTOCOLS: readonly {
  spec: AnalyzerSpec;
  corpus: RegExp;
  port: number;
  built: Turn[][];
  tokens: string[];
}[] = [
  {
    spec: SMTP_ANALYZER,
    corpus: /^smtp-starttls$/,
    port: 25,
    tokens: [
      "STARTTLS\r\n",
      "220 ",
      "250-",
      "DATA\r\n",
      "BDAT 5 LAST\r\n",
      "AUTH PLAIN\r\n",
      "334 ",
      "TURN\r\n",
      ".\r\n",
    ],
    built: [
      [
        s("220 mx ESMTP\r\n"),
        c("EHLO a\r\n"),
        s("250-mx\r\n250 STARTTLS\r\n"),
        c("STARTTLS\r\n"),
        s("220 go\r\n"),
        c(CLIENT_HELLO),
        s(SERVER_HELLO),
      ],
      [
        s("220 mx\r\n"),
        c("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 12\r\nhello world!BDAT 0 LAST\r\n"),
        s("250 a\r\n250 b\r\n250 c\r\n250 d\r\n250 e\r\n"),
        c("AUTH LOGIN\r\n"),
        s("334 VXNlcm5hbWU6\r\n"),
        c("dXNlcg==\r\n"),
        s("235 ok\r\n"),
        c("X-ANONYMOUSTLS\r\n"),
        s("220 go\r\n"),
      ],
    ],
  },
  {
    spec: IMAP_ANALYZER,
    corpus: /^imap-starttls$/,
    port: 143,
    tokens: ["* OK ", "a1 ", "STARTTLS\r\n", "OK ", "* CAPABILITY ", "\r\n", " ", "login "],
    built: [[
      s("* OK ready\r\n"),
      c("a1 CAPABILITY\r\n"),
      s("* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n"),
      c("a2 STARTTLS\r\n"),
      s("a2 OK go\r\n"),
      c(CLIENT_HELLO),
    ]],
  },
  {
    spec: POP3_ANALYZER,
    corpus: /^pop3-starttls$/,
    port: 110,
    tokens: ["+OK", "-ERR", "STLS\r\n", "CAPA\r\n", ".\r\n", "AUTH PLAIN\r\n", "USER x\r\n"],
    built: [[
      s("+OK ready\r\n"),
      c("CAPA\r\n"),
      s("+OK\r\nSTLS\r\n.\r\n"),
      c("AUTH PLAIN\r\n"),
      s("+ \r\n"),
      c(`${encodeBase64(text("\0user\0pass"))}\r\n`),
      s("+OK\r\n"),
      c("STLS\r\n"),
      s("+OK go\r\n"),
      c(CLIENT_HELLO),
    ]],
  },
  {
    spec: IRC_ANALYZER,
    corpus: /^irc-starttls$/,
    port: 6667,
    tokens: [
      ":srv ",
      "670 ",
      "STARTTLS\r\n",
      "PASS a b c Z\r\n",
      "SERVER x 1 :y\r\n",
      "@t=1 ",
      "\r\n",
    ],
    built: [
      [c("STARTTLS\r\n"), s(":srv 670 * :go\r\n"), c(CLIENT_HELLO), s(SERVER_HELLO)],
      [
        c("PASS secret 0210 IRC|aEFJKMRTu Z\r\nSERVER a.net 1 :a\r\n"),
        s("PASS secret 0210 IRC|aEFJKMRTu Z\r\nSERVER b.net 1 :b\r\n"),
        c("x\x9c\x01\x02\x03"),
      ],
    ],
  },
  {
    spec: XMPP_ANALYZER,
    corpus: /^xmpp-/,
    port: 5222,
    tokens: [
      "<starttls/>",
      "<proceed/>",
      "<stream:stream xmlns='jabber:client'>",
      "</",
      ">",
      "<",
      " ",
    ],
    built: [[
      c("<?xml version='1.0'?><stream:stream xmlns='jabber:client' to='a'>"),
      s("<stream:stream from='a'><stream:features><starttls/></stream:features>"),
      c("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      s("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      c(CLIENT_HELLO),
    ]],
  },
  {
    spec: FTP_ANALYZER,
    corpus: /^ftp-auth-tls$/,
    port: 21,
    tokens: [
      "AUTH TLS\r\n",
      "234 ",
      "211-",
      "AUTH GSSAPI\r\n",
      "334 ",
      "ADAT ",
      "335 ADAT=",
      "\xff\xfb\x01",
      "\xff\xfa\x18",
    ],
    built: [
      [s("220 hi\r\n"), c("AUTH TLS\r\n"), s("234 go\r\n"), c(CLIENT_HELLO), s(SERVER_HELLO)],
      [
        s("220 hi\r\n"),
        c("AUTH GSSAPI\r\n"),
        s("334 ADAT must follow\r\n"),
        c(`ADAT ${encodeBase64(CLIENT_HELLO)}\r\n`),
        s(`335 ADAT=${encodeBase64(SERVER_HELLO)}\r\n`),
        s("235 ADAT=\r\n"),
      ],
    ],
  },
  {
    spec: MYSQL_ANALYZER,
    corpus: /^mysql-tls$/,
    port: 3306,
    tokens: ["\xff\xff\xff\x00", "\x20\x00\x00\x01", "\xfe", "\xfc\xff\xff", "\0"],
    built: [[
      s(mysql(
        0,
        concat(
          new Uint8Array([10]),
          text("8.0.1\0"),
          new Uint8Array([
            ...le(7, 4),
            ...new Array(8).fill(97),
            0,
            0xff,
            0xf7,
            8,
            2,
            0,
            0xff,
            0xc1,
            21,
            ...new Array(10).fill(0),
          ]),
          text("abcdefghijkl\0caching_sha2_password\0"),
        ),
      )),
      c(mysql(
        1,
        new Uint8Array([
          ...le(0x19ae85 | 0x800, 4),
          ...le(1 << 24, 4),
          33,
          ...new Array(23).fill(0),
        ]),
      )),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
    ]],
  },
  {
    spec: RDP_ANALYZER,
    corpus: /^rdp-to-ssl$/,
    port: 3389,
    tokens: ["\x03\x00\x00\x13", "\x0e\xd0", "Cookie: mstshash=", "\r\n", "\x02\x01\x08\x00"],
    built: [[
      c(tpkt(
        0xe0,
        concat(text("Cookie: mstshash=x\r\n"), new Uint8Array([1, 0, 8, 0, 3, 0, 0, 0])),
      )),
      s(tpkt(0xd0, new Uint8Array([2, 1, 8, 0, 1, 0, 0, 0]))),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
    ]],
  },
];

/** The corpus connection of a case: each side's payload in capture order. */
async function corpusConversations(cases: RegExp, port: number): Promise<Turn[][]> {
  const conns = new Map<string, Turn[]>();
  for await (const p of appsCorpusPayloads(cases)) {
    if (p.proto !== 6) continue;
    const orig = p.dstPort === port || (p.srcPort !== port && p.dstPort < p.srcPort);
    const key = `${p.case}/${p.file} ${orig ? p.srcPort : p.dstPort}`;
    const list = conns.get(key) ?? [];
    list.push({ orig, data: p.payload });
    conns.set(key, list);
  }
  return [...conns.values()].map((t) => t.slice(0, 30));
}

const NUMBERS = ["0", "-1", "220", "234", "670", "18446744073709551616", "65535", ""];

function mutate(turns: readonly Turn[], tokens: readonly string[], rand: () => number): Turn[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const latin1 = (x: string) => Uint8Array.from(x, (ch) => ch.charCodeAt(0));
  const out: Turn[] = turns.map((t) => ("data" in t ? { orig: t.orig, data: t.data.slice() } : t));
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = Math.floor(rand() * out.length);
    const t = out[at]!;
    if (!("data" in t)) continue;
    const d = t.data;
    const pos = Math.floor(rand() * (d.length + 1));
    const put = (data: Uint8Array) => (out[at] = { orig: t.orig, data });
    switch (Math.floor(rand() * 10)) {
      case 0:
        for (let k = 0; k < 1 + rand() * 8 && d.length > 0; k++) {
          d[Math.floor(rand() * d.length)]! ^= 1 << Math.floor(rand() * 8);
        }
        break;
      case 1:
        put(concat(d.subarray(0, pos), latin1(pick(tokens)), d.subarray(pos)));
        break;
      case 2:
        put(concat(d.subarray(0, pos), text(pick(NUMBERS)), d.subarray(pos)));
        break;
      case 3:
        put(concat(d.subarray(0, pos), d.subarray(Math.min(d.length, pos + 1 + rand() * 64))));
        break;
      case 4:
        put(d.subarray(0, pos));
        break;
      case 5:
        out.splice(at, 1, { orig: t.orig, data: d.subarray(0, pos) }, {
          orig: t.orig,
          data: d.subarray(pos),
        });
        break;
      case 6:
        out.splice(at, 0, { orig: t.orig, gap: 1 + Math.floor(rand() * 5000) });
        break;
      case 7:
        out.splice(at, 0, { orig: t.orig, data: d.slice() });
        break;
      case 8:
        out[at] = { orig: !t.orig, data: d };
        break;
      default: {
        const r = new Uint8Array(1 + Math.floor(rand() * 32));
        for (let k = 0; k < r.length; k++) r[k] = Math.floor(rand() * 256);
        put(concat(d.subarray(0, pos), r, d.subarray(pos)));
      }
    }
  }
  return out;
}

const ID: ConnEndpoints = {
  origH: "10.0.0.1",
  origP: 40000,
  respH: "10.0.0.2",
  respP: 25,
  proto: "tcp",
};
const LOGS = new LogRegistry({ sink: { write() {} } });

/** A fake connection whose SSL child counts what it gets. */
class FakeHost extends RecordingHost {
  childBytes = 0;
  children = 0;

  constructor() {
    super({ uid: "CFuzzStartTls1", logs: LOGS, id: ID, time: 1_700_000_000 });
  }

  override startChild(_name: string): ChildAnalyzer {
    this.children++;
    return {
      stream: (data) => void (this.childBytes += data.length),
      undelivered: () => {},
      closed: () => {},
      endOfStream: () => {},
    };
  }
}

function dumpOf(input: readonly Turn[]): string {
  return JSON.stringify(
    input.map((t) =>
      "gap" in t
        ? { orig: t.orig, gap: t.gap }
        : { orig: t.orig, text: String.fromCharCode(...t.data) }
    ),
  );
}

Deno.test(`fuzz: ${PER_PROTOCOL.toLocaleString("en")} mutated conversations per STARTTLS protocol, no exception`, async () => {
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`STARTTLS fuzz seed ${seed} (rerun with WEIR_FUZZ_SEED=${seed})`);
  const rand = prng(seed);
  const started = performance.now();
  for (const p of PROTOCOLS) {
    const bases = [...p.built, ...await corpusConversations(p.corpus, p.port)];
    let upgraded = 0;
    for (let i = 0; i < PER_PROTOCOL; i++) {
      const input = mutate(pick(bases, rand), p.tokens, rand);
      const host = new FakeHost();
      host.isPartial = rand() < 0.02;
      const analyzer = p.spec.createStreamAnalyzer!(host);
      let offered = 0;
      try {
        let seq = [0, 0];
        for (const t of input) {
          const side = t.orig ? 0 : 1;
          if ("gap" in t) {
            analyzer.undelivered(seq[side]!, t.gap, t.orig);
            seq[side]! += t.gap;
          } else {
            analyzer.stream(t.data, t.orig);
            seq[side]! += t.data.length;
            offered += t.data.length;
          }
        }
        analyzer.endOfStream?.(true);
        analyzer.endOfStream?.(false);
        analyzer.done();
        seq = [0, 0];
      } catch (e) {
        throw new Error(`${p.spec.name} threw on input ${i} (seed ${seed}): ${dumpOf(input)}`, {
          cause: e,
        });
      }
      assert.ok(
        host.childBytes <= offered,
        `${p.spec.name} input ${i}: the child got more than was sent`,
      );
      if (host.children > 0) upgraded++;
      if (performance.now() - started > TIME_LIMIT_MS) {
        throw new Error(`the fuzz run took over ${TIME_LIMIT_MS} ms (seed ${seed})`);
      }
    }
    // The mutations leave many conversations intact enough to reach TLS.
    assert.ok(upgraded > PER_PROTOCOL / 20, `${p.spec.name}: only ${upgraded} runs reached TLS`);
  }
});

function pick<T>(xs: readonly T[], rand: () => number): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
