import {
  type CacheControl,
  type ContentBlock,
  isThinkingBlock,
  type Message,
  type TextBlock,
  type ToolDefinition,
} from '../../model/model.js';

const LONG: CacheControl = { type: 'ephemeral', ttl: '1h' };
const ROLLING: CacheControl = { type: 'ephemeral' };

export const MAX_BREAKPOINTS = 4;

function markLast<T extends { cache_control?: CacheControl }>(items: T[], control: CacheControl): T[] {
  if (items.length === 0) return items;
  const out = items.slice();
  out[out.length - 1] = { ...(out[out.length - 1] as T), cache_control: control };
  return out;
}

function withoutMarks(content: ContentBlock[]): ContentBlock[] {
  return content.map((b) => {
    if (!b.cache_control) return b;
    const { cache_control: _drop, ...rest } = b;
    return rest as ContentBlock;
  });
}

/** The rolling mark goes on the message's last block that may carry one (never a thinking block). */
function markContent(content: ContentBlock[], control: CacheControl): ContentBlock[] {
  const at = content.findLastIndex((b) => !isThinkingBlock(b));
  if (at < 0) return content;
  const out = content.slice();
  out[at] = { ...(out[at] as ContentBlock), cache_control: control };
  return out;
}

/**
 * Places the prompt-cache breakpoints on a copy of the request, never on the
 * stored history (so moving them does not change any earlier block):
 * 1. the last tool definition, 1 h (tools rarely change within a run);
 * 2. the last system block, 1 h;
 * 3. the previous request's newest message, 5 min: it bridges to the entry the
 *    last turn wrote, even when the new turn adds more than the 20-block lookback;
 * 4. the newest message, 5 min: the rolling breakpoint that writes this turn.
 * After a clear of stale tool results (or a summary) the end of the fixed stretch,
 * the anchor, takes the tool definitions' place (the system block's entry covers the
 * tools, which come first in the prompt): every request refreshes it, so the next
 * clear, which changes only what follows it, still reads that prefix from the cache.
 * Order matters to the API: 1 h breakpoints must precede 5 min ones.
 */
export function applyCacheBreakpoints(input: {
  tools: ToolDefinition[];
  system: TextBlock[];
  messages: Message[];
  /** Index of the newest message of the previous request, if any. */
  previousTailIndex?: number;
  /** Index of the last message the latest clear left fixed, if any. */
  anchorIndex?: number;
}): { tools: ToolDefinition[]; system: TextBlock[]; messages: Message[] } {
  const messages = input.messages.map((m) => ({ role: m.role, content: withoutMarks(m.content) }));
  const last = messages.length - 1;
  const marks = new Set<number>();
  if (last >= 0) marks.add(last);
  const bridge = input.previousTailIndex;
  if (bridge !== undefined && bridge >= 0 && bridge < last) marks.add(bridge);
  const anchor = input.anchorIndex;
  const anchored = anchor !== undefined && anchor >= 0 && anchor < last && !marks.has(anchor);
  if (anchored) marks.add(anchor);
  const tools = anchored && marks.size >= 3 ? input.tools : markLast(input.tools, LONG);
  const system = markLast(input.system, LONG);
  for (const i of marks) {
    const m = messages[i] as Message;
    m.content = markContent(m.content, ROLLING);
  }
  return { tools, system, messages };
}

export function countBreakpoints(request: {
  tools: ToolDefinition[];
  system: TextBlock[];
  messages: Message[];
}): number {
  let n = 0;
  for (const t of request.tools) if (t.cache_control) n += 1;
  for (const s of request.system) if (s.cache_control) n += 1;
  for (const m of request.messages) for (const b of m.content) if (b.cache_control) n += 1;
  return n;
}
