import { isThinkingBlock, type Message, type ToolResultBlock, type ToolUseBlock } from '../../model/model.js';
import { dropThinkingFrom, estimateTokens, keepBoundary } from './compaction.js';
import { stableStringify } from './stable-json.js';

/**
 * Clearing stale tool results: outputs older than the newest few turns are replaced by a
 * one-line stub (what ran, its exit code, that it can be run again). The output of a
 * command ten turns ago is rarely needed again, yet without this it is re-sent on every
 * request until the context is compacted.
 *
 * Clearing edits history, so it is done in batches: every batch invalidates the prompt
 * cache from the first changed message on (that part is written again), and on models
 * with preserved thinking every thinking block after it (removed, as documented, never
 * sent with a changed prefix). One batch clears everything stale at once, and the next
 * batch waits until enough new stale output has piled up to pay for the rewrite.
 *
 * Batches align with a cache breakpoint: the end of the cleared stretch (the `anchor`)
 * carries a breakpoint on every later request, so the next batch, which only changes
 * messages after it, reads the whole cleared prefix from the cache.
 *
 * What is never cleared: the task (first message), the newest turns, and the results
 * that carry the agent's own state: edits (they are short and say what changed), the
 * plan, the session memory, a subagent's report, and errors (short, and the reason for
 * what the agent did next).
 */

/** Tools whose results stay: the agent's state, not re-runnable output. */
const KEEP_TOOLS = new Set(['update_plan', 'memory', 'finish', 'delegate']);
export const STUB_PREFIX = '[cleared:';

export interface ClearOptions {
  /** Tool results in the newest `keepTurns` turns stay whole. */
  keepTurns: number;
  /** Results shorter than this stay (a stub would save nothing). */
  minClearChars: number;
}

function keeps(use: ToolUseBlock | undefined, block: ToolResultBlock, options: ClearOptions): boolean {
  if (block.content.length < options.minClearChars || block.content.startsWith(STUB_PREFIX)) return true;
  if (block.content.startsWith('[output cleared')) return true;
  if (!use) return false;
  if (KEEP_TOOLS.has(use.name)) return true;
  // An edit's result is its confirmation (and, for insert/str_replace, a short snippet); a view is output.
  if (use.name === 'str_replace_based_edit_tool') {
    const command = (use.input as { command?: unknown } | null)?.command;
    return command !== 'view';
  }
  return false;
}

function argsSummary(input: unknown): string {
  const s = stableStringify(input);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** The exit status a bash result ends with (`exit code: N`, or the timeout/kill sentence). */
function statusOf(block: ToolResultBlock): string {
  const last = block.content.slice(block.content.lastIndexOf('\n') + 1).trim();
  if (/^exit code: -?\d+$/.test(last)) return last;
  if (/^The command (timed out|ran out of memory|was killed|was cancelled)/.test(last))
    return last.slice(0, 80);
  return block.is_error ? 'error' : 'ok';
}

export function stubFor(use: ToolUseBlock | undefined, block: ToolResultBlock): string {
  const what = use ? `${use.name} ${argsSummary(use.input)}` : 'tool call';
  return `${STUB_PREFIX} ${what} → ${statusOf(block)}, ${Buffer.byteLength(block.content).toLocaleString('en-US')} bytes of output; run it again if you need it]`;
}

export interface StaleResults {
  /** Characters that clearing would remove. */
  chars: number;
  count: number;
  /** Index of the first message a clear would change, or -1. */
  firstChanged: number;
  /** The newest message a clear would leave fixed (the cache anchor for the next batch). */
  boundary: number;
}

function toolUses(messages: Message[]): Map<string, ToolUseBlock> {
  const uses = new Map<string, ToolUseBlock>();
  for (const m of messages)
    if (m.role === 'assistant') for (const b of m.content) if (b.type === 'tool_use') uses.set(b.id, b);
  return uses;
}

/** What a clear would remove now, without changing anything (decides whether a batch pays). */
export function measureStale(messages: Message[], options: ClearOptions): StaleResults {
  const boundary = keepBoundary(messages, options.keepTurns);
  const uses = toolUses(messages);
  let chars = 0;
  let count = 0;
  let firstChanged = -1;
  for (let i = 1; i < boundary; i += 1) {
    const m = messages[i] as Message;
    if (m.role !== 'user') continue;
    for (const b of m.content) {
      if (b.type !== 'tool_result' || keeps(uses.get(b.tool_use_id), b, options)) continue;
      const stub = stubFor(uses.get(b.tool_use_id), b);
      chars += b.content.length - stub.length;
      count += 1;
      if (firstChanged < 0) firstChanged = i;
    }
  }
  return { chars, count, firstChanged, boundary };
}

export interface ClearResult {
  messages: Message[];
  cleared: number;
  savedChars: number;
  firstChanged: number;
  /** The last message of the cleared stretch: it carries the anchor breakpoint from now on. */
  anchor: number;
  /** Thinking blocks removed because their prefix changed (0 on models without preserved thinking). */
  thinkingDropped: number;
  /** Their estimated tokens: reasoning the model no longer sees. */
  thinkingTokensDropped: number;
}

/**
 * Clears every stale result in one batch. On a model with preserved thinking the
 * thinking blocks after the first changed message are removed (the documented fix for
 * an edited prefix); on older models they stay as they were (their API requires the
 * current tool-use turn's thinking, and checks no prefix).
 */
export function clearStaleResults(
  messages: Message[],
  options: ClearOptions & { preservedThinking: boolean },
): ClearResult {
  const stale = measureStale(messages, options);
  const uses = toolUses(messages);
  let cleared = 0;
  let savedChars = 0;
  const out = messages.map((m, i) => {
    if (m.role !== 'user' || i === 0 || i >= stale.boundary) return m;
    let changed = false;
    const content = m.content.map((b) => {
      if (b.type !== 'tool_result' || keeps(uses.get(b.tool_use_id), b, options)) return b;
      const stub = stubFor(uses.get(b.tool_use_id), b);
      changed = true;
      cleared += 1;
      savedChars += b.content.length - stub.length;
      const next: ToolResultBlock = { ...b, content: stub };
      return next;
    });
    return changed ? { role: m.role, content } : m;
  });
  let thinkingDropped = 0;
  let thinkingTokensDropped = 0;
  let result = out;
  if (options.preservedThinking && stale.firstChanged >= 0) {
    for (const m of out.slice(stale.firstChanged)) {
      if (m.role !== 'assistant') continue;
      const blocks = m.content.filter(isThinkingBlock);
      thinkingDropped += blocks.length;
      thinkingTokensDropped += estimateTokens([{ role: 'assistant', content: blocks }]);
    }
    result = dropThinkingFrom(out, stale.firstChanged);
  }
  return {
    messages: result,
    cleared,
    savedChars,
    firstChanged: stale.firstChanged,
    anchor: stale.boundary - 1,
    thinkingDropped,
    thinkingTokensDropped,
  };
}
