import Anthropic from '@anthropic-ai/sdk';
import { type ErrorCode, isPullwrightError, PullwrightError } from '../../src/errors.js';
import { createSilentLogger, type Logger, redactText } from '../../src/logger.js';
import type { AssistantBlock, Model, ModelRequest, ModelResponse, StopReason, Usage } from './model.js';
import { type Effort, type ThinkingMode, thinkingOf, thinkingParams } from './thinking-config.js';

export interface RetryPolicy {
  /** Retries after the first attempt (the retry budget per call). */
  maxRetries: number;
  /** First backoff; doubles each retry, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `retry-after` longer than this is not waited for: the call fails as rate_limited for the queue to retry later. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
};

export interface AnthropicModelOptions {
  apiKey: string;
  /** ANTHROPIC_BASE_URL: a proxy, a gateway or an Anthropic-compatible local server. */
  baseURL?: string;
  model: string;
  maxOutputTokens: number;
  /** Per request (one attempt), including the whole stream. */
  timeoutMs: number;
  contextWindow?: number;
  /** Default `auto`: adaptive thinking where the model has it, the budgeted form where it needs it. */
  thinking?: ThinkingMode;
  /** Sent as `output_config.effort` with adaptive thinking; unset leaves the model's default. */
  effort?: Effort;
  /** `budget_tokens` of the budgeted form (default 8000). */
  thinkingBudgetTokens?: number;
  /** Overrides what the model name says about the prefix check on replayed thinking. */
  preservedThinking?: boolean;
  retry?: Partial<RetryPolicy>;
  log?: Logger;
  /** Injected for tests; must reject with the signal's reason when aborted. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: 0 ≤ random() < 1. */
  random?: () => number;
  defaultHeaders?: Record<string, string>;
  /** Told before each backoff sleep, e.g. to show "model overloaded, retrying" on the tracking comment. */
  onRetry?: (info: { attempt: number; delayMs: number; code: ErrorCode; status?: number }) => void;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `retry-after-ms` (Anthropic), else `retry-after` in seconds or as an HTTP date. */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

interface Classified {
  code: ErrorCode;
  retryable: boolean;
  /** Worth another attempt inside this call. */
  retryHere: boolean;
  retryAfterMs?: number;
  status?: number;
}

function classify(err: unknown): Classified {
  if (err instanceof Anthropic.APIConnectionTimeoutError)
    return { code: 'timeout', retryable: true, retryHere: false };
  if (err instanceof Anthropic.APIUserAbortError)
    return { code: 'cancelled', retryable: false, retryHere: false };
  if (err instanceof Anthropic.APIConnectionError)
    return { code: 'upstream_unavailable', retryable: true, retryHere: true };
  if (err instanceof Anthropic.APIError) {
    const status = err.status;
    const retryAfterMs = parseRetryAfter(err.headers);
    if (status === undefined) {
      // An `error` event in the middle of a stream (overloaded, api_error): the stream is lost, try again.
      const transient =
        err.type === 'overloaded_error' || err.type === 'api_error' || err.type === 'rate_limit_error';
      return {
        code: err.type === 'rate_limit_error' ? 'rate_limited' : 'upstream_unavailable',
        retryable: transient,
        retryHere: transient,
      };
    }
    if (status === 429)
      return { code: 'rate_limited', retryable: true, retryHere: true, retryAfterMs, status };
    if (status === 401) return { code: 'unauthorized', retryable: false, retryHere: false, status };
    if (status === 403) return { code: 'forbidden', retryable: false, retryHere: false, status };
    if (status === 408) return { code: 'timeout', retryable: true, retryHere: true, retryAfterMs, status };
    if (status === 500 || status === 502 || status === 503 || status === 504 || status === 529)
      return { code: 'upstream_unavailable', retryable: true, retryHere: true, retryAfterMs, status };
    if (status >= 500) return { code: 'upstream_unavailable', retryable: true, retryHere: false, status };
    if (status === 400 || status === 404 || status === 413 || status === 422)
      return { code: 'input_invalid', retryable: false, retryHere: false, status };
    return { code: 'internal', retryable: false, retryHere: false, status };
  }
  // A stream that ended without a message_stop surfaces as a plain AnthropicError.
  if (err instanceof Anthropic.AnthropicError)
    return { code: 'upstream_unavailable', retryable: true, retryHere: true };
  return { code: 'internal', retryable: false, retryHere: false };
}

function mapStopReason(reason: string | null): StopReason | null {
  switch (reason) {
    case 'end_turn':
    case 'tool_use':
    case 'max_tokens':
    case 'stop_sequence':
    case 'refusal':
    case 'pause_turn':
      return reason;
    default:
      return null;
  }
}

function mapUsage(u: Anthropic.Usage): Usage {
  return {
    input: u.input_tokens ?? 0,
    // Inclusive of thinking: output_tokens is what is billed, whatever the thinking display.
    output: u.output_tokens ?? 0,
    cacheRead: u.cache_read_input_tokens ?? 0,
    cacheWrite: u.cache_creation_input_tokens ?? 0,
    cacheWrite1h: u.cache_creation?.ephemeral_1h_input_tokens ?? 0,
    thinking: u.output_tokens_details?.thinking_tokens ?? 0,
  };
}

/**
 * Keeps every block the loop must replay, in order, with exactly the fields the API
 * checks: thinking text and signature, redacted data, tool input as parsed (key
 * order kept). Server-side blocks the harness never asks for are left out.
 */
export function mapContent(content: Anthropic.ContentBlock[]): AssistantBlock[] {
  const out: AssistantBlock[] = [];
  for (const block of content) {
    if (block.type === 'text') out.push({ type: 'text', text: block.text });
    else if (block.type === 'thinking')
      out.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
    else if (block.type === 'redacted_thinking') out.push({ type: 'redacted_thinking', data: block.data });
    else if (block.type === 'tool_use')
      out.push({
        type: 'tool_use',
        id: block.id,
        name: block.name,
        input: (block.input ?? {}) as Record<string, unknown>,
      });
  }
  return out;
}

/**
 * The Anthropic adapter of the Model port. Streams every call (long outputs would
 * otherwise hit HTTP idle timeouts), retries transient failures itself with the
 * SDK's retries off, so the budget is explicit, bounded and testable.
 */
export class AnthropicModel implements Model {
  readonly name: string;
  readonly contextWindow: number;
  readonly preservedThinking: boolean;
  private readonly client: Anthropic;
  private readonly retry: RetryPolicy;
  private readonly log: Logger;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly secrets: string[];

  constructor(private readonly options: AnthropicModelOptions) {
    this.name = options.model;
    this.contextWindow = options.contextWindow ?? 200_000;
    this.preservedThinking = options.preservedThinking ?? thinkingOf(options.model).prefixCheck;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.log = options.log ?? createSilentLogger();
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.client = new Anthropic({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      maxRetries: 0,
      timeout: options.timeoutMs,
      ...(options.defaultHeaders ? { defaultHeaders: options.defaultHeaders } : {}),
    });
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    let attempt = 0;
    for (;;) {
      if (request.signal?.aborted) throw new PullwrightError('cancelled', 'Model request cancelled');
      try {
        const response = await this.once(request);
        if (attempt > 0) this.log.info({ attempts: attempt + 1 }, 'Model call succeeded after retries');
        return response;
      } catch (err) {
        if (request.signal?.aborted)
          throw new PullwrightError('cancelled', 'Model request cancelled', { cause: err });
        if (isPullwrightError(err)) throw err;
        const c = classify(err);
        const message = redactText(err instanceof Error ? err.message : String(err), this.secrets);
        const tooLong = c.retryAfterMs !== undefined && c.retryAfterMs > this.retry.maxRetryAfterMs;
        if (!c.retryHere || attempt >= this.retry.maxRetries || tooLong) {
          throw new PullwrightError(c.code, `Model call failed: ${message}`, {
            retryable: c.retryable,
            cause: err,
            details: { status: c.status, attempts: attempt + 1, retryAfterMs: c.retryAfterMs },
          });
        }
        const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
        // Full jitter spreads the retries of many workers hitting the same overload.
        const jittered = Math.floor(this.random() * backoff);
        const delayMs = c.retryAfterMs !== undefined ? Math.max(c.retryAfterMs, jittered) : jittered;
        attempt += 1;
        this.log.warn({ attempt, delayMs, status: c.status, code: c.code }, 'Model call failed; retrying');
        try {
          this.options.onRetry?.({ attempt, delayMs, code: c.code, status: c.status });
        } catch (hookErr) {
          this.log.warn({ err: hookErr }, 'Retry hook failed');
        }
        try {
          await this.sleep(delayMs, request.signal);
        } catch (sleepErr) {
          throw new PullwrightError('cancelled', 'Model request cancelled', { cause: sleepErr });
        }
      }
    }
  }

  private async once(request: ModelRequest): Promise<ModelResponse> {
    // One thinking configuration for every call of a run (the API wants it unchanged within a tool-use turn).
    const thinking = thinkingParams(
      this.options.model,
      {
        mode: this.options.thinking ?? 'auto',
        effort: this.options.effort,
        budgetTokens: this.options.thinkingBudgetTokens ?? 8_000,
      },
      request.maxTokens ?? this.options.maxOutputTokens,
    );
    const params: Anthropic.MessageCreateParams = {
      model: this.options.model,
      max_tokens: thinking.maxTokens,
      ...(thinking.thinking ? { thinking: thinking.thinking } : {}),
      ...(thinking.output_config ? { output_config: thinking.output_config } : {}),
      system: request.system as Anthropic.TextBlockParam[],
      messages: request.messages as Anthropic.MessageParam[],
      ...(request.tools.length > 0 ? { tools: request.tools as Anthropic.Tool[] } : {}),
      ...(request.toolChoice === 'none' && request.tools.length > 0 ? { tool_choice: { type: 'none' } } : {}),
    };
    const stream = this.client.messages.stream(params, {
      ...(request.signal ? { signal: request.signal } : {}),
      maxRetries: 0,
      timeout: this.options.timeoutMs,
    });
    // The SDK's timeout covers the time to headers; a stalled stream body needs our own deadline.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.abort();
    }, this.options.timeoutMs);
    if (request.onText) {
      const onText = request.onText;
      stream.on('text', (delta) => onText(delta));
    }
    try {
      const message = await stream.finalMessage();
      return {
        id: message.id,
        model: message.model,
        content: mapContent(message.content),
        stopReason: mapStopReason(message.stop_reason),
        usage: mapUsage(message.usage),
      };
    } catch (err) {
      if (timedOut && !request.signal?.aborted)
        throw new PullwrightError('timeout', `Model request timed out after ${this.options.timeoutMs} ms`, {
          retryable: true,
          cause: err,
        });
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function createAnthropicModel(options: AnthropicModelOptions): AnthropicModel {
  return new AnthropicModel(options);
}
