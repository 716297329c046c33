/**
 * The protocol analyzers weir implements, and which of them a run loads:
 * Zeek's default scripts load every base analyzer (`zeek -r`), bare mode
 * only the protocols named (`zeek -b … base/protocols/dns`). What is loaded
 * also decides `likely_server_ports`, as Zeek fills it from the analyzers'
 * `register_for_ports` calls.
 *
 * @module
 */

import type { AnalyzerSpec } from "../analysis/framework/mod.ts";
import type { FileHash } from "../analysis/files/mod.ts";
import { createDnsAnalyzer } from "../analysis/dns/mod.ts";
import { createHttpAnalyzer } from "../analysis/http/mod.ts";
import { createSslAnalyzers } from "../analysis/ssl/mod.ts";
import {
  FTP_ANALYZER,
  IMAP_ANALYZER,
  IRC_ANALYZER,
  MYSQL_ANALYZER,
  POP3_ANALYZER,
  RDP_ANALYZER,
  SMTP_ANALYZER,
  XMPP_ANALYZER,
} from "../analysis/starttls/mod.ts";
import { BARE_LIKELY_SERVER_PORTS, DEFAULT_LIKELY_SERVER_PORTS } from "../analysis/conn/mod.ts";

/** `default` (every analyzer, Zeek's default scripts), `none`, or the analyzers by Zeek's name. */
export type AnalyzerSelection = "default" | "none" | readonly string[];

/** Settings of the analyzers that policy scripts change. */
export interface ProtocolSettings {
  /** `policy/protocols/dns/auth-addl`: parse DNS authority/additional sections into `auth`/`addl`. */
  readonly dnsAuthAddl?: boolean;
  /** `dns_skip_all_addl` (Zeek's default true). */
  readonly dnsSkipAllAddl?: boolean;
  /** `dns_max_queries` (Zeek's default 25). */
  readonly dnsMaxQueries?: number;
  /** `dns_max_compression_chain_depth` (Zeek's default 20). */
  readonly dnsMaxCompressionChainDepth?: number;
  /** `HTTP::default_capture_password` (Zeek's default false). */
  readonly httpCapturePassword?: boolean;
  /** `SSL::log_include_server_certificate_subject_issuer` (Zeek's default false). */
  readonly sslServerSubjectIssuer?: boolean;
  /** `SSL::log_include_client_certificate_subject_issuer` (Zeek's default false). */
  readonly sslClientSubjectIssuer?: boolean;
  /** Hashes of every file (Zeek's base scripts compute none; `hash-all-files`: all three). */
  readonly fileHashes?: readonly FileHash[];
}

/** Thrown for an analyzer name weir does not implement. */
export class UnknownAnalyzerError extends Error {
  override readonly name = "UnknownAnalyzerError";
}

/**
 * Every analyzer weir implements, in Zeek's load order (`init-default.zeek`
 * loads the protocol directories alphabetically). SMTP, IMAP, POP3, IRC,
 * XMPP, FTP, MySQL and RDP are analysed up to their hand-over to SSL.
 */
export function weirAnalyzers(settings: ProtocolSettings = {}): AnalyzerSpec[] {
  const [ssl, dtls] = createSslAnalyzers({
    serverSubjectIssuer: settings.sslServerSubjectIssuer ?? false,
    clientSubjectIssuer: settings.sslClientSubjectIssuer ?? false,
  });
  return [
    createDnsAnalyzer({
      authAddl: settings.dnsAuthAddl ?? false,
      ...(settings.dnsSkipAllAddl === undefined ? {} : { skipAllAddl: settings.dnsSkipAllAddl }),
      ...(settings.dnsMaxQueries === undefined ? {} : { maxQueries: settings.dnsMaxQueries }),
      ...(settings.dnsMaxCompressionChainDepth === undefined
        ? {}
        : { maxCompressionDepth: settings.dnsMaxCompressionChainDepth }),
    }),
    FTP_ANALYZER,
    createHttpAnalyzer({
      ...(settings.httpCapturePassword === undefined
        ? {}
        : { capturePassword: settings.httpCapturePassword }),
      ...(settings.fileHashes === undefined ? {} : { files: { hashes: settings.fileHashes } }),
    }),
    IMAP_ANALYZER,
    IRC_ANALYZER,
    MYSQL_ANALYZER,
    POP3_ANALYZER,
    RDP_ANALYZER,
    SMTP_ANALYZER,
    ssl,
    dtls,
    XMPP_ANALYZER,
  ];
}

/** The analyzers a selection loads. */
export function selectAnalyzers(
  selection: AnalyzerSelection,
  settings: ProtocolSettings = {},
): AnalyzerSpec[] {
  const all = weirAnalyzers(settings);
  if (selection === "default") return all;
  if (selection === "none") return [];
  const known = new Map(all.map((s) => [s.name.toUpperCase(), s]));
  const unknown = selection.filter((name) => !known.has(name.toUpperCase()));
  if (unknown.length > 0) {
    throw new UnknownAnalyzerError(
      `weir has no analyzer ${unknown.join(", ")}: choose from ${
        all.map((s) => s.name).join(", ") || "(none yet)"
      }`,
    );
  }
  // A script directory loads all its analyzers: `base/protocols/ssl` is SSL and DTLS.
  return selection.flatMap((name) =>
    (SCRIPT_ANALYZERS[name.toUpperCase()] ?? [name.toUpperCase()]).map((n) => known.get(n)!)
  );
}

/** Analyzers loaded together with the one a selection names. */
const SCRIPT_ANALYZERS: Readonly<Record<string, readonly string[]>> = { SSL: ["SSL", "DTLS"] };

/**
 * `likely_server_ports` for a selection, as Zeek would have it: the default
 * scripts' full list, or bare mode's tunnel ports plus the loaded
 * analyzers' server ports.
 */
export function likelyServerPortsFor(
  selection: AnalyzerSelection,
  analyzers: readonly AnalyzerSpec[],
): readonly string[] {
  if (selection === "default") return DEFAULT_LIKELY_SERVER_PORTS;
  return [...BARE_LIKELY_SERVER_PORTS, ...analyzers.flatMap((s) => s.serverPorts)];
}
