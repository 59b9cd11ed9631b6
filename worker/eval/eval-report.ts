/** The `pullwright eval` report: stable JSON (add fields, never rename) and its human form. */

export type EvalTaskStatus = 'solved' | 'unsolved' | 'invalid' | 'error';

export interface EvalTokens {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface EvalTestRun {
  command: string;
  exitCode: number | null;
  ok: boolean;
  timedOut: boolean;
  /** The end of its output (secrets scrubbed). */
  outputTail: string;
}

export interface EvalTaskReport {
  sha: string;
  parentSha: string;
  kind: 'commit' | 'merge';
  subject: string;
  source: 'commit-message' | 'issue' | 'pull-request';
  issue?: string;
  /**
   * solved: the fix's tests pass on the agent's change. unsolved: they fail. invalid: not a usable
   * task (its tests pass without the fix, or fail with it, or there is no test command). error:
   * the run itself failed (setup, sandbox, a patch that does not apply).
   */
  status: EvalTaskStatus;
  reason?: string;
  /** The agent's own outcome (succeeded, no-changes, limit, failed, cancelled). */
  agentOutcome: string | null;
  turns: number;
  tokens: EvalTokens;
  costUsd: number;
  /** The whole task: checks, agent and judging. */
  durationMs: number;
  agentDurationMs: number;
  filesChanged: string[];
  testPaths: string[];
  /** The judging run: the fix's test changes on the agent's result. */
  tests: EvalTestRun[];
}

export interface EvalReport {
  repo: string;
  head: string;
  model: string;
  startedAt: string;
  testCommands: string[];
  tasks: EvalTaskReport[];
  totals: {
    /** Tasks judged (solved + unsolved). */
    evaluated: number;
    solved: number;
    unsolved: number;
    invalid: number;
    errors: number;
    /** solved / evaluated (0 when nothing was evaluated). */
    solveRate: number;
    turns: number;
    tokens: EvalTokens;
    costUsd: number;
    durationMs: number;
  };
  reportPath: string | null;
}

export function totalsOf(tasks: EvalTaskReport[], durationMs: number): EvalReport['totals'] {
  const count = (s: EvalTaskStatus) => tasks.filter((t) => t.status === s).length;
  const solved = count('solved');
  const unsolved = count('unsolved');
  const sum = (f: (t: EvalTaskReport) => number) => tasks.reduce((n, t) => n + f(t), 0);
  return {
    evaluated: solved + unsolved,
    solved,
    unsolved,
    invalid: count('invalid'),
    errors: count('error'),
    solveRate: solved + unsolved === 0 ? 0 : solved / (solved + unsolved),
    turns: sum((t) => t.turns),
    tokens: {
      input: sum((t) => t.tokens.input),
      output: sum((t) => t.tokens.output),
      cacheRead: sum((t) => t.tokens.cacheRead),
      cacheWrite: sum((t) => t.tokens.cacheWrite),
    },
    costUsd: sum((t) => t.costUsd),
    durationMs,
  };
}

const MARK: Record<EvalTaskStatus, string> = { solved: '✓', unsolved: '✗', invalid: '-', error: '!' };

export function formatEvalReport(r: EvalReport): string {
  const lines = [`Evaluated ${r.repo} at ${r.head.slice(0, 12)} with ${r.model}`, ''];
  for (const t of r.tasks) {
    const tokens = t.tokens.input + t.tokens.output + t.tokens.cacheRead + t.tokens.cacheWrite;
    lines.push(
      `${MARK[t.status]} ${t.sha.slice(0, 10)} ${t.status.padEnd(8)} ${String(t.turns).padStart(3)} turns ${String(tokens).padStart(9)} tokens $${t.costUsd.toFixed(4)} ${(t.durationMs / 1000).toFixed(1).padStart(6)} s  ${t.subject.slice(0, 70)}`,
    );
    if (t.reason) lines.push(`    ${t.reason}`);
  }
  const x = r.totals;
  const tokens = x.tokens.input + x.tokens.output + x.tokens.cacheRead + x.tokens.cacheWrite;
  lines.push(
    '',
    `Solved ${x.solved}/${x.evaluated} (${(x.solveRate * 100).toFixed(0)} %)${x.invalid ? `, ${x.invalid} invalid` : ''}${x.errors ? `, ${x.errors} errors` : ''}`,
    `Turns ${x.turns}  Tokens ${tokens} (${x.tokens.input} in, ${x.tokens.output} out, ${x.tokens.cacheRead} cache read, ${x.tokens.cacheWrite} cache write)  Cost $${x.costUsd.toFixed(4)}  Time ${(x.durationMs / 1000).toFixed(1)} s`,
  );
  if (r.reportPath) lines.push(`Report: ${r.reportPath}`);
  return lines.join('\n');
}
