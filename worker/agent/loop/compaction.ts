import { isThinkingBlock, type Message, type ToolResultBlock, type ToolUseBlock } from '../../model/model.js';
import { stableStringify } from './stable-json.js';

export interface CompactionOptions {
  /** Compact when the context reaches this share of the window. */
  triggerShare: number;
  /** After clearing tool results, summarize if the context is still above this share. */
  targetShare: number;
  /** The newest turns (assistant messages with their results) that are never touched. */
  keepTurns: number;
  /** Tool results shorter than this are left as they are (clearing them saves nothing). */
  minClearChars: number;
}

export const DEFAULT_COMPACTION: CompactionOptions = {
  triggerShare: 0.7,
  targetShare: 0.5,
  keepTurns: 3,
  minClearChars: 400,
};

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

function argsSummary(input: unknown): string {
  const s = stableStringify(input);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * Replaces the content of old tool results with a short placeholder, in one batch.
 * The first message (the task) and the newest turns are never touched. Returns the
 * new history (a copy), how many results were cleared, the characters saved and the
 * index of the first changed message (the cache is invalid from there on).
 */
export function clearOldToolResults(
  messages: Message[],
  options: Pick<CompactionOptions, 'keepTurns' | 'minClearChars'>,
): { messages: Message[]; cleared: number; savedChars: number; firstChanged: number } {
  const boundary = keepBoundary(messages, options.keepTurns);
  const uses = new Map<string, ToolUseBlock>();
  let cleared = 0;
  let savedChars = 0;
  let firstChanged = -1;
  const out = messages.map((m, i) => {
    if (m.role === 'assistant') {
      for (const b of m.content) if (b.type === 'tool_use') uses.set(b.id, b);
      return m;
    }
    if (i === 0 || i >= boundary) return m;
    let changed = false;
    const content = m.content.map((b) => {
      if (
        b.type !== 'tool_result' ||
        b.content.length < options.minClearChars ||
        b.content.startsWith('[output cleared')
      )
        return b;
      const use = uses.get(b.tool_use_id);
      const placeholder = `[output cleared to save context: ${use ? `${use.name} ${argsSummary(use.input)}` : 'tool'}, ${Buffer.byteLength(b.content)} bytes]`;
      changed = true;
      cleared += 1;
      savedChars += b.content.length - placeholder.length;
      const next: ToolResultBlock = { ...b, content: placeholder };
      return next;
    });
    if (!changed) return m;
    if (firstChanged < 0) firstChanged = i;
    return { role: m.role, content };
  });
  return { messages: out, cleared, savedChars, firstChanged };
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

/**
 * Rebuilds the history after a summary: the original task message with the summary
 * (and the plan) appended, then the newest turns unchanged.
 */
export function summarizedHistory(
  messages: Message[],
  summary: string,
  planNote: string,
  keepTurns: number,
): Message[] {
  const boundary = keepBoundary(messages, keepTurns);
  const first = messages[0] as Message;
  const head: Message = {
    role: 'user',
    content: [
      ...first.content.filter((b) => b.type === 'text'),
      {
        type: 'text',
        text: `[harness] Earlier turns were summarized to save context.\n<summary>\n${summary}\n</summary>${planNote ? `\n${planNote}` : ''}`,
      },
    ],
  };
  const rest = messages.slice(boundary);
  // The kept part must start with an assistant message so roles keep alternating.
  return rest[0]?.role === 'assistant' ? [head, ...rest] : [head, ...rest.slice(1)];
}
