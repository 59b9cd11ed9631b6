import { z } from 'zod';
import type { Logger } from '../../../src/logger.js';
import type { Model, Usage } from '../../model/model.js';
import type { PriceTable } from '../../model/pricing.js';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { type Budgets, runAgent } from '../loop/run-agent.js';
import type { AgentTask, Tool } from '../tool.js';
import { defineTool } from '../tools/define-tool.js';
import { REVIEWER_SYSTEM_PROMPT, reviewMessage, type VerifyOutcome } from './review-prompt.js';

export const ReviewFinding = z.strictObject({
  severity: z.enum(['blocker', 'major', 'minor']),
  path: z.string().max(500).optional(),
  line: z.number().int().min(1).optional(),
  problem: z.string().min(1).max(1_000),
  suggestion: z.string().max(1_000).optional(),
});
export type ReviewFinding = z.infer<typeof ReviewFinding>;

export const SubmitReviewInput = z.strictObject({
  verdict: z.enum(['approve', 'changes-requested']),
  summary: z.string().min(1).max(2_000).describe('One or two sentences: the verdict and why.'),
  findings: z.array(ReviewFinding).max(20).default([]),
});
export type SubmitReviewInput = z.infer<typeof SubmitReviewInput>;

/** The review's outcome, for the PR body, the run record and the address round. */
export interface SelfReview {
  verdict: 'approve' | 'changes-requested' | 'skipped' | 'failed';
  summary: string;
  findings: ReviewFinding[];
  usage: Usage;
  costUsd: number;
  turns: number;
  durationMs: number;
  /** Set by reviewBeforeDelivery: the agent had its round to address the findings. */
  addressed?: boolean;
}

export interface SelfReviewInput {
  task: AgentTask;
  patch: string;
  verify: VerifyOutcome[];
  budgets: Budgets;
  signal: AbortSignal;
  log: Logger;
  transcriptPath: string;
}

export const DEFAULT_REVIEW_BUDGETS: Budgets = { maxTurns: 3, maxCostUsd: 0.5, maxWallMs: 3 * 60_000 };

/** The reviewer needs no sandbox: it has one tool, which touches nothing. Any use is a bug. */
const NO_SANDBOX: Sandbox = {
  id: 'reviewer-none',
  workdir: '/nonexistent',
  exec: () => Promise.reject(new Error('The reviewer has no sandbox.')),
  readFile: () => Promise.reject(new Error('The reviewer has no sandbox.')),
  writeFile: () => Promise.reject(new Error('The reviewer has no sandbox.')),
  blockedConnections: async () => [],
  dispose: async () => undefined,
};

const ZERO: Usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

function createSubmitReviewTool(): Tool {
  return defineTool({
    name: 'submit_review',
    description: 'Records your review of the change. Call it exactly once; the review ends with it.',
    input: SubmitReviewInput,
    async run(input) {
      // The loop ends a run on a finish effect; the verdict travels as JSON in its summary.
      return {
        content: 'Review recorded.',
        isError: false,
        effect: { kind: 'finish', summary: JSON.stringify(input) },
      };
    },
  }) as Tool;
}

/**
 * The reviewer before delivery: a subagent (the same `runAgent`) that sees only the task,
 * the diff and the verify results, and answers with a verdict through its one tool. Its
 * usage and cost are returned for the run's budget. A reviewer that fails or stops without
 * a verdict never blocks delivery: the verdict is `failed` and the change goes out as it is.
 */
export async function runSelfReview(
  deps: { model: Model; secrets?: string[]; prices?: PriceTable },
  input: SelfReviewInput,
): Promise<SelfReview> {
  const t0 = Date.now();
  const result = await runAgent({
    model: deps.model,
    sandbox: NO_SANDBOX,
    tools: [createSubmitReviewTool()],
    system: REVIEWER_SYSTEM_PROMPT,
    firstUserMessage: reviewMessage(input.task, input.patch, input.verify),
    budgets: input.budgets,
    signal: input.signal,
    log: input.log,
    transcriptPath: input.transcriptPath,
    secrets: deps.secrets,
    prices: deps.prices,
  });
  const usage: Usage = {
    input: result.usage.input,
    output: result.usage.output,
    cacheRead: result.usage.cacheRead,
    cacheWrite: result.usage.cacheWrite,
  };
  const base = { usage, costUsd: result.usage.costUsd, turns: result.turns, durationMs: Date.now() - t0 };
  if (result.outcome === 'succeeded' || result.outcome === 'no-changes') {
    try {
      const parsed = SubmitReviewInput.parse(JSON.parse(result.summary));
      // Only a blocker or major finding is a "real problem" worth a round; minor notes approve.
      const real = parsed.findings.some((f) => f.severity !== 'minor');
      return {
        verdict: parsed.verdict === 'changes-requested' && real ? 'changes-requested' : 'approve',
        summary: parsed.summary,
        findings: parsed.findings,
        ...base,
      };
    } catch {
      // The reviewer ended without calling submit_review: no verdict.
    }
  }
  input.log.warn({ outcome: result.outcome, limit: result.limit }, 'Self-review ended without a verdict');
  return {
    verdict: 'failed',
    summary: `The review did not complete (${result.limit ? `${result.limit} budget` : result.outcome}).`,
    findings: [],
    ...base,
  };
}

export function skippedReview(reason: string): SelfReview {
  return {
    verdict: 'skipped',
    summary: reason,
    findings: [],
    usage: ZERO,
    costUsd: 0,
    turns: 0,
    durationMs: 0,
  };
}
