import assert from "node:assert/strict";
import {
  alerts,
  alpn,
  CCS,
  certificate,
  type Chunk,
  clientHello,
  concat,
  dtlsFragment,
  dtlsRecord,
  ecdheKeyExchange,
  ext,
  handshake,
  record,
  runTls,
  SEALED,
  selectedVersion,
  serverHello,
  serverKeyShare,
  sni,
} from "./fake_tls_test.ts";
import { HRR_RANDOM } from "./hello.ts";
import type { CertificateSink } from "./ssl_session.ts";
import { fileId } from "../../../zeek/mod.ts";
import { LogRegistry } from "../../log/mod.ts";
import { X509Logging } from "../x509/mod.ts";

const C = (data: Uint8Array): Chunk => ({ orig: true, data });
const S = (data: Uint8Array): Chunk => ({ orig: false, data });

/** A TLS 1.2 ECDHE handshake with SNI, ALPN and a certificate, then encrypted data. */
function tls12(): Chunk[] {
  return [
    C(record(22, clientHello({ exts: [sni("www.example.com"), alpn("h2", "http/1.1")] }), 0x0301)),
    S(record(
      22,
      concat(
        serverHello({ exts: [alpn("h2")] }),
        certificate(Uint8Array.of(0x30, 1, 2)),
        ecdheKeyExchange(23),
        handshake(14),
      ),
    )),
    C(concat(record(22, handshake(16, new Uint8Array(33))), CCS, SEALED())),
    S(concat(CCS, SEALED())),
    C(SEALED(500, 23)),
  ];
}

Deno.test("ssl: a TLS 1.2 handshake gives Zeek's row: version, cipher, curve, SNI, ALPN, history", () => {
  const out = runTls(tls12());
  assert.deepEqual(out.violations, []);
  assert.equal(out.confirmed, true);
  assert.equal(out.ssl.length, 1);
  const row = out.ssl[0]!;
  assert.equal(row["version"], "TLSv12");
  assert.equal(row["cipher"], "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  assert.equal(row["curve"], "secp256r1");
  assert.equal(row["server_name"], "www.example.com");
  assert.equal(row["next_protocol"], "h2");
  assert.equal(row["established"], true);
  assert.equal(row["resumed"], false);
  assert.equal(row["ssl_history"], "CsxknGIi");
  // No certificate sink: the chain exists but nothing could be fingerprinted.
  assert.deepEqual(row["cert_chain_fps"], []);
  assert.deepEqual(row["client_cert_chain_fps"], []);
  assert.equal(row["ts"], 1_700_000_000.001);
});

Deno.test("ssl: the same bytes re-cut (one byte per delivery, or all at once) give the same row", () => {
  const whole = runTls(tls12()).ssl;
  const bytewise: Chunk[] = tls12().flatMap((c): Chunk[] =>
    "data" in c ? [...c.data].map((b) => ({ orig: c.orig, data: Uint8Array.of(b) })) : [c]
  );
  const cut = runTls(bytewise).ssl;
  assert.equal(cut.length, 1);
  assert.deepEqual({ ...cut[0], ts: 0 }, { ...whole[0], ts: 0 });
  // A handshake message split over two records, two messages in one record.
  const hello = clientHello({ exts: [sni("a.example")] });
  const split = runTls([
    C(concat(record(22, hello.subarray(0, 10)), record(22, hello.subarray(10)))),
    S(record(22, concat(serverHello(), handshake(14)))),
  ]).ssl[0]!;
  assert.equal(split["server_name"], "a.example");
  assert.equal(split["ssl_history"], "Csn");
});

Deno.test("ssl: certificates go to the sink in order; fingerprints, subject and SNI match follow its answers", () => {
  const seen: string[] = [];
  const sink: CertificateSink = {
    certificate(_ts, der, hostCert, clientCert) {
      seen.push(`${der[2]} host=${hostCert} client=${clientCert}`);
      return der[2] === 9
        ? undefined
        : { fingerprint: `fp${der[2]}`, subject: `CN=s${der[2]}`, issuer: `CN=i${der[2]}` };
    },
    matchesHostname: (cert, host) => cert.subject === "CN=s1" && host === "www.example.com",
  };
  const der = (n: number) => Uint8Array.of(0x30, 1, n);
  const out = runTls([
    C(record(22, clientHello({ exts: [sni("www.example.com")] }))),
    S(record(22, concat(serverHello(), certificate(der(1), der(9), der(2)), handshake(14)))),
    C(record(22, concat(certificate(der(5)), handshake(16)))),
  ], { certificates: sink, subjectIssuer: true });
  assert.deepEqual(seen, [
    "1 host=true client=false",
    "9 host=false client=false",
    "2 host=false client=false",
    "5 host=true client=true",
  ]);
  const row = out.ssl[0]!;
  assert.deepEqual(row["cert_chain_fps"], ["fp1", "fp2"]);
  assert.deepEqual(row["client_cert_chain_fps"], ["fp5"]);
  assert.equal(row["subject"], "CN=s1");
  assert.equal(row["issuer"], "CN=i1");
  assert.equal(row["sni_matches_cert"], true);
  assert.equal(row["ssl_history"], "CsxnXG");
  // A zero-length entry keeps its index and is a weird.
  const zero = runTls([
    C(record(22, clientHello())),
    S(record(22, concat(serverHello(), certificate(new Uint8Array(0), der(1))))),
  ], { certificates: sink });
  assert.deepEqual(zero.weirds.map((w) => w.name), ["zero_length_certificate"]);
});

Deno.test("ssl: resumption by session id, by ticket, and by TLS 1.3 pre-shared key", () => {
  const sid = new Uint8Array(32).fill(0x42);
  const bySessionId = runTls([
    C(record(22, clientHello({ sessionId: sid }))),
    S(concat(record(22, serverHello({ sessionId: sid })), CCS, SEALED())),
    C(concat(CCS, SEALED())),
  ]).ssl[0]!;
  assert.equal(bySessionId["resumed"], true);
  assert.equal(bySessionId["ssl_history"], "CsiI");
  assert.equal(bySessionId["established"], true);

  const byTicket = runTls([
    C(record(22, clientHello({ exts: [ext(35, new Uint8Array(16))] }))),
    S(concat(record(22, concat(serverHello(), handshake(4, new Uint8Array(8)))), CCS, SEALED())),
    C(concat(CCS, SEALED())),
  ]).ssl[0]!;
  assert.equal(byTicket["resumed"], true);
  assert.equal(byTicket["ssl_history"], "CstiI");

  // A ticket offered but a full handshake done: the client key exchange came first.
  const notResumed = runTls([
    C(record(22, clientHello({ exts: [ext(35, new Uint8Array(16))] }))),
    S(record(22, concat(serverHello(), handshake(14)))),
    C(concat(record(22, handshake(16, new Uint8Array(8))), CCS)),
  ]).ssl[0]!;
  assert.equal(notResumed["resumed"], false);

  const psk = runTls([
    C(record(22, clientHello({ exts: [ext(41, new Uint8Array(10))] }))),
    S(record(
      22,
      serverHello({
        exts: [selectedVersion(0x0304), serverKeyShare(29), ext(41, Uint8Array.of(0, 0))],
      }),
    )),
  ]).ssl[0]!;
  assert.equal(psk["resumed"], true);
  assert.equal(psk["version"], "TLSv13");
  assert.equal(psk["curve"], "x25519");
});

Deno.test("ssl: TLS 1.3: CCS does not encrypt; the first application data of each side does; HRR is j", () => {
  const v13 = [selectedVersion(0x0304), serverKeyShare(29)];
  const out = runTls([
    C(record(22, clientHello({ exts: [sni("x.example")] }))),
    S(concat(record(22, serverHello({ exts: v13 })), CCS, SEALED(60, 23), SEALED(900, 23))),
    C(concat(CCS, SEALED(60, 23))),
    S(SEALED(100, 23)),
  ]).ssl[0]!;
  assert.equal(out["ssl_history"], "CsiI");
  assert.equal(out["established"], true);
  assert.equal(out["version"], "TLSv13");
  assert.equal(out["cipher"], "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");

  const hrr = runTls([
    C(record(22, clientHello())),
    S(concat(
      record(
        22,
        serverHello({
          random: HRR_RANDOM,
          exts: [selectedVersion(0x0304), ext(51, Uint8Array.of(0, 23))],
        }),
      ),
      CCS,
    )),
    C(concat(CCS, record(22, clientHello({ exts: [sni("second.example")] })))),
    S(record(22, serverHello({ exts: v13 }))),
  ]).ssl[0]!;
  assert.equal(hrr["ssl_history"], "CjiICs");
  assert.equal(hrr["server_name"], "second.example");
  assert.equal(hrr["curve"], "x25519");
});

Deno.test("ssl: alerts: the last one names last_alert; more than 10 in a record is a weird; history stops at 100", () => {
  const failure = runTls([C(record(22, clientHello())), S(alerts(40))]).ssl[0]!;
  assert.equal(failure["ssl_history"], "Cl");
  assert.equal(failure["last_alert"], "handshake_failure");
  assert.equal(failure["established"], false);

  const many = runTls([C(record(22, clientHello())), S(alerts(...Array(11).fill(0)))]);
  assert.equal(many.ssl[0]!["ssl_history"], "C" + "l".repeat(10));
  assert.deepEqual(many.weirds, [
    { name: "SSL_excessive_alerts_in_record", addl: "11", source: undefined },
  ]);

  const long = runTls([C(record(22, clientHello())), ...Array(120).fill(S(alerts(0)))]);
  assert.equal(long.ssl[0]!["ssl_history"], "C" + "l".repeat(99));
  assert.deepEqual(long.weirds, [
    { name: "SSL_max_ssl_history_length_reached", addl: "100", source: "SSL" },
  ]);
});

Deno.test("ssl: a hello from the wrong side flips the roles (^); flipping back is a weird", () => {
  const out = runTls([
    S(record(22, clientHello())),
    C(record(22, serverHello())),
    C(record(22, clientHello())),
  ]);
  assert.equal(out.ssl[0]!["ssl_history"], "^Cs^C");
  assert.deepEqual(out.weirds.map((w) => w.name), ["SSL_unclear_connection_direction"]);
});

Deno.test("ssl: violations: not TLS, a late bad version (row written then), an unknown handshake type", () => {
  const http = runTls([C(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"))]);
  assert.deepEqual(http.violations, ["Invalid version in TLS connection. Version: 17748"]);
  assert.deepEqual(http.ssl, []);

  const late = runTls([
    C(record(22, clientHello())),
    S(record(22, serverHello())),
    S(record(22, handshake(14), 0x0000)),
    S(record(22, handshake(14))),
  ]);
  assert.deepEqual(late.violations, [
    "Invalid version late in TLS connection. Packet reported version: 0",
  ]);
  assert.equal(late.ssl[0]!["ssl_history"], "Cs");

  const unknown = runTls([
    C(record(22, clientHello())),
    S(record(22, concat(serverHello(), handshake(99), handshake(14)))),
  ]);
  assert.deepEqual(unknown.violations, ["unknown handshake message (99) from responder"]);
  // The row was written at the violation: neither `z` nor the later `n`.
  assert.equal(unknown.ssl[0]!["ssl_history"], "Cs");

  const badVersion = runTls([C(record(22, clientHello({ version: 0x1234 })))]);
  assert.deepEqual(badVersion.violations, ["unsupported client SSL version 0x1234"]);
  assert.equal(badVersion.confirmed, false);
});

Deno.test("ssl: a content gap ends the analysis of both directions", () => {
  const out = runTls([
    C(record(22, clientHello())),
    { orig: false, gap: 100 },
    S(record(22, serverHello())),
  ]);
  assert.equal(out.ssl[0]!["ssl_history"], "C");
});

Deno.test("ssl: an SSLv2-format client hello, answered in TLS", () => {
  const body = concat(
    Uint8Array.of(0, 6, 0, 0, 0, 16), // cipher specs, session id, challenge lengths
    Uint8Array.of(0, 0, 0x04, 0x01, 0x00, 0x80), // TLS_RSA_WITH_RC4_128_MD5, SSL_CK_RC4_128_WITH_MD5
    new Uint8Array(16).fill(1),
  );
  const v2 = concat(
    Uint8Array.of(0x80 | ((body.length + 3) >> 8), (body.length + 3) & 0xff, 1, 3, 1),
    body,
  );
  const out = runTls([
    C(v2),
    S(record(22, concat(serverHello({ version: 0x0301, cipher: 4 }), handshake(14)), 0x0301)),
  ]);
  assert.deepEqual(out.violations, []);
  assert.equal(out.confirmed, true);
  assert.equal(out.ssl[0]!["ssl_history"], "Csn");
  assert.equal(out.ssl[0]!["version"], "TLSv10");
  assert.equal(out.ssl[0]!["cipher"], "TLS_RSA_WITH_RC4_128_MD5");
});

Deno.test("ssl: application data in the clear before the handshake ends is a weird", () => {
  const out = runTls([
    C(record(22, clientHello())),
    S(record(22, serverHello())),
    C(record(23, new Uint8Array(5))),
  ]);
  assert.deepEqual(out.weirds, [{
    name: "ssl_early_application_data",
    addl: undefined,
    source: "",
  }]);
});

Deno.test("dtls: hello verify, a fragmented server flight reassembled out of order, epochs", () => {
  const hello = clientHello({ version: 0xfefd, cookie: new Uint8Array(0) }).subarray(4);
  const helloCookie = clientHello({ version: 0xfefd, cookie: new Uint8Array(8).fill(3) })
    .subarray(4);
  const sh = serverHello({ version: 0xfefd }).subarray(4);
  const verify = Uint8Array.of(0xfe, 0xff, 8, ...new Uint8Array(8).fill(3));
  const frag = (seq: number, offset: number, n: number) =>
    dtlsRecord(22, 0, seq, dtlsFragment(2, sh.length, 1, offset, sh.subarray(offset, offset + n)));
  const out = runTls([
    C(dtlsRecord(22, 0, 0, dtlsFragment(1, hello.length, 0, 0, hello))),
    S(dtlsRecord(22, 0, 0, dtlsFragment(3, verify.length, 0, 0, verify))),
    C(dtlsRecord(22, 0, 1, dtlsFragment(1, helloCookie.length, 1, 0, helloCookie))),
    // The server hello in three fragments: last first, a duplicate, then the rest.
    S(frag(3, 40, sh.length - 40)),
    S(frag(3, 40, sh.length - 40)),
    S(frag(1, 0, 20)),
    S(frag(2, 20, 20)),
    S(dtlsRecord(20, 0, 4, Uint8Array.of(1))),
    C(dtlsRecord(20, 0, 2, Uint8Array.of(1))),
    C(dtlsRecord(22, 1, 0, new Uint8Array(40))),
  ], { dtls: true });
  assert.deepEqual(out.violations, []);
  const row = out.ssl[0]!;
  assert.equal(row["ssl_history"], "CvCsiI");
  assert.equal(row["version"], "DTLSv12");
  assert.equal(row["established"], true);
});

Deno.test("ssl: a certificate OpenSSL cannot parse is a file weird naming its fuid (Zeek's handle), and has no fingerprint", () => {
  const out = runTls([
    C(record(22, clientHello())),
    S(record(22, concat(serverHello(), certificate(Uint8Array.of(0x30, 3, 1, 2, 3))))),
  ], { certificates: new X509Logging(new LogRegistry()) });
  const fuid = fileId("Analyzer::ANALYZER_SSL1700000000.0F10.0.0.1:40000 > 10.0.0.2:4430");
  assert.deepEqual(out.weirds, [{ name: "x509_cert_parse_error", addl: fuid, source: "file" }]);
  assert.deepEqual(out.ssl[0]!["cert_chain_fps"], []);
});
