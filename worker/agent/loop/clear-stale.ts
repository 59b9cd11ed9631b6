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
 *
 * Whole files the agent wrote (`clearWrites`) are the one tool INPUT cleared: the content
 * of a stale `create` becomes a stub inside the call (path and result stay, the file is on
 * disk), as the API's context editing does with `clear_tool_inputs`. A run that writes a
 * few large files otherwise carries them to the end, and every later batch has to reach
 * back past them, rewriting the cache from there, to find anything it may clear.
 */

/** Tools whose results stay: the agent's state, not re-runnable output. */
const KEEP_TOOLS = new Set(['update_plan', 'memory', 'finish', 'delegate']);
export const STUB_PREFIX = '[cleared:';

export interface ClearOptions {
  /** Tool results in the newest `keepTurns` turns stay whole. */
  keepTurns: number;
  /** Results shorter than this stay (a stub would save nothing). */
  minClearChars: number;
  /**
   * Also clear the content of whole files the agent wrote (the editor's `create` input,
   * like the API's context editing `clear_tool_inputs`): the file is on disk, the call,
   * its path and its result stay. Default off.
   */
  clearWrites?: boolean;
  /** A written file shorter than this stays. */
  minClearWriteChars?: number;
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

/** The editor's `create` input: a whole file the agent wrote. */
function writtenText(b: Message['content'][number], options: ClearOptions): string | undefined {
  if (b.type !== 'tool_use' || b.name !== 'str_replace_based_edit_tool' || !options.clearWrites)
    return undefined;
  const input = b.input as { command?: unknown; file_text?: unknown } | null;
  if (input?.command !== 'create' || typeof input.file_text !== 'string') return undefined;
  if (
    input.file_text.length < (options.minClearWriteChars ?? 2_000) ||
    input.file_text.startsWith(STUB_PREFIX)
  )
    return undefined;
  return input.file_text;
}

function writtenStub(use: ToolUseBlock, text: string): string {
  const path = (use.input as { path?: unknown }).path;
  return `${STUB_PREFIX} ${text.length.toLocaleString('en-US')} characters written to ${typeof path === 'string' ? path : 'the file'}; view the file if you need them]`;
}

export interface StaleResults {
  /** Characters that clearing would remove. */
  chars: number;
  count: number;
  /** Index of the first message a clear would change, or -1. */
  firstChanged: number;
  /** The newest message a clear would leave fixed (the cache anchor for the next batch). */
  boundary: number;
  /**
   * Characters of the messages already sent (before `sentCount`), from the first change
   * on, after the clear: the part of the cached prefix written to the cache again
   * instead of read. What was added since the last request is written either way.
   */
  rewriteChars: number;
}

function toolUses(messages: Message[]): Map<string, ToolUseBlock> {
  const uses = new Map<string, ToolUseBlock>();
  for (const m of messages)
    if (m.role === 'assistant') for (const b of m.content) if (b.type === 'tool_use') uses.set(b.id, b);
  return uses;
}

/** Characters a clear of message `m` would remove, and how many results. */
function staleIn(
  m: Message,
  uses: Map<string, ToolUseBlock>,
  options: ClearOptions,
): { chars: number; count: number } {
  let chars = 0;
  let count = 0;
  if (m.role === 'assistant') {
    for (const b of m.content) {
      const text = writtenText(b, options);
      if (text === undefined) continue;
      chars += text.length - writtenStub(b as ToolUseBlock, text).length;
      count += 1;
    }
    return { chars, count };
  }
  for (const b of m.content) {
    if (b.type !== 'tool_result' || keeps(uses.get(b.tool_use_id), b, options)) continue;
    chars += b.content.length - stubFor(uses.get(b.tool_use_id), b).length;
    count += 1;
  }
  return { chars, count };
}

/**
 * Every batch a clear could make now, without changing anything: a batch clears the
 * stale results from its first change up to the kept turns, so there is one per message
 * holding stale results, newest first (each one a superset of the one before). `sentCount`
 * is how many messages the last request sent (default: all): only those are cached.
 */
export function staleBatches(
  messages: Message[],
  options: ClearOptions,
  sentCount = messages.length,
): StaleResults[] {
  const boundary = keepBoundary(messages, options.keepTurns);
  const uses = toolUses(messages);
  const sentSize = (i: number) => (i < sentCount ? estimateTokens([messages[i] as Message]) * 4 : 0);
  let rewriteChars = 0;
  for (let i = boundary; i < messages.length; i += 1) rewriteChars += sentSize(i);
  let chars = 0;
  let count = 0;
  const batches: StaleResults[] = [];
  for (let i = boundary - 1; i >= 1; i -= 1) {
    const stale = staleIn(messages[i] as Message, uses, options);
    rewriteChars += sentSize(i) - (i < sentCount ? stale.chars : 0);
    if (stale.count === 0) continue;
    chars += stale.chars;
    count += stale.count;
    batches.push({ chars, count, firstChanged: i, boundary, rewriteChars });
  }
  return batches;
}

/** What clearing everything stale would remove now (the largest batch). */
export function measureStale(messages: Message[], options: ClearOptions): StaleResults {
  return (
    staleBatches(messages, options).at(-1) ?? {
      chars: 0,
      count: 0,
      firstChanged: -1,
      boundary: keepBoundary(messages, options.keepTurns),
      rewriteChars: 0,
    }
  );
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
  options: ClearOptions & {
    preservedThinking: boolean;
    /** The batch's first change (a `staleBatches` entry's `firstChanged`); default: everything stale. */
    from?: number;
  },
): ClearResult {
  const from = options.from;
  const stale =
    from === undefined
      ? measureStale(messages, options)
      : (staleBatches(messages, options)
          .filter((b) => b.firstChanged >= from)
          .at(-1) ?? {
          ...measureStale([], options),
          firstChanged: -1,
          boundary: keepBoundary(messages, options.keepTurns),
        });
  const uses = toolUses(messages);
  let cleared = 0;
  let savedChars = 0;
  const out = messages.map((m, i) => {
    if (m.role === 'assistant' && i >= stale.firstChanged && i < stale.boundary && stale.firstChanged >= 0) {
      let wrote = false;
      const content = m.content.map((b) => {
        const text = writtenText(b, options);
        if (text === undefined) return b;
        const use = b as ToolUseBlock;
        const stub = writtenStub(use, text);
        wrote = true;
        cleared += 1;
        savedChars += text.length - stub.length;
        // The input keeps its keys in the model's order; only the file's content becomes the stub.
        const next: ToolUseBlock = { ...use, input: { ...(use.input as object), file_text: stub } };
        return next;
      });
      return wrote ? { role: m.role, content } : m;
    }
    if (
      m.role !== 'user' ||
      i === 0 ||
      stale.firstChanged < 0 ||
      i < stale.firstChanged ||
      i >= stale.boundary
    )
      return m;
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

export interface BatchPolicy {
  /** The next request's context, tokens. */
  size: number;
  /** From this size a batch is made (the context must come down). */
  trigger: number;
  /** A batch removes what brings the context down to this size, at least. */
  target: number;
  /** A batch removes at least this many tokens (a smaller one saves less than its rewrite costs). */
  minTokens: number;
}

/**
 * Which batch to make now, if any. Every batch writes the cached prefix again from its
 * first change on (`rewriteChars`), and removes outputs that cost only a cache read (a
 * tenth of the price) while they stay. So a batch is made only when the context reaches
 * `trigger`, and it is the one that brings the context down to `target` with the least
 * rewrite: the newest stale results first, back from the kept turns; older ones stay in
 * the cached prefix, where they cost little. If no batch gets there, all of them.
 * (Anthropic's context editing has the same knobs: a trigger, and `clear_at_least`.)
 */
export function chooseBatch(batches: StaleResults[], policy: BatchPolicy): StaleResults | undefined {
  const worth = batches.filter((b) => b.chars >= policy.minTokens * 4);
  if (worth.length === 0 || policy.size < policy.trigger) return undefined;
  const need = (policy.size - policy.target) * 4;
  const enough = worth.filter((b) => b.chars >= need);
  if (enough.length === 0) return worth.at(-1);
  return enough.reduce((a, b) => (b.rewriteChars < a.rewriteChars ? b : a));
}
