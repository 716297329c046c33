/**
 * The STARTTLS traces of Zeek's application corpus through the real
 * pipeline with each analyzer and the SSL stand-in: the child must get a
 * stream that starts with a TLS handshake record from the client, and
 * conn.log's `service` must be the baseline's (the stand-in confirms
 * where Zeek's SSL analyzer did). Then the same with weir's SSL analyzer:
 * ssl.log's rows agree with the baseline's on the columns the handshake
 * decides. Skipped when the corpus is absent.
 */

import assert from "node:assert/strict";
import {
  appsCorpusAvailable,
  DEFAULT_APPS_CORPUS_DIR,
  parseZeekLogs,
} from "../../../testing/mod.ts";
import type { AnalyzerSpec } from "../framework/mod.ts";
import { createSslAnalyzers } from "../ssl/mod.ts";
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
import { runPcap, show } from "./fake_ssl_test.ts";

interface Case {
  readonly case: string;
  readonly pcap: string;
  readonly analyzer: AnalyzerSpec;
  /** The manifest's checksum handling: `-C` runs skip validation. */
  readonly checksums: boolean;
  /** The conn.log baseline, where the case has one. */
  readonly connLog?: string;
  /** The ssl.log baseline. */
  readonly sslLog: string;
  /**
   * `service` of each connection that carried payload, where there is no
   * conn.log baseline (research note §5).
   */
  readonly services?: readonly string[];
}

const CASES: readonly Case[] = [
  {
    case: "smtp-starttls",
    pcap: "smtp-starttls.pcap",
    sslLog: "scripts.base.protocols.smtp.starttls/ssl.log",
    analyzer: SMTP_ANALYZER,
    checksums: false,
    services: ["smtp,ssl"],
  },
  {
    case: "imap-starttls",
    pcap: "imap-starttls.pcap",
    sslLog: "scripts.base.protocols.imap.starttls/ssl.log",
    analyzer: IMAP_ANALYZER,
    checksums: false,
    connLog: "scripts.base.protocols.imap.starttls/conn.log",
  },
  {
    case: "pop3-starttls",
    pcap: "pop3-starttls.pcap",
    sslLog: "scripts.base.protocols.pop3.starttls/ssl.log",
    analyzer: POP3_ANALYZER,
    checksums: false,
    connLog: "scripts.base.protocols.pop3.starttls/conn.log",
  },
  {
    case: "irc-starttls",
    pcap: "irc-starttls.pcap",
    sslLog: "scripts.base.protocols.irc.starttls/ssl.log",
    analyzer: IRC_ANALYZER,
    checksums: false,
    connLog: "scripts.base.protocols.irc.starttls/conn.log",
  },
  {
    case: "xmpp-starttls",
    pcap: "xmpp-starttls.pcap",
    sslLog: "scripts.base.protocols.xmpp.starttls/ssl.log",
    analyzer: XMPP_ANALYZER,
    checksums: true,
    connLog: "scripts.base.protocols.xmpp.starttls/conn.log",
  },
  {
    // Zeek ran it with the XMPP signature only (`-s base/protocols/xmpp/dpd.sig`): no ports.
    case: "xmpp-dialback",
    pcap: "xmpp-dialback-starttls.pcap",
    sslLog: "scripts.base.protocols.xmpp.server-dialback-dpd/ssl.log",
    analyzer: { ...XMPP_ANALYZER, ports: [], serverPorts: [] },
    checksums: false,
    services: ["xmpp,ssl"],
  },
  {
    case: "ftp-auth-tls",
    pcap: "ftp-auth-tls.pcap",
    sslLog: "scripts.base.protocols.ftp.ftp-auth-tls/ssl.log",
    analyzer: FTP_ANALYZER,
    checksums: true,
    connLog: "scripts.base.protocols.ftp.ftp-auth-tls/conn.log",
  },
  {
    case: "mysql-tls",
    pcap: "encrypted.pcap",
    sslLog: "scripts.base.protocols.mysql.encrypted/ssl.log",
    analyzer: MYSQL_ANALYZER,
    checksums: true,
    connLog: "scripts.base.protocols.mysql.encrypted/conn.log",
  },
  {
    case: "rdp-to-ssl",
    pcap: "rdp-to-ssl.pcap",
    sslLog: "scripts.base.protocols.rdp.rdp-to-ssl/ssl.log",
    analyzer: RDP_ANALYZER,
    checksums: true,
    services: ["ssl", "ssl"],
  },
];

const available = await appsCorpusAvailable();

for (const c of CASES) {
  Deno.test({
    name: `STARTTLS corpus: ${c.case} (${c.analyzer.name}) hands a TLS stream to SSL`,
    ignore: !available,
    async fn() {
      const dir = `${DEFAULT_APPS_CORPUS_DIR}/${c.case}`;
      const out = await runPcap(`${dir}/${c.pcap}`, [c.analyzer], { checksums: c.checksums });
      const expected = c.connLog === undefined
        ? c.services!
        : parseZeekLogs(await Deno.readTextFile(`${dir}/${c.connLog}`)).flatMap((log) =>
          log.rows.map((row) => row[log.columns.indexOf("service")]!)
        );
      assert.ok(out.ssl.length > 0, "SSL was attached");
      for (const seen of out.ssl) {
        assert.deepEqual(
          [...seen.orig.subarray(0, 3)],
          [0x16, 0x03, seen.orig[2]!],
          `the client's first bytes: ${show(seen.orig.subarray(0, 16))}`,
        );
        assert.equal(seen.resp[0], 0x16, "the server's first record is a handshake");
      }
      // Without a baseline, only connections with payload count (the FIN retransmissions
      // at the end of xmpp-dialback are a connection of their own to weir's tracker).
      const services = c.connLog !== undefined ? out.services : (out.rows.get("conn") ?? [])
        .filter((r) => Number(r["orig_bytes"] ?? 0) + Number(r["resp_bytes"] ?? 0) > 0)
        .map((r) => String(r["service"] ?? "-"));
      // The part before `ssl` is this analyzer's alone; `ssl` is the stand-in's.
      assert.deepEqual(
        services.map((s) => s.replace(/,?ssl$/, "")),
        expected.map((s) => s.replace(/,?ssl$/, "")),
      );
      assert.deepEqual(services, expected);
      assert.deepEqual(out.failures, []);
    },
  });
}

/** The ssl.log columns the handshake decides (the uid and ts aside). */
const SSL_COLUMNS = [
  "version",
  "cipher",
  "curve",
  "server_name",
  "resumed",
  "established",
  "ssl_history",
];

for (const c of CASES) {
  Deno.test({
    name: `STARTTLS corpus: ${c.case} with weir's SSL analyzer: service and ssl.log as Zeek's`,
    ignore: !available,
    async fn() {
      const dir = `${DEFAULT_APPS_CORPUS_DIR}/${c.case}`;
      const [ssl] = createSslAnalyzers();
      const out = await runPcap(`${dir}/${c.pcap}`, [c.analyzer], { checksums: c.checksums, ssl });
      if (c.connLog !== undefined) {
        const conn = parseZeekLogs(await Deno.readTextFile(`${dir}/${c.connLog}`))[0]!;
        assert.deepEqual(out.services, conn.rows.map((r) => r[conn.columns.indexOf("service")]));
      }
      const baseline = parseZeekLogs(await Deno.readTextFile(`${dir}/${c.sslLog}`))[0]!;
      const text = (v: unknown) =>
        v === undefined ? "-" : v === true ? "T" : v === false ? "F" : String(v);
      assert.deepEqual(
        (out.rows.get("ssl") ?? []).map((r) => SSL_COLUMNS.map((n) => text(r[n]))),
        baseline.rows.map((r) => SSL_COLUMNS.map((n) => r[baseline.columns.indexOf(n)])),
      );
    },
  });
}
