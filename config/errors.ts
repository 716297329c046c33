/**
 * Configuration problems, collected across all files and reported together.
 *
 * @module
 */

/** One problem: where it is and what is wrong, with the value found. */
export interface ConfigProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** The configuration cannot be used; `problems` lists every problem found. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** `node.cfg:7: message`, or `node.cfg: message` without a line. */
export function formatProblem(problem: ConfigProblem): string {
  return problem.line === undefined
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}:${problem.line}: ${problem.message}`;
}

/** Collects problems while parsing; throws them all at once. */
export class ProblemList {
  readonly #problems: ConfigProblem[] = [];

  add(file: string, line: number | undefined, message: string): void {
    this.#problems.push(line === undefined ? { file, message } : { file, line, message });
  }

  get empty(): boolean {
    return this.#problems.length === 0;
  }

  throwIfAny(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }
}
