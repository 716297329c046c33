/**
 * The protocol analyzers a pipeline loads, looked up the way Zeek attaches
 * them: by the responder port after the connection's roles are settled
 * (`IPBasedAnalyzer::BuildSessionAnalyzerTree`), and the server ports they
 * register feed `likely_server_ports` (`Analyzer::register_for_ports`).
 *
 * @module
 */

import type { AnalyzerSpec } from "./analyzer.ts";
import type { DpdRule } from "./pia.ts";

const PROTO_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17 };

/** Thrown for a port that is not `<number>/tcp` or `<number>/udp`. */
export class AnalyzerPortError extends Error {
  override readonly name = "AnalyzerPortError";
}

/** Analyzers by responder port. */
export class AnalyzerRegistry {
  readonly specs: readonly AnalyzerSpec[];
  /** Key: `port | proto << 16`. */
  readonly #byPort = new Map<number, AnalyzerSpec[]>();
  /** The DPD signatures of TCP and of UDP, with their analyzers. */
  readonly tcpRules: readonly DpdRule[];
  readonly udpRules: readonly DpdRule[];

  constructor(specs: readonly AnalyzerSpec[]) {
    this.specs = Object.freeze([...specs]);
    const rules = specs.flatMap((spec) =>
      spec.signatures.map((signature) => ({ spec, signature }))
    );
    this.tcpRules = Object.freeze(rules.filter((r) => r.signature.proto === "tcp"));
    this.udpRules = Object.freeze(rules.filter((r) => r.signature.proto === "udp"));
    for (const spec of specs) {
      for (const text of spec.ports) {
        const key = portKey(text, spec.name);
        const list = this.#byPort.get(key);
        if (list === undefined) this.#byPort.set(key, [spec]);
        else if (!list.includes(spec)) list.push(spec);
      }
    }
  }

  /** The analyzers registered for a responder port (`proto` 6 or 17), in load order. */
  forPort(port: number, proto: number): readonly AnalyzerSpec[] | undefined {
    return this.#byPort.get(port | (proto << 16));
  }

  /** The loaded analyzer of a name (Zeek's component name, case-insensitive). */
  byName(name: string): AnalyzerSpec | undefined {
    const upper = name.toUpperCase();
    return this.specs.find((s) => s.name.toUpperCase() === upper);
  }

  /** The server ports the analyzers register, as `likely_server_ports` lists them. */
  serverPorts(): string[] {
    return this.specs.flatMap((s) => s.serverPorts);
  }
}

function portKey(text: string, analyzer: string): number {
  const m = /^(\d{1,5})\/(tcp|udp)$/.exec(text);
  const port = m === null ? -1 : Number(m[1]);
  if (m === null || port > 65535) {
    throw new AnalyzerPortError(
      `Cannot register analyzer ${analyzer} for port "${text}": write it as 53/udp or 80/tcp`,
    );
  }
  return port | (PROTO_NUMBERS[m[2]!]! << 16);
}
