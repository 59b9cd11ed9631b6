import type { AgentOutcome } from '../../src/domain/run-outcome.js';
import type { PlanItem } from '../agent/tool.js';

/**
 * The CLI's documented outcome names. The rest of Pullwright speaks `AgentOutcome`
 * (`succeeded`, `failed`, …); the `--json` contract kept its original names, so
 * scripts written against it keep working. `toCliOutcome` is the only translation.
 */
export type CliOutcome = 'completed' | 'no-changes' | 'limit' | 'error' | 'cancelled' | 'needs-input';

const CLI_OUTCOME: Record<AgentOutcome, CliOutcome> = {
  succeeded: 'completed',
  failed: 'error',
  'no-changes': 'no-changes',
  limit: 'limit',
  cancelled: 'cancelled',
  // The agent stopped to ask a question; on the command line nobody can answer it mid-run, so the
  // question is the summary and the user runs again with a more precise task.
  needs_input: 'needs-input',
};

export function toCliOutcome(outcome: AgentOutcome): CliOutcome {
  return CLI_OUTCOME[outcome];
}

/** One verify command of the repository, run in the sandbox after the agent finished. */
export interface VerifyReport {
  command: string;
  /** null when the command was killed (timeout, memory, cancel). */
  exitCode: number | null;
  ok: boolean;
  timedOut: boolean;
}

/** The stable `--json` shape; documented in worker/cli/README.md. Add fields, never rename. */
export interface LocalRunResult {
  outcome: CliOutcome;
  summary: string;
  /** The branch left in the user's repository, or null when there was no change to keep. */
  branch: string | null;
  commit: string | null;
  baseSha: string;
  filesChanged: string[];
  stats: { files: number; additions: number; deletions: number };
  usage: {
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    costUsd: number;
  };
  turns: number;
  durationMs: number;
  plan: PlanItem[];
  transcriptPath: string;
  /** The repository's verify commands, in order; empty when it has none or the run was cancelled. */
  verify: VerifyReport[];
  /** Hosts the agent's network policy refused (allowlist), deduplicated. */
  blockedHosts: string[];
  limit?: string;
  error?: { code: string; message: string };
  /** Things the user should know (uncommitted changes left out, a change not kept and why). */
  notes: string[];
}
