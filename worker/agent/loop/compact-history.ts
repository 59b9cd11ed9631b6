import type { Message, TextBlock } from '../../model/model.js';
import {
  clearOldToolResults,
  dropThinkingFrom,
  estimateTokens,
  SUMMARY_REQUEST,
  summarizedHistory,
} from './compaction.js';
import { queryModel } from './query-model.js';
import { planNote, type Run, upcomingContext } from './run-state.js';

function lastText(content: Message['content']): string {
  return content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('\n')
    .trim();
}

/**
 * Brings the context down in one batch: clears old tool results, and if that is not
 * enough, asks the model for a summary (one more call that reads the cached prefix)
 * and rebuilds the history from it. These are the only edits of earlier history; on a
 * model with preserved thinking the thinking blocks after the first edit are removed
 * (never sent changed), so every request after a compaction is valid and the model's
 * next thinking is bound to the new history.
 */
export async function compactHistory(run: Run): Promise<void> {
  const { ctx, state } = run;
  const { model } = ctx;
  const cleared = clearOldToolResults(state.history, ctx.compaction);
  let kind: 'clear' | 'summary' = 'clear';
  if (cleared.cleared > 0) {
    state.history = cleared.messages;
    if (model.preservedThinking) state.history = dropThinkingFrom(state.history, cleared.firstChanged);
  }
  const estimate = upcomingContext(state) - Math.floor(cleared.savedChars / 4);
  if (estimate > ctx.compaction.targetShare * model.contextWindow) {
    // The request appends the question at the end: nothing already sent changes, so its thinking stays valid.
    const request = state.history.slice();
    const tail = request.at(-1) as Message;
    request[request.length - 1] = {
      role: tail.role,
      content: [...tail.content, { type: 'text', text: SUMMARY_REQUEST }],
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
      );
      if (model.preservedThinking) state.history = dropThinkingFrom(state.history, 0);
      kind = 'summary';
    }
  }
  if (cleared.cleared === 0 && kind === 'clear') return;
  state.previousTail = undefined;
  state.logged = state.history.length;
  ctx.transcript.write({ type: 'compaction', kind, cleared: cleared.cleared, messages: state.history });
  const note = planNote(state.plan);
  state.pendingNotes.push(
    `[harness] Older tool outputs were cleared to save context; run a command again if you need its output.${note ? `\n${note}` : ''}`,
  );
  ctx.emit({ type: 'compaction', kind, cleared: cleared.cleared });
  ctx.emit({
    type: 'status',
    message: kind === 'summary' ? 'Summarized older turns' : 'Cleared old tool outputs',
  });
  ctx.log.info(
    { kind, cleared: cleared.cleared, contextTokens: upcomingContext(state) },
    'Context compacted',
  );
  // Until the next response reports real usage, the size is estimated from the text.
  state.lastContext = estimateTokens(state.history);
}

export { lastText };
