import type { AgentOutcome } from '../../../src/domain/run-outcome.js';
import { toPullwrightError } from '../../../src/errors.js';
import { redactText } from '../../../src/logger.js';
import { memoryBytes, type SessionMemory } from '../memory/session-memory.js';
import type { PlanItem, ThreadReply } from '../tool.js';
import { exceededLimit, type LimitKind } from './budgets.js';
import { budgetState, type ClearingTotals, type Run } from './run-state.js';

/**
 * How an agent run ends: `AgentOutcome` plus `needs_input` (the agent stopped to ask a
 * person through finish's `needs_input`; the flows post the question and stop).
 */
export type AgentResultOutcome = AgentOutcome | 'needs_input';

/** The one result type of an agent run (flows, session and CLI read it). */
export interface AgentResult {
  outcome: AgentResultOutcome;
  summary: string;
  limit?: LimitKind;
  error?: { code: string; message: string };
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number; costUsd: number };
  turns: number;
  durationMs: number;
  plan: PlanItem[];
  /** Replies the agent wrote for individual review threads (address-review), secrets scrubbed. */
  threadReplies?: ThreadReply[];
  /** With outcome `needs_input`: the question for the person (secrets scrubbed; untrusted model text). */
  needsInput?: { question: string };
  /** The session memory at the end (secrets scrubbed), for the host to store per issue/PR. The loop always sets it. */
  memory?: SessionMemory;
  /** Bytes of `memory` as stored. */
  memoryBytes?: number;
  /** What clearing stale tool results did and cost (batches, tokens saved and rewritten, thinking dropped), and summaries made. */
  context?: ClearingTotals & { summaries: number };
}

/**
 * Why a run stops. Every stop is one of these values, reaching `endRun` by one of two
 * roads: a step returns it (finish, a budget, a refusal, the end without finish), or
 * the run signal aborts (cancel, wall time) and any await in flight throws, which
 * `endingOnError` reads. Nothing else checks for a stop.
 */
export interface Ending {
  outcome: AgentResultOutcome;
  summary: string;
  limit?: LimitKind;
  error?: { code: string; message: string };
  threadReplies?: ThreadReply[];
  needsInput?: { question: string };
}

/** A budget reached before the next request. */
export function endingOnBudget(run: Run): Ending | undefined {
  const { state, ctx } = run;
  const limit = exceededLimit(ctx.options.budgets, budgetState(run));
  if (!limit) return undefined;
  return {
    outcome: 'limit',
    summary: `Stopped at the ${limit} budget after ${state.turns} turns. ${state.lastAssistantText}`.trim(),
    limit,
  };
}

/** Whatever interrupted a step: the job's cancel, the wall-time deadline, or a real failure. */
export function endingOnError(run: Run, err: unknown): Ending {
  const { ctx, state } = run;
  if (ctx.options.signal.aborted) return { outcome: 'cancelled', summary: 'The run was cancelled.' };
  if (ctx.wallDeadline.aborted)
    return {
      outcome: 'limit',
      summary:
        `Stopped at the wall time budget after ${state.turns} turns. ${state.lastAssistantText}`.trim(),
      limit: 'wall_time',
    };
  const e = toPullwrightError(err);
  const message = redactText(e.message, ctx.secrets);
  ctx.log.warn({ code: e.code, err: e }, 'Agent run failed');
  return { outcome: 'failed', summary: `The run failed: ${message}`, error: { code: e.code, message } };
}

/** Turns the ending into the result: decides no-changes, scrubs secrets, writes the last transcript lines. */
export async function endRun(run: Run, ending: Ending): Promise<AgentResult> {
  const { ctx, state } = run;
  const { threadReplies, needsInput, outcome, summary, ...rest } = ending;
  let finalOutcome = outcome;
  if (outcome === 'succeeded' && ctx.options.hasChanges) {
    try {
      if (!(await ctx.options.hasChanges())) finalOutcome = 'no-changes';
    } catch (err) {
      ctx.log.warn({ err }, 'Change check failed');
    }
  }
  const result: AgentResult = {
    outcome: finalOutcome,
    summary: redactText(summary, ctx.secrets),
    ...rest,
    ...(threadReplies
      ? { threadReplies: threadReplies.map((r) => ({ ...r, reply: redactText(r.reply, ctx.secrets) })) }
      : {}),
    ...(needsInput ? { needsInput: { question: redactText(needsInput.question, ctx.secrets) } } : {}),
    usage: {
      input: state.usage.input,
      output: state.usage.output,
      cacheRead: state.usage.cacheRead,
      cacheWrite: state.usage.cacheWrite,
      costUsd: state.costUsd,
    },
    turns: state.turns,
    durationMs: Date.now() - ctx.started,
    plan: state.plan,
    memory: scrubMemory(state.memory, ctx.secrets),
    memoryBytes: memoryBytes(state.memory),
    context: { ...state.clearing, summaries: state.summaries },
  };
  if (state.history.length > state.logged)
    ctx.transcript.write({
      type: 'messages',
      turn: state.turns,
      messages: state.history.slice(state.logged),
    });
  ctx.transcript.write({ type: 'result', result });
  ctx.emit({ type: 'result', outcome: result.outcome, turns: result.turns, costUsd: result.usage.costUsd });
  ctx.log.info(
    { outcome: finalOutcome, turns: state.turns, costUsd: state.costUsd, limit: ending.limit },
    'Agent run ended',
  );
  return result;
}

/**
 * The memory leaves the run for Redis and later prompts: a secret the agent copied into
 * it (from text the output scrubbing did not see, such as its own reasoning) must not
 * travel with it. Every string field is scrubbed on its own.
 */
function scrubMemory(memory: SessionMemory, secrets: string[]): SessionMemory {
  const r = (t: string) => redactText(t, secrets);
  return {
    understanding: r(memory.understanding),
    decisions: memory.decisions.map((d) => ({ decision: r(d.decision), reason: r(d.reason) })),
    progress: memory.progress.map(r),
    filesTouched: memory.filesTouched.map(r),
    openQuestions: memory.openQuestions.map(r),
    nextSteps: memory.nextSteps.map(r),
  };
}
