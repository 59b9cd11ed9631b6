import type { Config } from '../../src/config/env.js';
import type { Logger } from '../../src/logger.js';
import { type AnthropicModelOptions, createAnthropicModel } from './anthropic-model.js';
import type { Model } from './model.js';

/** What a caller may add that is not configuration (the CLI's twin headers, a retry hook). */
export type ModelExtras = Pick<AnthropicModelOptions, 'defaultHeaders' | 'onRetry'>;

/**
 * The one place the environment's model settings become adapter options, so the
 * worker and `pullwright run` cannot drift apart (they did: the CLI's copy took a
 * model override the worker's did not). Callers that override the model name pass
 * a config with `PULLWRIGHT_MODEL` replaced.
 */
export function createModelFromConfig(config: Config, log: Logger, extras: ModelExtras = {}): Model {
  return createAnthropicModel({
    apiKey: config.ANTHROPIC_API_KEY ?? '',
    baseURL: config.ANTHROPIC_BASE_URL,
    model: config.PULLWRIGHT_MODEL,
    maxOutputTokens: config.MAX_OUTPUT_TOKENS,
    timeoutMs: config.MODEL_TIMEOUT_MS,
    thinking: config.PULLWRIGHT_THINKING,
    effort: config.PULLWRIGHT_EFFORT,
    thinkingBudgetTokens: config.PULLWRIGHT_THINKING_BUDGET,
    log,
    ...extras,
  });
}
