import type { AssistantBlock, TextBlock, ToolUseBlock } from '../../model/model.js';
import { nearLimits, wrapUpNote } from './budgets.js';
import { chooseBatch, staleBatches } from './clear-stale.js';
import { clearStale, compactHistory, lastText } from './compact-history.js';
import { clearingPolicy, compactionTrigger } from './compaction.js';
import { type Ending, endingOnBudget } from './ending.js';
import { executeTools } from './execute-tools.js';
import { queryModel } from './query-model.js';
import { budgetState, logNewMessages, type Run, upcomingContext } from './run-state.js';

const NUDGE =
  '[harness] You ended your turn without calling the finish tool. If the task is done, call finish with a summary; otherwise continue working with the tools.';
const SHORTER =
  '[harness] Your last response was cut off at the output token limit. Continue, and keep each response shorter (split large file writes into several smaller edits).';

/** Before a request: the wrap-up warning near a budget, and compaction when the context is large. */
async function prepare(run: Run): Promise<void> {
  const { ctx, state } = run;
  const near = nearLimits(ctx.options.budgets, budgetState(run)).filter((k) => !state.warned.has(k));
  if (near.length > 0) {
    for (const k of near) state.warned.add(k);
    state.pendingNotes.push(wrapUpNote(near));
    ctx.emit({ type: 'status', message: `Near the ${near.join(', ')} budget; asked the agent to wrap up` });
  }
  // Stale tool output goes in batches, when the context is large and the batch pays for its cache rewrite.
  const policy = clearingPolicy(ctx.compaction, ctx.model.contextWindow, upcomingContext(state));
  if (ctx.compaction.clearStale && policy.size >= policy.trigger) {
    const options = {
      keepTurns: ctx.compaction.clearKeepTurns,
      minClearChars: ctx.compaction.minClearChars,
      clearWrites: ctx.compaction.clearWrites,
    };
    const batch = chooseBatch(
      // Only what the last request sent is cached; what was added since is written either way.
      staleBatches(state.history, options, state.previousTail === undefined ? 0 : state.previousTail + 1),
      policy,
    );
    if (batch) clearStale(run, 'batch', batch.firstChanged);
  }
  // Hysteresis: compacting invalidates the cache from the first changed message, so never two in a row.
  if (
    upcomingContext(state) > compactionTrigger(ctx.compaction, ctx.model.contextWindow) &&
    state.turns - state.lastCompactionTurn >= ctx.compaction.keepTurns
  ) {
    state.lastCompactionTurn = state.turns;
    await compactHistory(run);
  }
  // Notes go at the end of the newest (still unsent) user message: nothing already sent is rewritten.
  if (state.pendingNotes.length > 0) {
    const tail = state.history.at(-1);
    if (tail)
      state.history[state.history.length - 1] = {
        role: tail.role,
        content: [...tail.content, ...state.pendingNotes.map((text): TextBlock => ({ type: 'text', text }))],
      };
    state.pendingNotes.length = 0;
  }
}

/** Asks the model and appends its reply to the history exactly as received. */
async function query(run: Run) {
  const { ctx, state } = run;
  logNewMessages(run, state.turns + 1);
  const { response, cost, durationMs } = await queryModel(run, state.history);
  state.previousTail = state.history.length - 1;
  state.anchorBefore = undefined;
  state.bridge = undefined;
  state.turns += 1;
  const u = response.usage;
  state.lastContext = u.input + u.cacheRead + u.cacheWrite + u.output;
  ctx.emit({
    type: 'turn',
    turn: state.turns,
    usage: { input: u.input, output: u.output, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite },
    costUsd: cost,
    durationMs,
    model: response.model,
    text: lastText(response.content),
    stopReason: response.stopReason,
  });
  // Kept exactly as received (thinking, signatures, tool input key order): the API
  // checks replayed thinking against everything before it, this message included.
  const content: AssistantBlock[] = response.content.slice();
  if (content.length === 0) content.push({ type: 'text', text: '(no output)' });
  ctx.transcript.write({
    type: 'response',
    turn: state.turns,
    id: response.id,
    stopReason: response.stopReason,
    content,
    usage: u,
    costUsd: cost,
    durationMs,
  });
  state.history.push({ role: 'assistant', content });
  state.logged = state.history.length;
  const text = lastText(content);
  if (text) state.lastAssistantText = text;
  return { content, stopReason: response.stopReason };
}

/**
 * One step of the run: check the budgets, prepare the history, query the model,
 * execute the tools it called. Returns the run's ending, or nothing to go on.
 * Cancel and wall time are not checked here: they abort the run signal, and the
 * await in flight throws (see ending.ts).
 */
export async function step(run: Run): Promise<Ending | undefined> {
  const { ctx, state } = run;
  ctx.signal.throwIfAborted();
  const budget = endingOnBudget(run);
  if (budget) return budget;
  await prepare(run);
  const { content, stopReason } = await query(run);

  const uses = content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
  if (uses.length === 0) {
    if (stopReason === 'refusal') {
      const message = 'The model declined to continue with this task.';
      return {
        outcome: 'failed',
        summary: `${message} ${state.lastAssistantText}`.trim(),
        error: { code: 'input_invalid', message },
      };
    }
    if (stopReason === 'max_tokens') {
      state.history.push({ role: 'user', content: [{ type: 'text', text: SHORTER }] });
      return undefined;
    }
    if (!state.nudged) {
      state.nudged = true;
      state.history.push({ role: 'user', content: [{ type: 'text', text: NUDGE }] });
      return undefined;
    }
    return { outcome: 'succeeded', summary: state.lastAssistantText || 'The agent ended without a summary.' };
  }

  const executed = await executeTools(run, uses);
  state.history.push({ role: 'user', content: executed.results });
  if (executed.finish?.needsInput)
    return {
      outcome: 'needs_input',
      summary: executed.finish.summary,
      needsInput: executed.finish.needsInput,
      threadReplies: executed.finish.threads,
    };
  if (executed.finish)
    return { outcome: 'succeeded', summary: executed.finish.summary, threadReplies: executed.finish.threads };
  if (stopReason === 'max_tokens') state.pendingNotes.push(SHORTER);
  return undefined;
}
