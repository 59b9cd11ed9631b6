import type { Effort, ThinkingMode } from '../../src/config/env.js';

/**
 * How the adapter asks for thinking. `auto` picks per model: adaptive thinking where
 * the model has it (every current model), the budgeted form where the model needs it
 * (Claude 4.5 and older), none where the model cannot think.
 */
export type { Effort, ThinkingMode };

/** The minimum `budget_tokens` the API accepts for the budgeted form. */
export const MIN_THINKING_BUDGET = 1024;

export interface ModelThinking {
  /** What the model supports: adaptive (with effort), only the budgeted form, or no thinking. */
  kind: 'adaptive' | 'budgeted' | 'none';
  /** The API checks the prefix of replayed thinking blocks (preserved thinking). */
  prefixCheck: boolean;
}

// From Anthropic's model pages (see worker/model/README.md): the budgeted form only
// on Claude 4.5 and older; no thinking on Claude 3.5 and older. The prefix check
// (preserved thinking) runs on the 5.5 generation and Fable/Mythos 5.1 and later; the
// adaptive models before them are listed, and a name this table does not know is taken
// to follow the newest rules (dropping thinking after an edit is valid either way).
const BUDGETED =
  /claude-(3-7-sonnet|sonnet-4-5|opus-4-5|haiku-4-5|opus-4-1|opus-4-2|sonnet-4-2|opus-4$|sonnet-4$)/;
const NO_THINKING = /claude-(3-5|3-haiku|3-opus|3-sonnet|instant|2)/;
const ADAPTIVE_WITHOUT_PREFIX_CHECK =
  /claude-(opus-4-[678]|sonnet-4-6|mythos-preview)|claude-(opus|sonnet|fable|mythos)-5($|-\d{8}|-v\d)/;

/** What a model name says about its thinking. */
export function thinkingOf(model: string): ModelThinking {
  const kind = NO_THINKING.test(model) ? 'none' : BUDGETED.test(model) ? 'budgeted' : 'adaptive';
  return { kind, prefixCheck: kind === 'adaptive' && !ADAPTIVE_WITHOUT_PREFIX_CHECK.test(model) };
}

/** The request fields for one call: `thinking`, `output_config` and the max_tokens to send. */
export interface ThinkingParams {
  thinking?: { type: 'adaptive' } | { type: 'enabled'; budget_tokens: number } | { type: 'disabled' };
  output_config?: { effort: Effort };
  maxTokens: number;
}

/**
 * Resolves the configured mode for one request. The budgeted form needs
 * `budget_tokens < max_tokens`, so a short request (the compaction summary) gets its
 * budget on top of the text it asked for rather than a 400.
 */
export function thinkingParams(
  model: string,
  options: { mode: ThinkingMode; effort?: Effort; budgetTokens: number },
  maxTokens: number,
): ThinkingParams {
  const supported = thinkingOf(model).kind;
  const mode = options.mode === 'auto' ? (supported === 'none' ? 'off' : supported) : options.mode;
  if (mode === 'adaptive')
    return {
      thinking: { type: 'adaptive' },
      ...(options.effort ? { output_config: { effort: options.effort } } : {}),
      maxTokens,
    };
  if (mode === 'budgeted') {
    const budget = Math.max(MIN_THINKING_BUDGET, options.budgetTokens);
    return {
      thinking: { type: 'enabled', budget_tokens: budget },
      maxTokens: maxTokens > budget ? maxTokens : budget + maxTokens,
    };
  }
  // `off` on a model that cannot think sends nothing; otherwise it says so explicitly.
  return supported === 'none' ? { maxTokens } : { thinking: { type: 'disabled' }, maxTokens };
}
