/**
 * SSL through the whole trace job, as `weir -r` runs it: a generated trace
 * of TLS 1.2 (full handshakes with a two-certificate chain) and TLS 1.3
 * flows goes through the real pipeline (capture decode, connection
 * tracking, reassembly, the SSL analyzer, the X.509 analysis by
 * libcrypto); ssl.log has one established row per flow, x509.log the two
 * certificates once each (Zeek's dedup), conn.log's `service` is `ssl`,
 * and the events site scripts handle arrive.
 */

import assert from "node:assert/strict";
import { EventRegistry } from "../../bus/mod.ts";
import { analyzeTrace } from "../../trace/mod.ts";
import { generateTrace } from "../../../testing/mod.ts";

function rows(text: string): Record<string, string>[] {
  const lines = text.split("\n");
  const fields = lines.find((l) => l.startsWith("#fields\t"))!.split("\t").slice(1);
  return lines.filter((l) => l !== "" && !l.startsWith("#")).map((l) => {
    const v = l.split("\t");
    return Object.fromEntries(fields.map((f, i) => [f, v[i]!]));
  });
}

Deno.test("weir -r on TLS flows: ssl.log, x509.log once per certificate, service, and the events site scripts see", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-ssl-" });
  try {
    await generateTrace(`${dir}/tls.pcap`, {
      flows: 40,
      seed: 11,
      applications: { tls: 1 },
      packetsPerFlow: 14,
    });
    const events = new EventRegistry((name, error) => {
      throw new Error(`${name}: ${error}`);
    });
    const count = new Map<string, number>();
    const names: string[] = [];
    events.on("ssl_extension_server_name", (_c, isClient, list) => {
      if (isClient) names.push(...(list as string[]));
    });
    for (
      const name of [
        "ssl_client_hello",
        "ssl_server_hello",
        "ssl_established",
        "x509_certificate",
        "SSL::log_ssl",
        "X509::log_x509",
      ]
    ) events.on(name, () => void count.set(name, (count.get(name) ?? 0) + 1));
    await analyzeTrace({ path: `${dir}/tls.pcap`, logDir: `${dir}/out`, events });

    const conns = rows(await Deno.readTextFile(`${dir}/out/conn.log`)).filter((c) =>
      c.proto === "tcp"
    );
    const ssl = rows(await Deno.readTextFile(`${dir}/out/ssl.log`));
    assert.ok(conns.length > 30);
    assert.ok(conns.every((c) => c.service === "ssl"), "every TLS connection has service ssl");
    assert.equal(ssl.length, conns.length, "one ssl.log row per connection");
    assert.ok(ssl.every((r) => r.established === "T" && r.server_name !== "-"));
    assert.deepEqual(names.sort(), ssl.map((r) => r.server_name).sort());
    const tls12 = ssl.filter((r) => r.version === "TLSv12");
    const tls13 = ssl.filter((r) => r.version === "TLSv13");
    assert.ok(tls12.length > 0 && tls13.length > 0);
    assert.equal(tls12.length + tls13.length, ssl.length);
    assert.ok(tls12.every((r) => r.ssl_history === "CsxknGIti" && r.curve === "x25519"));
    assert.ok(tls13.every((r) => r.ssl_history === "CsiI" && r.cert_chain_fps === "-"));

    // The same chain in every TLS 1.2 flow: two x509.log rows, fingerprints as in ssl.log.
    const x509 = rows(await Deno.readTextFile(`${dir}/out/x509.log`));
    assert.equal(x509.length, 2);
    assert.deepEqual(tls12[0]!.cert_chain_fps!.split(","), x509.map((r) => r.fingerprint));
    assert.equal(x509[0]!["certificate.subject"], "CN=www.example.com,O=Example Shop,C=US");
    assert.equal(x509[0]!["host_cert"], "T");
    assert.equal(x509[1]!["basic_constraints.ca"], "T");
    assert.ok(tls12.every((r) => r.cert_chain_fps === tls12[0]!.cert_chain_fps));

    assert.equal(count.get("ssl_client_hello"), ssl.length);
    assert.equal(count.get("ssl_server_hello"), ssl.length);
    assert.equal(count.get("ssl_established"), ssl.length);
    assert.equal(count.get("SSL::log_ssl"), ssl.length);
    assert.equal(count.get("x509_certificate"), 2 * tls12.length);
    assert.equal(count.get("X509::log_x509"), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
