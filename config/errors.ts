/**
 * Configuration problems. Parsing never stops at the first one: every
 * problem in every file is collected and thrown together as one
 * `ConfigError`, so an operator fixes them all in one round.
 *
 * @module
 */

/** One problem: where it is, and what is wrong with the value found. */
export interface ConfigProblem {
  /** The file's base name (`node.cfg`), or where else the value came from. */
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** The configuration cannot be used; `problems` lists every problem, the message one per line. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

/** `node.cfg:7: message`, or `node.cfg: message` when no single line is to blame. */
export function formatProblem(problem: ConfigProblem): string {
  return problem.line === undefined
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}:${problem.line}: ${problem.message}`;
}

/**
 * Collects problems while the files are parsed. `throwIfAny` orders them by
 * file (in the order the files were first mentioned) and line, so the report
 * reads top to bottom whatever order the checks ran in.
 */
export class Problems {
  readonly #problems: ConfigProblem[] = [];

  add(file: string, line: number | undefined, message: string): void {
    this.#problems.push(line === undefined ? { file, message } : { file, line, message });
  }

  get count(): number {
    return this.#problems.length;
  }

  throwIfAny(): void {
    if (this.#problems.length === 0) return;
    const fileOrder = [...new Set(this.#problems.map((p) => p.file))];
    const sorted = this.#problems
      .map((problem, index) => ({ problem, index }))
      .sort((a, b) =>
        fileOrder.indexOf(a.problem.file) - fileOrder.indexOf(b.problem.file) ||
        (a.problem.line ?? 0) - (b.problem.line ?? 0) ||
        a.index - b.index
      )
      .map(({ problem }) => problem);
    throw new ConfigError(sorted);
  }
}

/** ` (did you mean "interface"?)` when one candidate is a likely typo of `word`, else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const lower = word.toLowerCase();
  let best = "";
  let bestDistance = Math.max(1, Math.floor(lower.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === "" ? "" : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitute));
    }
    previous = current;
  }
  return previous[b.length]!;
}
