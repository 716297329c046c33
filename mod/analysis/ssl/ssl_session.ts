/**
 * What Zeek's SSL scripts make of the analyzer's events: one `SSL::Info`
 * per connection, its `ssl_history`, the `resumed` rules, the certificate
 * chains and the moment the ssl.log row is written (at `ssl_established`,
 * at the first analyzer violation, else when the connection goes)
 * (Z: scripts/base/protocols/ssl/main.zeek, files.zeek; research note
 * §3.2–§3.9).
 *
 * Zeek's handlers run from the event queue after the packet; the analyzer
 * raises its events in the order binpac queues them, and every handler's
 * effect on the row is the same applied at once: the row is written at
 * the event that writes it, later events no longer change it.
 *
 * @module
 */

import { fileId, formatHandleTime, latin1LogValue, T, type ZeekValue } from "../../../zeek/mod.ts";
import type { CertificateFile } from "../x509/mod.ts";
import type { LogStream } from "../../log/mod.ts";
import { CONNECTION_TYPE } from "../conn/mod.ts";
import type { AnalyzerHost } from "../framework/mod.ts";
import type { Hello } from "./hello.ts";
import { alertName, cipherName, curveName, versionName } from "./ssl_names.ts";

/** `SSL::max_ssl_history_length`. */
export const MAX_SSL_HISTORY_LENGTH = 100;

/** The session ticket and pre-shared key extensions, as `ssl_extension` sees them. */
const EXT_SESSION_TICKET = 35;
const EXT_PRE_SHARED_KEY = 41;
const TLS_V13 = 0x0304;
const CLIENT_KEY_EXCHANGE = 16;

/** A certificate of a chain, as ssl.log uses it (fingerprint, subject, issuer). */
export interface ChainCertificate {
  /** `X509::hash_function` of the DER: sha256, lower-case hex. */
  readonly fingerprint: string;
  readonly subject: string;
  readonly issuer: string;
}

/**
 * Where certificates go (x509.log and its dedup); the SSL analyzer hands
 * over each one of a Certificate message.
 */
export interface CertificateSink {
  /**
   * One certificate file: parsed and logged as Zeek's X.509 file analyzer
   * and scripts do; undefined when OpenSSL cannot parse it.
   */
  certificate(
    ts: number,
    der: Uint8Array,
    hostCert: boolean,
    clientCert: boolean,
    weird: (name: string, addl?: string) => void,
    file?: CertificateFile,
  ): ChainCertificate | undefined;
  /** `x509_check_cert_hostname(cert, host) != ""`. */
  matchesHostname(cert: ChainCertificate, host: string): boolean;
}

/** The site-script events the SSL scripts raise, with Zeek's signatures. */
export const SSL_EVENTS = [
  ["ssl_client_hello", [
    ["c", CONNECTION_TYPE],
    ["version", T.count],
    ["record_version", T.count],
    ["possible_ts", T.time],
    ["client_random", T.string],
    ["session_id", T.string],
    ["ciphers", T.vector(T.count)],
    ["comp_methods", T.vector(T.count)],
  ]],
  ["ssl_server_hello", [
    ["c", CONNECTION_TYPE],
    ["version", T.count],
    ["record_version", T.count],
    ["possible_ts", T.time],
    ["server_random", T.string],
    ["session_id", T.string],
    ["cipher", T.count],
    ["comp_method", T.count],
  ]],
  ["ssl_established", [["c", CONNECTION_TYPE]]],
  ["ssl_extension_server_name", [
    ["c", CONNECTION_TYPE],
    ["is_client", T.bool],
    ["names", T.vector(T.string)],
  ]],
] as const;

/** `SSL::Info` of one connection. */
class SslInfo {
  readonly ts: number;
  versionNum: number | undefined;
  cipher: string | undefined;
  curve: string | undefined;
  serverName: string | undefined;
  /** Hex of the client's session id (only when not empty or all zeros). */
  sessionId: string | undefined;
  resumed = false;
  lastAlert: string | undefined;
  nextProtocol: string | undefined;
  established = false;
  history = "";
  hrrSeen = false;
  clientTicketEmptySessionSeen = false;
  clientKeyExchangeSeen = false;
  clientPskSeen = false;
  /** `cert_chain` / `client_cert_chain`: one entry per certificate file, undefined when unparsable. */
  certChain: (ChainCertificate | undefined)[] | undefined;
  clientCertChain: (ChainCertificate | undefined)[] = [];
  logged = false;

  constructor(ts: number) {
    this.ts = ts;
  }
}

/** The SSL scripts of one connection. */
export class SslSession {
  readonly #host: AnalyzerHost;
  readonly #stream: () => LogStream;
  readonly #certs: CertificateSink | undefined;
  /** `SSL` or `DTLS`: the analyzer, as certificate files name their source. */
  readonly #source: string;
  #info: SslInfo | undefined;

  constructor(
    host: AnalyzerHost,
    stream: () => LogStream,
    certs: CertificateSink | undefined,
    source = "SSL",
  ) {
    this.#host = host;
    this.#stream = stream;
    this.#certs = certs;
    this.#source = source;
  }

  /** `set_session`: the record, created at the first SSL event. */
  #session(): SslInfo {
    return this.#info ??= new SslInfo(this.#host.now());
  }

  /** An event that only creates the session (`ssl_plaintext_data`, a confirmation). */
  touch(): void {
    this.#session();
  }

  /** Whether the row has been written (nothing later changes it). */
  get logged(): boolean {
    return this.#info?.logged ?? false;
  }

  #history(isClient: boolean, letter: string): void {
    const info = this.#session();
    if (info.history.length >= MAX_SSL_HISTORY_LENGTH) return;
    info.history += isClient ? letter.toUpperCase() : letter;
    if (info.history.length === MAX_SSL_HISTORY_LENGTH) {
      this.#host.weird(
        "SSL_max_ssl_history_length_reached",
        String(MAX_SSL_HISTORY_LENGTH),
        "SSL",
      );
    }
  }

  /** `ssl_connection_flipped`: `^`, appended as it is. */
  flipped(): void {
    this.#session().history += "^";
  }

  /** `ssl_extension` (every extension, after its own event). */
  extension(isClient: boolean, type: number, data: Uint8Array): void {
    const info = this.#session();
    if (isClient && type === EXT_SESSION_TICKET && data.length > 0) {
      info.clientTicketEmptySessionSeen = true;
    } else if (isClient && type === EXT_PRE_SHARED_KEY) {
      info.clientPskSeen = true;
    } else if (!isClient && type === EXT_PRE_SHARED_KEY && info.clientPskSeen) {
      info.resumed = true;
    }
  }

  /** `ssl_extension_server_name`. */
  serverNames(isClient: boolean, names: readonly string[]): void {
    const info = this.#session();
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("ssl_extension_server_name")) {
      events.dispatch("ssl_extension_server_name", [
        this.#host.connection(),
        isClient,
        names.map(latin1LogValue),
      ]);
    }
    if (!isClient || names.length === 0) return;
    info.serverName = names[0];
    if (names.length > 1) this.#host.weird("SSL_many_server_names", `[${names.join(", ")}]`, "");
  }

  /** `ssl_extension_supported_versions` from the server (one version). */
  serverVersion(version: number): void {
    const info = this.#session();
    info.versionNum = version;
  }

  /** `ssl_extension_key_share` from the server, and `ssl_ecdh_server_params`. */
  curve(group: number): void {
    this.#session().curve = curveName(group);
  }

  /** `ssl_extension_application_layer_protocol_negotiation`. */
  alpn(isClient: boolean, protocols: readonly string[]): void {
    const info = this.#session();
    if (!isClient && protocols.length > 0) info.nextProtocol = protocols[0];
  }

  /** `ssl_client_hello`; `recordVersion` 0 is an SSLv2-format hello. */
  clientHello(hello: Hello, recordVersion: number): void {
    const info = this.#session();
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("ssl_client_hello")) {
      events.dispatch("ssl_client_hello", [
        this.#host.connection(),
        hello.version,
        recordVersion,
        helloTime(hello),
        hello.random.slice(),
        hello.sessionId.slice(),
        [...hello.ciphers],
        [...hello.compression],
      ]);
    }
    if (hello.sessionIdLength > 0 && !isAllZero(hello.sessionId)) {
      info.sessionId = hex(hello.sessionId);
      info.clientTicketEmptySessionSeen = false;
    }
    if (recordVersion === 0) this.#history(true, "c");
  }

  /** `ssl_server_hello`. */
  serverHello(hello: Hello, recordVersion: number): void {
    const info = this.#session();
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("ssl_server_hello")) {
      events.dispatch("ssl_server_hello", [
        this.#host.connection(),
        hello.version,
        recordVersion,
        hello.version === 2 ? 0 : helloTime(hello),
        hello.random.slice(),
        hello.sessionId.slice(),
        hello.ciphers[0] ?? 0,
        hello.compression[0] ?? 0,
      ]);
    }
    info.versionNum ??= hello.version;
    info.cipher = cipherName(hello.ciphers[0] ?? 0);
    if (hello.helloRetry) info.hrrSeen = true;
    const v = info.versionNum;
    if (
      info.sessionId !== undefined && info.sessionId === hex(hello.sessionId) &&
      Math.floor(v / 0xff) !== 0x7f && v !== TLS_V13
    ) {
      info.resumed = true;
    }
    if (hello.version === 2) this.#history(false, "s");
  }

  /** `ssl_handshake_message`: the history letter of a handshake message. */
  handshakeMessage(isClient: boolean, type: number): void {
    const info = this.#session();
    if (isClient && type === CLIENT_KEY_EXCHANGE) info.clientKeyExchangeSeen = true;
    let letter = HANDSHAKE_LETTERS[type] ?? "z";
    if (type === 2 && info.hrrSeen) {
      letter = "j";
      info.hrrSeen = false;
    }
    this.#history(isClient, letter);
  }

  /** `ssl_change_cipher_spec`. */
  changeCipherSpec(isClient: boolean): void {
    const info = this.#session();
    this.#history(isClient, "i");
    if (isClient && info.clientTicketEmptySessionSeen && !info.clientKeyExchangeSeen) {
      info.resumed = true;
    }
  }

  /** `ssl_alert`. */
  alert(isClient: boolean, description: number): void {
    this.#history(isClient, "l");
    this.#session().lastAlert = alertName(description);
  }

  /** `ssl_heartbeat`. */
  heartbeat(isClient: boolean): void {
    this.#history(isClient, "b");
  }

  /** `ssl_plaintext_data`: application data in the clear before `established`. */
  plaintextData(contentType: number): void {
    const info = this.#session();
    if (info.versionNum === undefined || info.established || contentType !== 23) return;
    this.#host.weird("ssl_early_application_data", undefined, "");
  }

  /**
   * The certificates of a Certificate message (or an SSLv2 server hello):
   * each non-empty one becomes a file, `isClient` says whose chain
   * (`file_sniff` in files.zeek).
   */
  certificates(isClient: boolean, certs: readonly Uint8Array[]): void {
    const info = this.#session();
    if (certs.length === 0) return;
    for (let i = 0; i < certs.length; i++) {
      const der = certs[i]!;
      if (der.length === 0) {
        this.#host.weird("zero_length_certificate", undefined);
        continue;
      }
      const parsed = this.#certs?.certificate(
        this.#host.now(),
        der,
        i === 0,
        isClient,
        (name, addl) => this.#host.fileWeird(this.#file(der, i, isClient).fuid, name, addl),
        this.#host.events?.hasHandlers("x509_certificate")
          ? this.#file(der, i, isClient)
          : undefined,
      );
      info.certChain ??= [];
      (isClient ? info.clientCertChain : info.certChain).push(parsed);
    }
  }

  /**
   * The file of certificate `index` of a message, for `x509_certificate`'s
   * `fa_file`: its fuid hashes the handle `proc_certificate` builds (the
   * prefix is `ANALYZER_SSL` for DTLS too).
   */
  #file(der: Uint8Array, index: number, isClient: boolean): CertificateFile {
    const id = this.#host.endpoints();
    const handle = `Analyzer::ANALYZER_SSL${formatHandleTime(this.#host.startTime())}${
      isClient ? "T" : "F"
    }${id.origH}:${id.origP} > ${id.respH}:${id.respP}${index}`;
    return {
      fuid: fileId(handle),
      source: this.#source,
      isOrig: isClient,
      lastActive: this.#host.now(),
      seenBytes: der.length,
      totalBytes: undefined,
      missingBytes: 0,
      overflowBytes: 0,
      mimeType: index === 0 ? "application/x-x509-user-cert" : "application/x-x509-ca-cert",
      filename: undefined,
    };
  }

  /** `ssl_established`: the row is complete. */
  established(): void {
    const info = this.#session();
    info.established = true;
    const events = this.#host.events;
    if (events !== undefined && events.hasHandlers("ssl_established")) {
      events.dispatch("ssl_established", [this.#host.connection()]);
    }
    this.#write(info);
  }

  /** `analyzer_violation_info` for SSL: the row is written as it stands. */
  violation(): void {
    if (this.#info !== undefined) this.#write(this.#info);
  }

  /** `finalize_ssl`: the connection goes. */
  done(): void {
    if (this.#info !== undefined) this.#write(this.#info);
  }

  /** `ssl_finishing` (files.zeek) and `log_record`. */
  #write(info: SslInfo): void {
    if (info.logged) return;
    info.logged = true;
    const chain = info.certChain;
    const fps = (list: (ChainCertificate | undefined)[] | undefined) =>
      list?.filter((c) => c !== undefined).map((c) => c.fingerprint);
    const server = chain?.[0];
    const client = chain === undefined ? undefined : info.clientCertChain[0];
    let sniMatches: boolean | undefined;
    if (server !== undefined && info.serverName !== undefined) {
      sniMatches = this.#certs?.matchesHostname(server, info.serverName) ?? false;
    }
    const id = this.#host.endpoints();
    const row: ZeekValue[] = [
      info.ts,
      this.#host.uid,
      id.origH,
      id.origP,
      id.respH,
      id.respP,
      info.versionNum === undefined ? undefined : versionName(info.versionNum),
      info.cipher,
      info.curve,
      info.serverName === undefined ? undefined : latin1LogValue(info.serverName),
      info.resumed,
      info.lastAlert,
      info.nextProtocol === undefined ? undefined : latin1LogValue(info.nextProtocol),
      info.established,
      info.history,
      fps(chain),
      chain === undefined ? undefined : fps(info.clientCertChain),
      server?.subject,
      server?.issuer,
      client?.subject,
      client?.issuer,
      sniMatches,
    ];
    this.#host.logs.write(this.#stream(), row);
  }
}

/** `ssl_handshake_message`'s letters by message type (lower case: the server's). */
const HANDSHAKE_LETTERS: Readonly<Record<number, string>> = {
  0: "h",
  1: "c",
  2: "s",
  3: "v",
  4: "t",
  5: "e",
  6: "j",
  8: "o",
  11: "x",
  12: "k",
  13: "r",
  14: "n",
  15: "y",
  16: "g",
  20: "f",
  21: "w",
  22: "u",
  23: "a",
  24: "p",
  254: "m",
};

/** The `gmt_unix_time` a hello's random starts with (`possible_ts`). */
function helloTime(hello: Hello): number {
  const r = hello.random;
  return r.length >= 4 ? ((r[0]! << 24) >>> 0) + (r[1]! << 16) + (r[2]! << 8) + r[3]! : 0;
}

function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** `bytestring_to_hexstr`. */
function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}
