/**
 * Test support: certificates made by the `openssl` command in a temporary
 * directory (removed on dispose), and what `openssl x509` prints about
 * them, the oracle for the values OpenSSL prints (it calls the functions
 * Zeek calls). Used by the unit tests and the fuzz test.
 */

/** Whether the `openssl` command runs here. */
export const OPENSSL_AVAILABLE: boolean = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** Runs `openssl args…` in `cwd`; its stdout, or an error with its stderr. */
export async function openssl(cwd: string, args: readonly string[]): Promise<string> {
  const out = await new Deno.Command("openssl", { args: [...args], cwd, stdin: "null" }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${text.decode(out.stderr)}`);
  }
  return text.decode(out.stdout);
}

/** One generated certificate: its PEM file and its DER bytes. */
export interface GeneratedCert {
  readonly pem: string;
  readonly der: Uint8Array;
}

/** The research note's subject (§4.4): every character RFC 2253 escapes, UTF-8, an unknown OID. */
const TRICKY_DN = `C = US
ST = Bäyern
O = Acme; \\"Quoted\\" <x> \\\\ back
UID = uid1
+OU = " lead space"
emailAddress = a@b.c
x.1.2.3.4.5 = custom\\#
CN = "#hash trail "
`;

const CA_CONFIG = `[ca]
default_ca = weir
[weir]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[anything]
commonName = optional
`;

function reqConfig(dn: string, extensions: string): string {
  return `[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only
${extensions === "" ? "" : "x509_extensions = ext\nreq_extensions = ext"}
[dn]
${dn}
[ext]
${extensions}
`;
}

/** The certificates the tests use, by name, in a directory removed on dispose. */
export class GeneratedCerts implements AsyncDisposable {
  readonly dir: string;
  readonly certs = new Map<string, GeneratedCert>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Makes them all: RSA 2048 with e=3, EC P-256/P-384/P-521, Ed25519, DSA,
   * a v1 certificate, one with UTCTime 2049 and GeneralizedTime 2055, one
   * issued by another, RSA-PSS, Ed448 and X25519 keys; serials
   * 0xFF00FF00FF00FF00, 123456789, 1, -5.
   */
  static async create(): Promise<GeneratedCerts> {
    const set = new GeneratedCerts(await Deno.makeTempDir({ prefix: "weir-x509-" }));
    try {
      await set.#makeAll();
      return set;
    } catch (error) {
      await set[Symbol.asyncDispose]();
      throw error;
    }
  }

  get(name: string): GeneratedCert {
    const cert = this.certs.get(name);
    if (cert === undefined) throw new Error(`no generated certificate named ${name}`);
    return cert;
  }

  async #makeAll(): Promise<void> {
    await this.selfSigned("rsa-e3", {
      key: ["-newkey", "rsa:2048", "-pkeyopt", "rsa_keygen_pubexp:3"],
      serial: "0xFF00FF00FF00FF00",
      dn: TRICKY_DN,
      extensions: "basicConstraints = critical,CA:TRUE,pathlen:2\n" +
        "subjectAltName = DNS:a.example.com,DNS:*.b.example.com,URI:https://example.com/x," +
        "email:x@example.com,IP:192.0.2.1,IP:2001:db8::1",
    });
    await this.selfSigned("ec-p256", {
      key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
      serial: "123456789",
      dn: "C = DE\nO = Test, Inc.\nCN = Test CA+Root\n",
      extensions: "basicConstraints = CA:FALSE\n",
    });
    await this.selfSigned("ec-p384", {
      key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384"],
      serial: "1",
      dn: "CN = ignored.example.com\n",
      extensions: "subjectAltName = DNS:*.example.com,DNS:f*.example.com,IP:10.1.2.3\n",
    });
    await this.selfSigned("ec-p521", {
      key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-sha512"],
      serial: "-5",
      dn: "CN = p521.example.com\n",
      extensions: "",
    });
    await this.selfSigned("ed25519", {
      key: ["-newkey", "ed25519"],
      serial: "2",
      dn: "0.CN = first.example.com\nO = Org\n1.CN = Nö SAN.example.org\n",
      extensions: "",
    });
    await openssl(this.dir, [
      "genpkey",
      "-genparam",
      "-algorithm",
      "DSA",
      "-pkeyopt",
      "dsa_paramgen_bits:2048",
      "-out",
      "dsa-params.pem",
    ]);
    await this.selfSigned("dsa", {
      key: ["-newkey", "dsa:dsa-params.pem", "-sha256"],
      serial: "3",
      dn: "CN = dsa.example.com\n",
      extensions: "",
    });

    // v1: `openssl x509 -req` adds no extensions, so the version stays 1.
    await Deno.writeTextFile(`${this.dir}/v1.cnf`, reqConfig("CN = v1.example.com\n", ""));
    await openssl(this.dir, [
      ..."req -new -config v1.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes".split(" "),
      ..."-keyout v1.key -out v1.csr".split(" "),
    ]);
    await openssl(this.dir, [
      ..."x509 -req -in v1.csr -signkey v1.key -days 3 -set_serial 4 -out v1.pem".split(" "),
    ]);
    await this.#load("v1");

    // Fixed dates need `openssl ca`: UTCTime in 2049, GeneralizedTime in 2055.
    await Deno.writeTextFile(`${this.dir}/ca.cnf`, CA_CONFIG);
    await Deno.writeTextFile(`${this.dir}/index.txt`, "");
    await Deno.writeTextFile(`${this.dir}/serial`, "05\n");
    await Deno.writeTextFile(`${this.dir}/dates.cnf`, reqConfig("CN = dates.example.com\n", ""));
    await openssl(this.dir, [
      ..."req -new -config dates.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes".split(" "),
      ..."-keyout dates.key -out dates.csr".split(" "),
    ]);
    await openssl(this.dir, [
      ..."ca -config ca.cnf -selfsign -keyfile dates.key -in dates.csr -batch -notext".split(" "),
      ..."-preserveDN -startdate 491231235959Z -enddate 20550607080910Z -out dates.pem".split(" "),
    ]);
    await this.#load("dates");

    // A certificate issued by rsa-e3: its issuer is that one's subject.
    await Deno.writeTextFile(
      `${this.dir}/leaf.cnf`,
      reqConfig(
        "C = DE\nO = Leaf\nCN = leaf.example.com\n",
        "subjectAltName = DNS:leaf.example.com,IP:::ffff:192.0.2.7\n",
      ),
    );
    await openssl(this.dir, [
      ..."req -new -config leaf.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes".split(" "),
      ..."-keyout leaf.key -out leaf.csr".split(" "),
    ]);
    await openssl(this.dir, [
      ..."x509 -req -in leaf.csr -CA rsa-e3.pem -CAkey rsa-e3.key -days 3".split(" "),
      ..."-set_serial 0x0123 -copy_extensions copy -out leaf.pem".split(" "),
    ]);
    await this.#load("leaf");

    // Key types Zeek names by OpenSSL's type name.
    await this.selfSigned("rsa-pss", {
      key: ["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"],
      serial: "6",
      dn: "CN = pss.example.com\n",
      extensions: "",
    });
    await this.selfSigned("ed448", {
      key: ["-newkey", "ed448"],
      serial: "7",
      dn: "CN = ed448.example.com\n",
      extensions: "",
    });
    await openssl(this.dir, ["genpkey", "-algorithm", "X25519", "-out", "x25519.key"]);
    await openssl(this.dir, ["pkey", "-in", "x25519.key", "-pubout", "-out", "x25519.pub"]);
    await openssl(this.dir, [
      ..."x509 -new -force_pubkey x25519.pub -subj /CN=x25519.example.com".split(" "),
      ..."-CA rsa-e3.pem -CAkey rsa-e3.key -days 3 -set_serial 8 -out x25519.pem".split(" "),
    ]);
    await this.#load("x25519");
  }

  /** A self-signed certificate made by `openssl req -x509` from a config file. */
  async selfSigned(
    name: string,
    spec: { key: string[]; serial: string; dn: string; extensions: string; days?: number },
  ): Promise<GeneratedCert> {
    await Deno.writeTextFile(`${this.dir}/${name}.cnf`, reqConfig(spec.dn, spec.extensions));
    await openssl(this.dir, [
      "req",
      "-x509",
      "-config",
      `${name}.cnf`,
      ...spec.key,
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      String(spec.days ?? 30),
      "-set_serial",
      spec.serial,
    ]);
    return await this.#load(name);
  }

  async #load(name: string): Promise<GeneratedCert> {
    await openssl(this.dir, [
      "x509",
      "-in",
      `${name}.pem`,
      "-outform",
      "DER",
      "-out",
      `${name}.der`,
    ]);
    const cert = {
      pem: `${this.dir}/${name}.pem`,
      der: await Deno.readFile(`${this.dir}/${name}.der`),
    };
    this.certs.set(name, cert);
    return cert;
  }

  /** What `openssl x509 -noout <flags>` prints about a certificate, as `key=value` pairs. */
  async describe(name: string): Promise<OpensslView> {
    const out = await openssl(this.dir, [
      ..."x509 -noout -nameopt RFC2253 -subject -issuer -serial -startdate -enddate".split(" "),
      ..."-fingerprint -sha256 -in".split(" "),
      `${name}.pem`,
    ]);
    const values = new Map<string, string>();
    for (const line of out.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) values.set(line.slice(0, at), line.slice(at + 1));
    }
    const get = (key: string) => {
      const v = values.get(key);
      if (v === undefined) throw new Error(`openssl printed no ${key} for ${name}: ${out}`);
      return v;
    };
    const text = await openssl(this.dir, ["x509", "-noout", "-text", "-in", `${name}.pem`]);
    const version = /Version: (\d+) \(/.exec(text);
    if (version === null) throw new Error(`openssl printed no version for ${name}: ${text}`);
    return {
      version: Number(version[1]),
      subject: get("subject"),
      issuer: get("issuer"),
      serial: get("serial"),
      notBefore: opensslDate(get("notBefore")),
      notAfter: opensslDate(get("notAfter")),
      fingerprint: get("sha256 Fingerprint").replaceAll(":", "").toLowerCase(),
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** The oracle's view of one certificate. */
export interface OpensslView {
  readonly version: number;
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly fingerprint: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `Dec 31 23:59:59 2049 GMT` → epoch seconds. */
export function opensslDate(text: string): number {
  const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\d{4}) GMT$/.exec(text);
  if (m === null) throw new Error(`not an openssl date: ${text}`);
  const [, mon, day, h, min, s, y] = m;
  return Date.UTC(Number(y), MONTHS.indexOf(mon!), Number(day), Number(h), Number(min), Number(s)) /
    1000;
}

/**
 * A certificate with `count` subjectAltName dNSNames (`host-N.example.com`),
 * made in `dir`; its DER.
 */
export async function manySansCertificate(dir: string, count: number): Promise<Uint8Array> {
  const names = Array.from({ length: count }, (_, i) => `DNS.${i + 1} = host-${i}.example.com`);
  await Deno.writeTextFile(
    `${dir}/many.cnf`,
    reqConfig("CN = many.example.com\n", `subjectAltName = @alt\n[alt]\n${names.join("\n")}\n`),
  );
  await openssl(dir, [
    ..."req -x509 -config many.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes".split(" "),
    ..."-keyout many.key -days 3 -outform DER -out many.der".split(" "),
  ]);
  return await Deno.readFile(`${dir}/many.der`);
}
