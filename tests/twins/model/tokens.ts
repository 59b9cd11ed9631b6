import {
  type CacheControl,
  type ContentBlockParam,
  CountTokensRequest,
  type ToolDefinition,
} from './types.js';

/**
 * The twin's documented token estimate (see README): one token per 4 characters,
 * rounded up, per piece of text, plus fixed overheads. It is not Anthropic's
 * tokenizer; it is stable and deterministic, which is what the cache accounting and
 * the token-efficiency benchmark need.
 */
export const CHARS_PER_TOKEN = 4;
/** Added to the first block of every message (role markers). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Added to every tool definition (wrapping of the schema). */
export const TOOL_OVERHEAD_TOKENS = 8;
/** Flat cost of an image or document source. */
export const MEDIA_TOKENS = 1000;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** JSON with object keys sorted and `cache_control` dropped: the content a cache key covers. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (key === 'cache_control') continue;
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

function contentBlockTokens(block: ContentBlockParam): number {
  switch (block.type) {
    case 'text':
      return estimateTokens(block.text);
    case 'tool_use':
      return estimateTokens(block.name) + estimateTokens(JSON.stringify(block.input));
    case 'tool_result': {
      if (block.content === undefined) return 1;
      if (typeof block.content === 'string') return Math.max(1, estimateTokens(block.content));
      let sum = 0;
      for (const part of block.content)
        sum += part.type === 'text' ? estimateTokens(part.text) : MEDIA_TOKENS;
      return Math.max(1, sum);
    }
    case 'thinking':
      return estimateTokens(block.thinking);
    case 'redacted_thinking':
      return estimateTokens(block.data);
    case 'image':
    case 'document':
      return MEDIA_TOKENS;
  }
}

function toolTokens(tool: ToolDefinition): number {
  const description = 'description' in tool && typeof tool.description === 'string' ? tool.description : '';
  const schema = 'input_schema' in tool ? JSON.stringify(tool.input_schema) : '';
  return (
    TOOL_OVERHEAD_TOKENS + estimateTokens(tool.name) + estimateTokens(description) + estimateTokens(schema)
  );
}

/** One cacheable unit of the prompt, in the order the cache sees them: tools → system → messages. */
export interface PromptBlock {
  section: 'tools' | 'system' | 'messages';
  /** Canonical serialization (without cache_control), part of the prefix hash. */
  canonical: string;
  tokens: number;
  cacheControl?: CacheControl;
}

/** Flattens a request into its block sequence with per-block token estimates. */
export function promptBlocks(request: CountTokensRequest): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  for (const tool of request.tools ?? []) {
    blocks.push({
      section: 'tools',
      canonical: canonicalJson(tool),
      tokens: toolTokens(tool),
      cacheControl: tool.cache_control ?? undefined,
    });
  }
  if (typeof request.system === 'string') {
    if (request.system.length > 0) {
      blocks.push({
        section: 'system',
        canonical: canonicalJson(request.system),
        tokens: estimateTokens(request.system),
      });
    }
  } else {
    for (const block of request.system ?? []) {
      blocks.push({
        section: 'system',
        canonical: canonicalJson(block),
        tokens: estimateTokens(block.text),
        cacheControl: block.cache_control ?? undefined,
      });
    }
  }
  for (const message of request.messages) {
    const parts: ContentBlockParam[] =
      typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    parts.forEach((part, i) => {
      blocks.push({
        section: 'messages',
        // The role is part of the content: the same text as user or assistant is a different prompt.
        canonical: canonicalJson({ role: message.role, index: i, block: part }),
        tokens: contentBlockTokens(part) + (i === 0 ? MESSAGE_OVERHEAD_TOKENS : 0),
        cacheControl: part.cache_control ?? undefined,
      });
    });
    if (parts.length === 0) {
      blocks.push({
        section: 'messages',
        canonical: canonicalJson({ role: message.role, empty: true }),
        tokens: MESSAGE_OVERHEAD_TOKENS,
      });
    }
  }
  return blocks;
}

/**
 * Total input tokens of a request under the estimate (what count_tokens answers).
 * Takes any request object (SDK params included) and validates it; throws on an invalid one.
 */
export function estimateInputTokens(request: object): number {
  return promptBlocks(CountTokensRequest.parse(request)).reduce((sum, b) => sum + b.tokens, 0);
}

/** Output tokens of a reply's content under the same estimate (at least 1). */
export function estimateOutputTokens(
  content: ({ type: 'text'; text: string } | { type: 'tool_use'; name: string; input: unknown })[],
): number {
  let sum = 0;
  for (const block of content) {
    sum +=
      block.type === 'text'
        ? estimateTokens(block.text)
        : estimateTokens(block.name) + estimateTokens(JSON.stringify(block.input));
  }
  return Math.max(1, sum);
}
