/**
 * The certificates of the conformance corpus's TLS traces
 * (`../shared/conformance/zeek-apps`): ssl-basic's two against the values of
 * the research note's §7.6, and every ssl.log baseline's `cert_chain_fps`,
 * `subject`, `issuer` and `sni_matches_cert` against what weir computes
 * for the same certificates. Skipped when the corpus is absent.
 */

import assert from "node:assert/strict";
import {
  appsCorpusAvailable,
  DEFAULT_APPS_CORPUS_DIR,
  readAppsManifest,
  readBaseline,
} from "../../../testing/apps_corpus.ts";
import { checkCertHostname, parseCertificate, type X509Certificate } from "./mod.ts";
import { pcapCertificates } from "./tls_certificates_test.ts";

const AVAILABLE = await appsCorpusAvailable();

Deno.test({
  name: "corpus ssl-basic: the two certificates give the research note's x509.log values (§7.6)",
  ignore: !AVAILABLE,
  fn: async () => {
    const messages = await pcapCertificates(
      `${DEFAULT_APPS_CORPUS_DIR}/ssl-basic/tls-conn-with-extensions.pcap`,
    );
    assert.equal(messages.length, 1, "one Certificate message");
    const certs = messages[0]!;
    assert.equal(certs.length, 2);
    const weirds: string[] = [];
    const [leaf, ca] = certs.map((der) => parseCertificate(der, (w) => weirds.push(w))) as [
      X509Certificate,
      X509Certificate,
    ];
    assert.deepEqual(weirds, []);
    assert.equal(certs[0]!.length, 919, "files.log seen_bytes of the first");
    assert.equal(certs[1]!.length, 692);

    const columns = (c: X509Certificate) => [
      c.serial,
      c.subject,
      c.keyAlg,
      c.sigAlg,
      c.keyType,
      c.keyLength,
      c.exponent,
      c.san?.dns,
      c.basicConstraints?.ca,
      c.basicConstraints?.pathLen,
    ];
    assert.deepEqual(columns(leaf), [
      "36F5DA5300000000505E",
      "CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US",
      "rsaEncryption",
      "sha1WithRSAEncryption",
      "rsa",
      1024,
      "65537",
      ["*.gstatic.com", "gstatic.com", "*.metric.gstatic.com"],
      undefined,
      undefined,
    ]);
    assert.deepEqual(columns(ca), [
      "0B6771",
      "CN=Google Internet Authority,O=Google Inc,C=US",
      "rsaEncryption",
      "sha1WithRSAEncryption",
      "rsa",
      1024,
      "65537",
      undefined,
      true,
      0,
    ]);
    assert.equal(leaf.issuer, ca.subject);
    // ssl.log's cert_chain_fps and sni_matches_cert for server_name ssl.gstatic.com.
    assert.deepEqual([leaf.fingerprint, ca.fingerprint], [
      "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244",
      "250da2691be97c9a33ceef7e311c14fb01846e058a99cea9bd1125bd25a0cad5",
    ]);
    assert.equal(checkCertHostname(leaf, "ssl.gstatic.com"), true);
    assert.equal(checkCertHostname(leaf, "gstatic.com"), true);
    assert.equal(checkCertHostname(leaf, "a.b.gstatic.com"), false);
    assert.equal(leaf.version, 3);
    assert.equal(leaf.curve, undefined);
  },
});

Deno.test({
  name: "corpus ssl.log baselines: cert_chain_fps, subject, issuer and sni_matches_cert",
  ignore: !AVAILABLE,
  fn: async () => {
    const manifest = await readAppsManifest();
    let chains = 0;
    let subjects = 0;
    let sni = 0;
    let missing = 0;
    for (const c of manifest.cases) {
      const baselines = c.baselines.filter((b) => b.kind === "ssl-log");
      if (baselines.length === 0) continue;
      const byFingerprint = new Map<string, X509Certificate>();
      const chainsSeen = new Set<string>();
      for (const { file } of c.pcaps) {
        if (!file.endsWith(".pcap")) continue;
        for (
          const message of await pcapCertificates(`${DEFAULT_APPS_CORPUS_DIR}/${c.case}/${file}`)
        ) {
          const parsed = message.map((der) => parseCertificate(der))
            .filter((x): x is X509Certificate => x !== undefined);
          for (const p of parsed) byFingerprint.set(p.fingerprint, p);
          chainsSeen.add(parsed.map((p) => p.fingerprint).join(","));
        }
      }
      for (const b of baselines) {
        for (const log of await readBaseline(DEFAULT_APPS_CORPUS_DIR, c, b)) {
          const col = (name: string) => log.columns.indexOf(name);
          for (const row of log.rows) {
            const fps = row[col("cert_chain_fps")];
            if (fps === undefined || fps === "-" || fps === "(empty)") continue;
            if (!chainsSeen.has(fps)) {
              // DTLS and the gzip-compressed trace are not walked here.
              missing++;
              continue;
            }
            chains++;
            const leaf = byFingerprint.get(fps.split(",")[0]!)!;
            if (col("subject") >= 0 && row[col("subject")] !== "-") {
              assert.equal(ascii(leaf.subject), row[col("subject")], `${c.case} subject`);
              assert.equal(ascii(leaf.issuer), row[col("issuer")], `${c.case} issuer`);
              subjects++;
            }
            const serverName = row[col("server_name")];
            const matches = row[col("sni_matches_cert")];
            if (serverName !== undefined && serverName !== "-" && matches !== "-") {
              assert.equal(
                checkCertHostname(leaf, serverName) ? "T" : "F",
                matches,
                `${c.case}: ${serverName}`,
              );
              sni++;
            }
          }
        }
      }
    }
    console.log(
      `${chains} certificate chains, ${subjects} subjects, ${sni} sni_matches_cert checked; ` +
        `${missing} rows of traces not walked here`,
    );
    assert.ok(chains >= 20 && subjects >= 3 && sni >= 5, "the corpus was walked");
  },
});

/** A log value as Zeek's ASCII writer prints it (`\` doubled; the rest is ASCII here). */
function ascii(s: string): string {
  return s.replaceAll("\\", "\\\\");
}
