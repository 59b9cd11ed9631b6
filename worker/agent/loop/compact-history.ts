import type { Message, TextBlock } from '../../model/model.js';
import { clearStaleResults } from './clear-stale.js';
import {
  compactionTarget,
  dropThinkingFrom,
  estimateTokens,
  SUMMARY_REQUEST,
  SUMMARY_REQUEST_WITH_MEMORY,
  summarizedHistory,
} from './compaction.js';
import { queryModel } from './query-model.js';
import { memoryNote, planNote, type Run, upcomingContext } from './run-state.js';

function lastText(content: Message['content']): string {
  return content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('\n')
    .trim();
}

/**
 * One batch of stale tool results cleared (clear-stale.ts): the history edited once,
 * the anchor breakpoint moved to the end of the cleared stretch, the cost recorded
 * (thinking removed, the cache from the first change on). Returns the characters saved.
 */
export function clearStale(run: Run, reason: 'batch' | 'compaction', from?: number): number {
  const { ctx, state } = run;
  const result = clearStaleResults(state.history, {
    // A batch keeps the newest clearKeepTurns; compaction, which may summarize, keeps keepTurns.
    keepTurns: reason === 'batch' ? ctx.compaction.clearKeepTurns : ctx.compaction.keepTurns,
    minClearChars: ctx.compaction.minClearChars,
    clearWrites: ctx.compaction.clearWrites,
    preservedThinking: ctx.model.preservedThinking === true,
    ...(from === undefined ? {} : { from }),
  });
  if (result.cleared === 0) return 0;
  const rewritten = estimateTokens(result.messages.slice(result.firstChanged));
  state.history = result.messages;
  // The earlier anchor ends the stretch this clear left unchanged only if nothing before it changed.
  state.anchorBefore =
    state.clearAnchor !== undefined && state.clearAnchor < result.firstChanged
      ? state.clearAnchor
      : undefined;
  state.clearAnchor = result.anchor;
  // The newest message this clear left unchanged: the request after it reads up to there.
  state.bridge = result.firstChanged - 1;
  state.previousTail = undefined;
  state.logged = state.history.length;
  state.lastContext = Math.max(0, state.lastContext - Math.floor(result.savedChars / 4));
  state.clearing.batches += 1;
  state.clearing.cleared += result.cleared;
  state.clearing.savedTokens += Math.floor(result.savedChars / 4);
  state.clearing.rewrittenTokens += rewritten;
  state.clearing.thinkingDropped += result.thinkingDropped;
  state.clearing.thinkingTokensDropped += result.thinkingTokensDropped;
  ctx.transcript.write({
    type: 'clear',
    turn: state.turns,
    cleared: result.cleared,
    savedChars: result.savedChars,
    firstChanged: result.firstChanged,
    thinkingDropped: result.thinkingDropped,
    thinkingTokensDropped: result.thinkingTokensDropped,
    messages: state.history,
  });
  ctx.emit({
    type: 'compaction',
    kind: 'clear',
    cleared: result.cleared,
    thinkingDropped: result.thinkingDropped,
  });
  if (reason === 'batch')
    ctx.emit({ type: 'status', message: `Cleared ${result.cleared} stale tool outputs` });
  ctx.log.info(
    {
      cleared: result.cleared,
      savedTokens: Math.floor(result.savedChars / 4),
      rewrittenTokens: rewritten,
      thinkingDropped: result.thinkingDropped,
    },
    'Stale tool outputs cleared',
  );
  return result.savedChars;
}

/**
 * Brings the context down in one batch: clears stale tool results, and if that is not
 * enough, asks the model for a summary (one more call that reads the cached prefix)
 * and rebuilds the history from it, around the session memory, which is kept whole.
 * These are the only edits of earlier history; on a model with preserved thinking the
 * thinking blocks after the first edit are removed (never sent changed), so every
 * request after a compaction is valid and the model's next thinking is bound to the
 * new history.
 */
export async function compactHistory(run: Run): Promise<void> {
  const { ctx, state } = run;
  const { model } = ctx;
  const savedChars = clearStale(run, 'compaction');
  let kind: 'clear' | 'summary' = 'clear';
  const estimate = upcomingContext(state);
  if (estimate > compactionTarget(ctx.compaction, model.contextWindow)) {
    // The request appends the question at the end: nothing already sent changes, so its thinking stays valid.
    const memory = memoryNote(state.memory);
    const request = state.history.slice();
    const tail = request.at(-1) as Message;
    request[request.length - 1] = {
      role: tail.role,
      content: [
        ...tail.content,
        { type: 'text', text: memory ? SUMMARY_REQUEST_WITH_MEMORY : SUMMARY_REQUEST },
      ],
    };
    const { response, cost } = await queryModel(run, request, { toolChoice: 'none', maxTokens: 4096 });
    ctx.transcript.write({
      type: 'response',
      turn: state.turns,
      id: response.id,
      stopReason: response.stopReason,
      content: response.content,
      usage: response.usage,
      costUsd: cost,
      durationMs: 0,
    });
    const summary = lastText(response.content);
    if (summary) {
      state.history = summarizedHistory(
        state.history,
        summary,
        planNote(state.plan),
        ctx.compaction.keepTurns,
        memory,
      );
      if (model.preservedThinking) state.history = dropThinkingFrom(state.history, 0);
      // The rebuilt first message is the new fixed prefix: later clears change only what follows it.
      state.clearAnchor = 0;
      state.anchorBefore = undefined;
      state.bridge = undefined;
      state.summaries += 1;
      kind = 'summary';
    }
  }
  if (savedChars === 0 && kind === 'clear') return;
  state.previousTail = undefined;
  state.logged = state.history.length;
  if (kind === 'summary')
    ctx.transcript.write({ type: 'compaction', kind, cleared: 0, messages: state.history });
  const note = planNote(state.plan);
  state.pendingNotes.push(
    `[harness] Older tool outputs were cleared to save context; run a command again if you need its output.${note ? `\n${note}` : ''}`,
  );
  if (kind === 'summary') ctx.emit({ type: 'compaction', kind, cleared: 0 });
  ctx.emit({
    type: 'status',
    message: kind === 'summary' ? 'Summarized older turns' : 'Cleared old tool outputs',
  });
  ctx.log.info({ kind, contextTokens: upcomingContext(state) }, 'Context compacted');
  // Until the next response reports real usage, the size is estimated from the text.
  state.lastContext = estimateTokens(state.history);
}

export { lastText };
