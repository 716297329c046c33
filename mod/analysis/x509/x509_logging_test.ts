import assert from "node:assert/strict";
import { typeName, type ZeekValue } from "../../../zeek/mod.ts";
import { EventRegistry } from "../../bus/mod.ts";
import { AsciiWriter, type LogFilter, LogRegistry, type LogStream } from "../../log/mod.ts";
import { RowBuffer } from "../../log/ascii_values.ts";
import { FileAnalysis } from "../files/mod.ts";
import type { CertificateSink } from "../ssl/mod.ts";
import { X509_LOG_ID, X509Logging } from "./mod.ts";
import { buildCertificate, cnName, integer, utcTime } from "./der_builder_test.ts";
import { GeneratedCerts, OPENSSL_AVAILABLE } from "./openssl_certs_test.ts";

const FIELDS = "ts fingerprint certificate.version certificate.serial certificate.subject " +
  "certificate.issuer certificate.not_valid_before certificate.not_valid_after " +
  "certificate.key_alg certificate.sig_alg certificate.key_type certificate.key_length " +
  "certificate.exponent certificate.curve san.dns san.uri san.email san.ip " +
  "basic_constraints.ca basic_constraints.path_len host_cert client_cert";
const TYPES = "time string count string string string time time string string string count " +
  "string string vector[string] vector[string] vector[string] vector[addr] bool count bool bool";

const DAY = 86400;

/** A pipeline's x509 logging with its rows collected (rows checked against the schema). */
function setup(options = {}) {
  const rows: ZeekValue[][] = [];
  const logs = new LogRegistry({
    validate: true,
    sink: { write: (_s: LogStream, _f: LogFilter, values) => rows.push([...values]) },
  });
  const errors: unknown[] = [];
  const events = new EventRegistry((_name, error) => errors.push(error));
  const x509 = new X509Logging(logs, events, options);
  return { rows, logs, events, x509, errors };
}

const certA = buildCertificate({ subject: cnName("a.example.com"), serial: integer(1n) });
const certB = buildCertificate({ subject: cnName("b.example.com"), serial: integer(2n) });
const certC = buildCertificate({ subject: cnName("c.example.com"), serial: integer(3n) });

Deno.test("X509::LOG: Zeek's columns and types in Zeek's order, path x509, event X509::log_x509", () => {
  const { logs, x509 } = setup();
  x509.certificate(1, certA, true, false);
  const stream = logs.stream(X509_LOG_ID)!;
  assert.equal(stream.columns.map((c) => c.name).join(" "), FIELDS);
  assert.equal(stream.columns.map((c) => typeName(c.type)).join(" "), TYPES);
  assert.equal(stream.path, "x509");
  assert.equal(stream.event, "X509::log_x509");
});

Deno.test("x509.log deduplication: once per (fingerprint, host_cert, client_cert) a day", () => {
  const { rows, x509 } = setup();
  const t0 = 1_700_000_000;
  assert.ok(x509.certificate(t0, certA, true, false));
  assert.ok(x509.certificate(t0 + 1, certA, true, false), "parsed even when not logged");
  assert.equal(rows.length, 1, "the same certificate twice: one row");
  x509.certificate(t0 + 2, certA, false, false);
  x509.certificate(t0 + 3, certA, true, true);
  x509.certificate(t0 + 4, certA, false, true);
  assert.equal(
    rows.length,
    4,
    "as host, chain, client host and client chain certificate: four rows",
  );
  assert.deepEqual(rows.map((r) => [r[20], r[21]]), [[true, false], [false, false], [true, true], [
    false,
    true,
  ]]);
  assert.equal(x509.knownLogCerts, 4);

  x509.certificate(t0 + DAY, certA, true, false);
  assert.equal(rows.length, 4, "a day later it is still known (Zeek expires after, not at)");
  x509.certificate(t0 + DAY + 1, certA, true, false);
  assert.equal(rows.length, 5, "more than a day later it is logged again");
  assert.equal(rows[4]![0], t0 + DAY + 1);
  x509.certificate(t0 + DAY + 10, certA, true, false);
  assert.equal(rows.length, 5, "and then known again");
  assert.equal(x509.knownLogCerts, 1, "the three others expired");
});

Deno.test("x509.log deduplication: off with relog 0, bounded by known_log_certs_maximum_size", () => {
  const off = setup({ relogKnownCertificatesAfterSec: 0 });
  off.x509.certificate(1, certA, true, false);
  off.x509.certificate(2, certA, true, false);
  assert.equal(off.rows.length, 2);
  assert.equal(off.x509.knownLogCerts, 0);

  const small = setup({ knownLogCertsMaximumSize: 2 });
  for (const der of [certA, certB, certC, certC, certA]) {
    small.x509.certificate(5, der, true, false);
  }
  // C did not fit, so it is logged each time; A was remembered.
  assert.deepEqual(small.rows.map((r) => r[4]), [
    "CN=a.example.com",
    "CN=b.example.com",
    "CN=c.example.com",
    "CN=c.example.com",
  ]);
});

Deno.test("a certificate OpenSSL cannot parse: weird, no row, no event", () => {
  const { rows, events, x509 } = setup();
  let raised = 0;
  events.on("x509_certificate", () => void raised++);
  const weirds: string[] = [];
  assert.equal(
    x509.certificate(1, certA.subarray(0, 50), true, false, (w) => weirds.push(w)),
    undefined,
  );
  assert.deepEqual(weirds, ["x509_cert_parse_error"]);
  assert.equal(rows.length, 0);
  assert.equal(raised, 0);
});

Deno.test("x509_certificate: raised only when handled, with fa_file, the DER and X509::Certificate", () => {
  const { events, x509, errors } = setup();
  x509.certificate(1, certA, true, false);
  assert.equal(events.invocations.get("x509_certificate"), undefined, "nobody handles it");

  const seen: ZeekValue[][] = [];
  events.on("x509_certificate", (...args) => void seen.push(args));
  const files = new FileAnalysis(new LogRegistry(), events);
  const conn = {
    uid: "CUid1",
    id: { origH: "10.0.0.1", origP: 40000, respH: "10.0.0.2", respP: 443, proto: "tcp" as const },
    isLocal: () => undefined,
  };
  const file = files.file(
    "Analyzer::ANALYZER_SSL1.0F10.0.0.1:40000 > 10.0.0.2:4430",
    "SSL",
    conn,
    false,
    7,
    true,
    () => {},
  );
  assert.ok(file);
  file.dataIn(certB);
  const cert = x509.certificate(7, certB, true, false, undefined, file)!;
  assert.deepEqual(errors, []);
  assert.equal(seen.length, 1);
  const [f, ref, rec] = seen[0]! as [
    Record<string, ZeekValue>,
    Uint8Array,
    Record<string, ZeekValue>,
  ];
  assert.equal(f.id, file.fuid);
  assert.equal(f.source, "SSL");
  assert.equal(f.is_orig, false);
  assert.equal(f.seen_bytes, certB.length);
  assert.deepEqual(ref, certB);
  assert.deepEqual(rec, {
    version: 3,
    serial: "02",
    subject: "CN=b.example.com",
    issuer: "CN=issuer.example.com",
    cn: "b.example.com",
    not_valid_before: 1577836800,
    not_valid_after: 1893456000,
    key_alg: "rsaEncryption",
    sig_alg: "sha256WithRSAEncryption",
    key_type: "rsa",
    key_length: 1024,
    exponent: "65537",
    curve: undefined,
    tbs_sig_alg: "sha256WithRSAEncryption",
  });
  assert.equal(cert.subject, "CN=b.example.com");
  // The event's fa_file is the type file analysis declares for file_new.
  assert.equal(
    JSON.stringify(events.lookup("x509_certificate")!.argTypes[0]),
    JSON.stringify(events.lookup("file_new")!.argTypes[0]),
  );
  // Without the file: the client/host flags and the size, the MIME type Zeek's SSL analyzer gives.
  x509.certificate(8, certC, false, true);
  const bare = seen[1]![0] as Record<string, ZeekValue>;
  assert.deepEqual([bare.id, bare.is_orig, bare.seen_bytes, bare.mime_type], [
    "",
    true,
    certC.length,
    "application/x-x509-ca-cert",
  ]);
});

Deno.test("X509::log_x509 carries the nested record", () => {
  const { logs, events, x509 } = setup();
  logs.setEvents(events);
  const seen: ZeekValue[] = [];
  events.on("X509::log_x509", (rec) => void seen.push(rec));
  x509.certificate(3, certA, true, false);
  const rec = seen[0] as { certificate: Record<string, ZeekValue>; host_cert: boolean };
  assert.equal(rec.certificate.subject, "CN=a.example.com");
  assert.equal(rec.host_cert, true);
});

function render(logs: LogRegistry, rows: readonly ZeekValue[][]): string[] {
  const stream = logs.stream(X509_LOG_ID)!;
  const writer = new AsciiWriter(stream.columns);
  return rows.map((row) => {
    const buf = new RowBuffer(256);
    writer.appendRow(buf, row);
    return new TextDecoder().decode(buf.view()).replace(/\n$/, "");
  });
}

Deno.test({
  name:
    "x509.log as Zeek's ASCII writer prints it: the research note's subject, SAN and constraints",
  ignore: !OPENSSL_AVAILABLE,
  fn: async () => {
    await using certs = await GeneratedCerts.create();
    const { rows, logs, x509 } = setup();
    x509.certificate(1700000000.5, certs.get("rsa-e3").der, true, false);
    x509.certificate(1700000000.5, certs.get("ed25519").der, false, true);
    const [rsa, ed] = render(logs, rows).map((line) => line.split("\t"));
    assert.equal(rsa![0], "1700000000.500000");
    assert.equal(
      rsa![4],
      String
        .raw`CN=\\#hash trail\\ ,1.2.3.4.5=#0C07637573746F6D23,emailAddress=a@b.c,UID=uid1+OU=\\ lead space,O=Acme\\; \\"Quoted\\" \\<x\\> \\\\ back,ST=B\\C3\\A4yern,C=US`,
      "the full log value the research note saw (§4.4)",
    );
    assert.deepEqual(rsa!.slice(8), [
      "rsaEncryption",
      "sha256WithRSAEncryption",
      "rsa",
      "2048",
      "3",
      "-",
      "a.example.com,*.b.example.com",
      "https://example.com/x",
      "x@example.com",
      "192.0.2.1,2001:db8::1",
      "T",
      "2",
      "T",
      "F",
    ]);
    assert.deepEqual(ed!.slice(8), [
      "ED25519",
      "ED25519",
      "ED25519",
      "256",
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      "F",
      "T",
    ]);
  },
});

Deno.test("X509Logging is the SSL analyzer's certificate sink", () => {
  const { x509 } = setup();
  const sink: CertificateSink = x509;
  const weirds: string[] = [];
  const cert = sink.certificate(1, certA, true, false, (w) => weirds.push(w));
  assert.equal(cert?.subject, "CN=a.example.com");
  assert.equal(sink.matchesHostname(cert!, "a.example.com"), true);
  assert.equal(sink.matchesHostname(cert!, "b.example.com"), false);
  assert.deepEqual(weirds, []);
});

Deno.test("certificate event cache: the 10th sighting within 62 s caches it; replays skip OpenSSL's weirds; 62 s unread evicts", () => {
  // A UTCTime of 10 characters is a parse weird (`x509_utc_length`): it shows whether OpenSSL ran.
  const odd = buildCertificate({
    subject: cnName("odd.example.com"),
    notBefore: utcTime("2301010000"),
  });
  const { x509, rows, events } = setup();
  let raised = 0;
  events.on("x509_certificate", () => void raised++);
  const weirdsAt = (t: number) => {
    const w: string[] = [];
    assert.ok(x509.certificate(t, odd, true, false, (name) => w.push(name)) !== undefined);
    return w.length;
  };
  for (let i = 0; i < 10; i++) assert.ok(weirdsAt(1 + i) > 0, `sighting ${i + 1} is parsed`);
  assert.equal(x509.cachedCertificates, 1);
  assert.equal(weirdsAt(20), 0, "the 11th comes from the cache");
  assert.equal(weirdsAt(81), 0, "read within 62 s: still cached");
  assert.ok(weirdsAt(144) > 0, "unread for over 62 s: evicted, parsed again");
  assert.equal(raised, 13, "x509_certificate is raised for every sighting, replayed or not");
  assert.equal(rows.length, 1, "x509.log dedup is unchanged");

  // Sightings spread over more than 62 s never reach the threshold.
  const slow = setup().x509;
  for (let i = 0; i < 30; i++) slow.certificate(i * 10, odd, true, false);
  assert.equal(slow.cachedCertificates, 0);
  // Caching off.
  const off = setup({ cachingRequiredEncounters: 0 }).x509;
  for (let i = 0; i < 30; i++) off.certificate(i, odd, true, false);
  assert.equal(off.cachedCertificates, 0);
});
