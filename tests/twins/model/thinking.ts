import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { ContentBlockParam, MessageParam, MessagesRequest } from './types.js';

/**
 * Thinking as the Messages API documents it (extended, adaptive and preserved
 * thinking), for the twin: signed thinking blocks, and the 400s a harness gets when
 * it drops or alters one, or changes what came before one.
 *
 * - A `thinking` block's `signature` covers its text; a `redacted_thinking` block's
 *   `data` is opaque and covers itself. Any change → 400 "Invalid `signature`".
 * - On models with preserved thinking, each block is also bound to its prefix: the
 *   system prompt, the tools, every earlier message and the earlier blocks of its own
 *   message. A different prefix → 400 "The block is bound to a different
 *   conversation" (or the block is dropped with `prefix_mismatch_behavior: drop_block`).
 * - The tool-use turn being continued (the last assistant message, answered by tool
 *   results) must carry the thinking it was returned with → 400 "Expected `thinking`
 *   or `redacted_thinking`". The one documented exception: on a model with preserved
 *   thinking whose prefix was edited since, removing that thinking is the fix.
 *
 * The twin is stateful where the API is not: it remembers which thinking went with
 * which tool_use ids it issued, so a dropped block is caught even without a later one.
 */

/** Models that check the prefix of replayed thinking (preserved thinking). */
export const PRESERVED_THINKING = /claude-((fable|mythos)-5-[1-9]|(opus|sonnet|haiku)-5-5)/;
/** Models whose thinking is always adaptive: `enabled` and `disabled` are rejected. */
export const ADAPTIVE_ONLY = /claude-((fable|mythos)-5|opus-5-5|opus-4-7|mythos-preview)/;

export const THINKING_EXPECTED =
  'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking';

export class ThinkingRuleError extends Error {}

/** What the prefix check compares: the content of a block, ignoring cache_control and echo-only fields. */
function blockKey(block: ContentBlockParam): string {
  switch (block.type) {
    case 'text':
      return JSON.stringify(['text', block.text]);
    case 'tool_use':
      // Key order counts: the model wrote the input this way, and the API reads it as sent.
      return JSON.stringify(['tool_use', block.id, block.name, JSON.stringify(block.input)]);
    case 'tool_result': {
      const content =
        typeof block.content === 'string'
          ? block.content
          : (block.content ?? []).map((p) => (p.type === 'text' ? p.text : JSON.stringify(p)));
      return JSON.stringify(['tool_result', block.tool_use_id, block.is_error === true, content]);
    }
    case 'thinking':
      return JSON.stringify(['thinking', block.thinking, block.signature]);
    case 'redacted_thinking':
      return JSON.stringify(['redacted_thinking', block.data]);
    default:
      return JSON.stringify([block.type, (block as { source?: unknown }).source ?? null]);
  }
}

function blocksOf(message: MessageParam): ContentBlockParam[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

/** A running hash over the prompt, block by block: the value before a block is that block's prefix. */
export class PrefixChain {
  private value: string;
  constructor(request: Pick<MessagesRequest, 'system' | 'tools'>) {
    const system =
      typeof request.system === 'string' ? [request.system] : (request.system ?? []).map((b) => b.text);
    const tools = (request.tools ?? []).map((t) => {
      const { cache_control: _c, ...rest } = t as Record<string, unknown>;
      return JSON.stringify(rest);
    });
    this.value = createHash('sha256').update(JSON.stringify({ system, tools })).digest('hex');
  }
  get current(): string {
    return this.value;
  }
  add(messageIndex: number, role: string, key: string): void {
    this.value = createHash('sha256')
      .update(`${this.value}\u0000${messageIndex}\u0000${role}\u0000${key}`)
      .digest('hex');
  }
}

interface IssuedTurn {
  /** The prefix the issued message was produced after. */
  prefix: string;
  thinkingBlocks: number;
}

export interface ThinkingConfig {
  /** The model thinks at all on this request (a scenario's thinking is dropped when not). */
  active: boolean;
  /** Thinking text is returned empty (`display: omitted`); the signature still covers it. */
  omitted: boolean;
  prefixCheck: boolean;
  dropOnMismatch: boolean;
}

/** Validates the request's `thinking`, `output_config` and tool_choice against the model. */
export function thinkingConfig(request: MessagesRequest): ThinkingConfig {
  const raw = (request as { thinking?: unknown }).thinking as
    | {
        type?: unknown;
        budget_tokens?: unknown;
        display?: unknown;
        block_binding?: { prefix_mismatch_behavior?: unknown };
      }
    | undefined;
  const type = raw?.type;
  if (raw !== undefined && !['adaptive', 'enabled', 'disabled'].includes(String(type)))
    throw new ThinkingRuleError(`thinking.type: Input should be 'adaptive', 'enabled' or 'disabled'`);
  if ((type === 'enabled' || type === 'disabled') && ADAPTIVE_ONLY.test(request.model))
    throw new ThinkingRuleError(
      `"thinking.type.${type}" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.`,
    );
  if (type === 'enabled') {
    const budget = raw?.budget_tokens;
    if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1024)
      throw new ThinkingRuleError(
        'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024',
      );
    if (request.max_tokens <= budget)
      throw new ThinkingRuleError('`max_tokens` must be greater than `thinking.budget_tokens`.');
    const choice = request.tool_choice?.type;
    if (choice === 'any' || choice === 'tool')
      throw new ThinkingRuleError('Thinking may not be enabled when `tool_choice` forces tool use.');
  }
  const effort = (request as { output_config?: { effort?: unknown } }).output_config?.effort;
  if (
    effort !== undefined &&
    effort !== null &&
    !['low', 'medium', 'high', 'xhigh', 'max'].includes(String(effort))
  )
    throw new ThinkingRuleError(
      `output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'`,
    );
  return {
    active: type !== 'disabled',
    omitted: raw?.display === 'omitted',
    prefixCheck: PRESERVED_THINKING.test(request.model),
    dropOnMismatch: raw?.block_binding?.prefix_mismatch_behavior === 'drop_block',
  };
}

/** Signs and checks thinking blocks for one twin, and remembers the thinking of the turns it issued. */
export class ThinkingLedger {
  private readonly secret = randomBytes(32);
  private readonly issued = new Map<string, IssuedTurn>();

  private mac(...parts: string[]): string {
    return createHmac('sha256', this.secret).update(parts.join('\u0000')).digest('hex').slice(0, 32);
  }

  /** A signature the API would return: opaque base64, bound to the prefix and the text. */
  sign(prefix: string, text: string): string {
    return Buffer.from(`${prefix}:${this.mac('t', prefix, text)}`).toString('base64');
  }

  redactedData(prefix: string): string {
    const nonce = randomBytes(12).toString('hex');
    return Buffer.from(`${prefix}:${nonce}:${this.mac('r', prefix, nonce)}`).toString('base64');
  }

  /** Remembers an issued tool-use turn by its tool_use ids. */
  remember(toolUseIds: string[], prefix: string, thinkingBlocks: number): void {
    for (const id of toolUseIds) this.issued.set(id, { prefix, thinkingBlocks });
  }

  private verify(block: ContentBlockParam): string | undefined {
    const decoded = (value: string) => Buffer.from(value, 'base64').toString('utf8').split(':');
    if (block.type === 'thinking') {
      const [prefix, mac] = decoded(block.signature);
      return prefix && mac === this.mac('t', prefix, block.thinking) ? prefix : undefined;
    }
    if (block.type === 'redacted_thinking') {
      const [prefix, nonce, mac] = decoded(block.data);
      return prefix && nonce && mac === this.mac('r', prefix, nonce) ? prefix : undefined;
    }
    return undefined;
  }

  /**
   * Checks every replayed thinking block and the turn being continued. Returns the
   * request's messages (with blocks dropped under `drop_block`) and the chain after them.
   */
  check(request: MessagesRequest, config: ThinkingConfig): { chain: PrefixChain; dropped: string[] } {
    const chain = new PrefixChain(request);
    const dropped: string[] = [];
    const prefixOfMessage: string[] = [];
    request.messages.forEach((message, i) => {
      prefixOfMessage[i] = chain.current;
      blocksOf(message).forEach((block, j) => {
        if (block.type === 'thinking' || block.type === 'redacted_thinking') {
          if (message.role !== 'assistant')
            throw new ThinkingRuleError(
              `messages.${i}.content.${j}: thinking blocks may only appear in assistant messages`,
            );
          const what =
            block.type === 'thinking' ? '`signature` in `thinking`' : '`data` in `redacted_thinking`';
          const bound = this.verify(block);
          if (bound === undefined)
            throw new ThinkingRuleError(`messages.${i}.content.${j}: Invalid ${what} block`);
          if (config.prefixCheck && bound !== chain.current) {
            if (!config.dropOnMismatch)
              throw new ThinkingRuleError(
                `messages.${i}.content.${j}: Invalid ${what} block. The block is bound to a different conversation. Remove the block, or set \`thinking.block_binding.prefix_mismatch_behavior\` to "drop_block".`,
              );
            dropped.push(`messages.${i}.content.${j}`);
          }
        }
        chain.add(i, message.role, blockKey(block));
      });
    });
    this.checkContinuedTurn(request, config, prefixOfMessage);
    return { chain, dropped };
  }

  private checkContinuedTurn(
    request: MessagesRequest,
    config: ThinkingConfig,
    prefixOfMessage: string[],
  ): void {
    if (!config.active) return;
    const convo = request.messages.map((m, i) => ({ m, i })).filter(({ m }) => m.role !== 'system');
    const last = convo.at(-1);
    const turn = convo.at(-2);
    if (!last || !turn || last.m.role !== 'user' || turn.m.role !== 'assistant') return;
    const uses = blocksOf(turn.m).flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
    const issued = uses.map((id) => this.issued.get(id)).find((x) => x !== undefined);
    if (!issued || issued.thinkingBlocks === 0) return;
    const blocks = blocksOf(turn.m);
    const sent = blocks.filter((b) => b.type === 'thinking' || b.type === 'redacted_thinking').length;
    if (sent >= issued.thinkingBlocks) return;
    // Documented: after an edit before the turn, its (now invalid) thinking is removed, not sent.
    if (config.prefixCheck && sent === 0 && prefixOfMessage[turn.i] !== issued.prefix) return;
    const first = blocks.find((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking');
    throw new ThinkingRuleError(
      `messages.${turn.i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first?.type ?? 'text'}\`. ${THINKING_EXPECTED}`,
    );
  }

  reset(): void {
    this.issued.clear();
  }
}

export { blockKey };
