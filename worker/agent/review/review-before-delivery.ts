import type { Logger } from '../../../src/logger.js';
import type { AgentResult, Budgets } from '../loop/run-agent.js';
import type { AgentTask } from '../tool.js';
import type { HarnessEventSink } from '../tools/harness-events.js';
import type { VerifyOutcome } from './review-prompt.js';
import {
  DEFAULT_REVIEW_BUDGETS,
  type SelfReview,
  type SelfReviewInput,
  skippedReview,
} from './run-self-review.js';

/** Less than this left of the cost budget: no review (it would only push the run over). */
const MIN_REVIEW_BUDGET_USD = 0.02;
/** The address round's turn bounds. */
const ROUND_MIN_TURNS = 5;
const ROUND_MAX_TURNS = 20;
const ROUND_MAX_WALL_MS = 15 * 60_000;

export interface ReviewedChange<P extends { patch: string }, V extends VerifyOutcome> {
  agent: AgentResult;
  patch: P;
  verify: V[];
  blockedHosts: string[];
}

export interface ReviewBeforeDeliveryInput<P extends { patch: string }, V extends VerifyOutcome> {
  /** The repo's `review.selfReview`. */
  enabled: boolean;
  /** The runner's reviewer (`AgentRunner.review`); absent = no review. */
  review?: (input: SelfReviewInput) => Promise<SelfReview>;
  /**
   * Runs ONE more agent round on the same working copy with `task` and `limits`, then
   * extracts and verifies the change exactly as the session does.
   */
  address: (task: AgentTask, limits: Budgets, transcriptPath: string) => Promise<ReviewedChange<P, V>>;
  task: AgentTask;
  /** What the session has so far. */
  change: ReviewedChange<P, V>;
  limits: Budgets;
  signal: AbortSignal;
  log: Logger;
  transcriptPath: string;
  onEvent?: HarnessEventSink;
}

function sibling(transcriptPath: string, suffix: string): string {
  return transcriptPath.endsWith('.jsonl')
    ? `${transcriptPath.slice(0, -6)}.${suffix}.jsonl`
    : `${transcriptPath}.${suffix}.jsonl`;
}

/** The reviewer's findings as the note the agent's round starts from (rendered fenced: it derives from untrusted text). */
export function reviewFeedback(review: SelfReview): string {
  const lines = [
    'A reviewer checked your change before delivery (it saw only the task, the diff and the verify results) and found problems.',
    'The working copy already holds your change. Fix the problems below (only these; disagree in your summary if one is wrong),',
    'run the verify commands again, and call finish with the complete summary of the whole change.',
    '',
    `Reviewer: ${review.summary}`,
    ...review.findings.map(
      (f) =>
        `- [${f.severity}] ${f.path ? `${f.path}${f.line ? `:${f.line}` : ''}: ` : ''}${f.problem}${f.suggestion ? ` Suggestion: ${f.suggestion}` : ''}`,
    ),
  ];
  return lines.join('\n');
}

function withFeedback(task: AgentTask, agent: AgentResult, review: SelfReview): AgentTask {
  return {
    ...task,
    previous: { ...task.previous, plan: agent.plan, notes: reviewFeedback(review) },
    ...(agent.memory ? { memory: agent.memory } : {}),
  } as AgentTask;
}

function sumResults(first: AgentResult, second: AgentResult, review: SelfReview): AgentResult {
  const u = first.usage;
  const v = second.usage;
  return {
    ...second,
    outcome: second.outcome === 'cancelled' ? 'cancelled' : first.outcome,
    summary:
      second.outcome === 'succeeded'
        ? second.summary
        : `${first.summary}\n\nAfter review: ${second.summary}`.trim(),
    usage: {
      input: u.input + v.input + review.usage.input,
      output: u.output + v.output + review.usage.output,
      cacheRead: u.cacheRead + v.cacheRead + review.usage.cacheRead,
      cacheWrite: u.cacheWrite + v.cacheWrite + review.usage.cacheWrite,
      costUsd: u.costUsd + v.costUsd + review.costUsd,
    },
    turns: first.turns + second.turns,
    durationMs: first.durationMs + second.durationMs + review.durationMs,
    threadReplies: second.threadReplies ?? first.threadReplies,
  };
}

function withReviewCost(agent: AgentResult, review: SelfReview): AgentResult {
  const u = agent.usage;
  return {
    ...agent,
    usage: {
      input: u.input + review.usage.input,
      output: u.output + review.usage.output,
      cacheRead: u.cacheRead + review.usage.cacheRead,
      cacheWrite: u.cacheWrite + review.usage.cacheWrite,
      costUsd: u.costUsd + review.costUsd,
    },
  };
}

/**
 * The reviewer before delivery (Jules' critic): after verify, a subagent given only the task,
 * the diff and the verify results reviews a successful change. A real problem (blocker or
 * major) gets the agent ONE bounded round on the same working copy, after which the change is
 * extracted and verified again and delivered as it is (no second review: the round is
 * bounded, and a reviewer loop could burn the budget). The review's cost, and the round's,
 * count toward the run's budget: both get only what the run has left. Returns the change to
 * deliver (with summed usage) and the review for the PR body and the run record.
 */
export async function reviewBeforeDelivery<P extends { patch: string }, V extends VerifyOutcome>(
  input: ReviewBeforeDeliveryInput<P, V>,
): Promise<ReviewedChange<P, V> & { review: SelfReview | null }> {
  const { change, limits, log } = input;
  const { agent } = change;
  const emit = (review: SelfReview) => {
    try {
      input.onEvent?.({
        type: 'review',
        verdict: review.verdict,
        summary: review.summary,
        findings: review.findings,
        usage: review.usage,
        costUsd: review.costUsd,
        addressed: review.addressed === true,
      });
    } catch (err) {
      log.warn({ err }, 'Review event handler failed');
    }
  };
  if (!input.enabled || !input.review || agent.outcome !== 'succeeded' || change.patch.patch.trim() === '')
    return { ...change, review: null };
  const leftUsd = limits.maxCostUsd - agent.usage.costUsd;
  const leftWallMs = limits.maxWallMs - agent.durationMs;
  if (leftUsd < MIN_REVIEW_BUDGET_USD || leftWallMs < 10_000) {
    const review = skippedReview('Not enough of the run budget was left for a review.');
    emit(review);
    return { ...change, review };
  }
  const review = await input.review({
    task: input.task,
    patch: change.patch.patch,
    verify: change.verify,
    budgets: {
      ...DEFAULT_REVIEW_BUDGETS,
      maxCostUsd: Math.min(DEFAULT_REVIEW_BUDGETS.maxCostUsd, leftUsd / 2),
      maxWallMs: Math.min(DEFAULT_REVIEW_BUDGETS.maxWallMs, leftWallMs),
    },
    signal: input.signal,
    log,
    transcriptPath: sibling(input.transcriptPath, 'review'),
  });
  log.info(
    { verdict: review.verdict, findings: review.findings.length, costUsd: review.costUsd },
    'Self-review done',
  );
  const roundUsd = leftUsd - review.costUsd;
  const roundWallMs = leftWallMs - review.durationMs;
  if (
    review.verdict !== 'changes-requested' ||
    roundUsd < MIN_REVIEW_BUDGET_USD ||
    roundWallMs < 30_000 ||
    input.signal.aborted
  ) {
    emit(review);
    return { ...change, agent: withReviewCost(agent, review), review };
  }
  const roundLimits: Budgets = {
    maxTurns: Math.min(ROUND_MAX_TURNS, Math.max(ROUND_MIN_TURNS, limits.maxTurns - agent.turns)),
    maxCostUsd: roundUsd,
    maxWallMs: Math.min(ROUND_MAX_WALL_MS, roundWallMs),
  };
  const round = await input.address(
    withFeedback(input.task, agent, review),
    roundLimits,
    sibling(input.transcriptPath, 'review-round'),
  );
  const addressed: SelfReview = { ...review, addressed: true };
  emit(addressed);
  return {
    agent: sumResults(agent, round.agent, review),
    patch: round.patch,
    verify: round.verify,
    blockedHosts: [...new Set([...change.blockedHosts, ...round.blockedHosts])],
    review: addressed,
  };
}

/** The review as a PR-body section (plain markdown; the caller renders it inert like every model text). */
export function renderReviewSection(review: SelfReview | null): string {
  if (!review) return '';
  const head = {
    approve: 'Approved',
    'changes-requested': review.addressed
      ? 'Changes requested, then addressed in one more round'
      : 'Changes requested (not addressed: no budget left)',
    skipped: 'Skipped',
    failed: 'Did not complete',
  }[review.verdict];
  const lines = [`### Self-review: ${head}`, '', review.summary];
  for (const f of review.findings)
    lines.push(
      `- **${f.severity}**${f.path ? ` \`${f.path}${f.line ? `:${f.line}` : ''}\`` : ''}: ${f.problem}`,
    );
  if (review.costUsd > 0) lines.push('', `Review cost: $${review.costUsd.toFixed(4)}`);
  return lines.join('\n');
}
