/**
 * The Model port: what the agent loop needs from a language model, in types of
 * our own that stay close to the Anthropic Messages API (so the adapter is a thin
 * mapping) without leaking the SDK into the rest of the code base.
 */

/** A prompt-cache breakpoint. `1h` for the stable prefix (tools, system), `5m` for rolling ones. */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
  cache_control?: CacheControl;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
  cache_control?: CacheControl;
}

/**
 * The model's reasoning, carried opaquely: the API checks `signature` against the
 * text (and, on models with preserved thinking, against everything before the block),
 * so it goes back byte for byte or not at all. The text may be empty (display omitted).
 */
export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
  /** The loop never sets it: breakpoints go on other blocks. */
  cache_control?: CacheControl;
}

/** Reasoning the API encrypted; `data` goes back unchanged. */
export interface RedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
  cache_control?: CacheControl;
}

/** What an assistant message holds, in the order the model produced it. */
export type AssistantBlock = TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock;

export type ContentBlock = AssistantBlock | ToolResultBlock;

export function isThinkingBlock(block: ContentBlock): block is ThinkingBlock | RedactedThinkingBlock {
  return block.type === 'thinking' || block.type === 'redacted_thinking';
}

export interface Message {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
}

export interface ModelRequest {
  system: TextBlock[];
  tools: ToolDefinition[];
  messages: Message[];
  /** Defaults to the model's configured maximum. */
  maxTokens?: number;
  /** `none` forbids tool calls (used for the summarizing compaction call). */
  toolChoice?: 'auto' | 'none';
  /** The job's abort signal: cancels the request in flight and any backoff sleep. */
  signal?: AbortSignal;
  /** Text deltas as they stream in (a retried request streams again from the start). */
  onText?: (delta: string) => void;
}

export interface Usage {
  /** Input tokens neither read from nor written to the cache. */
  input: number;
  output: number;
  cacheRead: number;
  /** All cache writes, whatever their TTL. */
  cacheWrite: number;
  /** The part of `cacheWrite` written with the 1 h TTL (billed at 2x instead of 1.25x). */
  cacheWrite1h?: number;
  /** The part of `output` spent thinking (already in `output`, which is what is billed). */
  thinking?: number;
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal';

export interface ModelResponse {
  id: string;
  model: string;
  /** Every block the API returned, thinking included, in order: replay it as it is. */
  content: AssistantBlock[];
  stopReason: StopReason | null;
  usage: Usage;
}

export interface Model {
  /** The model name, used for pricing. */
  readonly name: string;
  /** Context window in tokens, used for compaction. */
  readonly contextWindow: number;
  /**
   * True when the API checks that nothing before a replayed thinking block changed
   * ("preserved thinking"): after an edit of earlier history, the thinking blocks
   * after the edit must be removed, never sent. Absent means false.
   */
  readonly preservedThinking?: boolean;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

export function emptyUsage(): Usage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, thinking: 0 };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
    cacheWrite1h: (a.cacheWrite1h ?? 0) + (b.cacheWrite1h ?? 0),
    thinking: (a.thinking ?? 0) + (b.thinking ?? 0),
  };
}
