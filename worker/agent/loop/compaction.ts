import { isThinkingBlock, type Message } from '../../model/model.js';
import type { BatchPolicy } from './clear-stale.js';
import { stableStringify } from './stable-json.js';

export interface CompactionOptions {
  /** Compact when the context reaches this share of the window... */
  triggerShare: number;
  /** ...or this many tokens, whichever is lower: a long context costs on every request, whatever the window. */
  maxContextTokens: number;
  /** After clearing tool results, summarize if the context is still above this share of the trigger's window share. */
  targetShare: number;
  /** The newest turns (assistant messages with their results) that are never touched. */
  keepTurns: number;
  /** Tool results shorter than this are left as they are (clearing them saves nothing). */
  minClearChars: number;
  /** Clear stale tool results between compactions (clear-stale.ts). */
  clearStale: boolean;
  /**
   * Stale results are cleared when the context reaches this size (default: the 40k cap less
   * one whole 8,192-token response, so a request sent just below it stays under the cap
   * even when the model answers with a large file). Waiting until then
   * makes each batch as large as it can be: every batch rewrites the cache from its first
   * change on (and drops the thinking after it), while stale output only costs a cache
   * read (a tenth of the price) on each request it stays.
   */
  clearAtTokens: number;
  /** ...and only when at least this many tokens would go (a smaller batch saves less than its rewrite costs). */
  clearBatchTokens: number;
  /**
   * A batch brings the context down to this share of `clearAtTokens`, newest stale results
   * first, and no further: the older ones stay in the cached prefix (read at a tenth of
   * the price) and the stretch written to the cache again is as short as it can be.
   */
  clearTargetShare: number;
  /**
   * Tool results of the newest this-many turns are never cleared. Fewer than `keepTurns`:
   * everything after a clear's first change is written to the cache again, so the kept
   * tail is what each batch pays for. Default 1: the newest turn's results, which the
   * model has not answered yet; the ones before were read and acted on (and a stub says
   * how to get them again).
   */
  clearKeepTurns: number;
  /**
   * Stale whole-file writes are cleared too: the content of an editor `create` older than
   * the kept turns becomes a stub (the file is on disk; the call, its path and its result
   * stay), as the API's context editing does with `clear_tool_inputs`.
   */
  clearWrites: boolean;
}

export const DEFAULT_COMPACTION: CompactionOptions = {
  triggerShare: 0.7,
  maxContextTokens: 40_000,
  targetShare: 0.5,
  keepTurns: 3,
  minClearChars: 400,
  clearStale: true,
  clearAtTokens: 32_000,
  clearBatchTokens: 8_000,
  clearTargetShare: 0.75,
  clearKeepTurns: 1,
  clearWrites: true,
};

/** The context size (tokens) at which the history is compacted. */
export function compactionTrigger(options: CompactionOptions, contextWindow: number): number {
  return Math.min(options.triggerShare * contextWindow, options.maxContextTokens);
}

/** The context size at which stale results are cleared: below the compaction trigger on a small window too. */
export function clearingTrigger(options: CompactionOptions, contextWindow: number): number {
  return Math.min(options.clearAtTokens, 0.9 * compactionTrigger(options, contextWindow));
}

/** When and how much to clear (clear-stale.ts chooseBatch). */
export function clearingPolicy(options: CompactionOptions, contextWindow: number, size: number): BatchPolicy {
  const trigger = clearingTrigger(options, contextWindow);
  return { size, trigger, target: options.clearTargetShare * trigger, minTokens: options.clearBatchTokens };
}

/** The size a compaction aims below (summarizes when clearing alone does not get there). */
export function compactionTarget(options: CompactionOptions, contextWindow: number): number {
  return compactionTrigger(options, contextWindow) * (options.targetShare / options.triggerShare);
}

/** Rough token count of a history, 4 characters a token, for decisions after a local edit. */
export function estimateTokens(messages: Message[]): number {
  let chars = 0;
  for (const m of messages)
    for (const b of m.content) {
      if (b.type === 'text') chars += b.text.length;
      else if (b.type === 'tool_result') chars += b.content.length;
      else if (b.type === 'thinking') chars += b.thinking.length + b.signature.length / 4;
      else if (b.type === 'redacted_thinking') chars += b.data.length / 4;
      else chars += b.name.length + stableStringify(b.input).length;
    }
  return Math.ceil(chars / 4);
}

/** Index of the first message of the newest `keepTurns` turns; everything before it may be compacted. */
export function keepBoundary(messages: Message[], keepTurns: number): number {
  let seen = 0;
  for (let i = messages.length - 1; i > 0; i -= 1) {
    if (messages[i]?.role === 'assistant') {
      seen += 1;
      if (seen === keepTurns) return i;
    }
  }
  return 1;
}

/**
 * Removes the thinking blocks an edit of earlier history invalidated, the way the API
 * documents for preserved thinking ("remove the thinking in the kept turns"): every
 * thinking block from `firstChanged` on, in every later assistant message, so no block
 * goes back with a prefix other than the one it was produced with and none is left out
 * between others. Blocks before the edit stay. A message left empty gets a placeholder.
 */
export function dropThinkingFrom(messages: Message[], firstChanged: number): Message[] {
  return messages.map((m, i) => {
    if (i < firstChanged || m.role !== 'assistant' || !m.content.some(isThinkingBlock)) return m;
    const content = m.content.filter((b) => !isThinkingBlock(b));
    return { role: m.role, content: content.length > 0 ? content : [{ type: 'text', text: '(no output)' }] };
  });
}

export const SUMMARY_REQUEST =
  '[harness] The conversation is getting too long. Write a concise summary of the work so far for your own later use: what you learned about the repository (files, commands, test results), what you changed, what failed, and what is left to do. Do not call tools.';

/** With a session memory, the summary is built around it: the memory is kept as it is, the summary adds the rest. */
export const SUMMARY_REQUEST_WITH_MEMORY =
  '[harness] The conversation is getting too long. Your session memory (the memory tool) is kept as it is and stays in your context. Write a concise summary of what the memory does not already hold: what you learned about the repository (files, commands, test results), what you changed, what failed and what you were in the middle of. Do not repeat the memory and do not call tools.';

/**
 * Rebuilds the history after a summary: the original task message with the summary
 * (and the plan) appended, then the newest turns unchanged.
 */
export function summarizedHistory(
  messages: Message[],
  summary: string,
  planNote: string,
  keepTurns: number,
  /** The session memory, fenced (memoryNote): the summary's backbone. */
  memoryNote = '',
): Message[] {
  const boundary = keepBoundary(messages, keepTurns);
  const first = messages[0] as Message;
  const head: Message = {
    role: 'user',
    content: [
      ...first.content.filter((b) => b.type === 'text'),
      {
        type: 'text',
        text: `[harness] Earlier turns were summarized to save context.${memoryNote ? `\n${memoryNote}` : ''}\n<summary>\n${summary}\n</summary>${planNote ? `\n${planNote}` : ''}`,
      },
    ],
  };
  const rest = messages.slice(boundary);
  // The kept part must start with an assistant message so roles keep alternating.
  return rest[0]?.role === 'assistant' ? [head, ...rest] : [head, ...rest.slice(1)];
}
