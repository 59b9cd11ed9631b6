import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { createAnthropicModel, parseRetryAfter } from '../../worker/model/anthropic-model.js';
import type { ModelRequest } from '../../worker/model/model.js';
import { type ModelTwin, startModelTwin } from '../twins/model/index.js';
import { reply, text, tool } from '../twins/model/scenarios/helpers.js';

const MODEL = 'claude-sonnet-5-5';

function request(extra: Partial<ModelRequest> = {}): ModelRequest {
  return {
    system: [{ type: 'text', text: 'You are a test.' }],
    tools: [
      {
        name: 'bash',
        description: 'Run a command',
        input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
      },
    ],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<PullwrightError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PullwrightError);
    return err as PullwrightError;
  }
  throw new Error('expected a rejection');
}

describe('AnthropicModel against the model twin', () => {
  let twin: ModelTwin;
  let sleeps: number[];

  beforeEach(async () => {
    twin = await startModelTwin({ scenario: 'echo' });
    sleeps = [];
  });
  afterEach(async () => {
    await twin.close();
  });

  function model(overrides: Partial<Parameters<typeof createAnthropicModel>[0]> = {}) {
    return createAnthropicModel({
      apiKey: twin.apiKey,
      baseURL: twin.url,
      model: MODEL,
      maxOutputTokens: 1024,
      timeoutMs: 10_000,
      // Recorded, not slept: the test checks the policy, not the clock. Still honours abort.
      sleep: async (ms, signal) => {
        sleeps.push(ms);
        if (signal?.aborted) throw signal.reason;
      },
      random: () => 0.5,
      retry: { baseDelayMs: 100, maxDelayMs: 1_000 },
      ...overrides,
    });
  }

  it('streams text deltas and returns the assembled message with usage', async () => {
    const deltas: string[] = [];
    const res = await model().complete(request({ onText: (d) => deltas.push(d) }));
    expect(res.stopReason).toBe('end_turn');
    expect(res.content).toEqual([{ type: 'text', text: 'twin echo: hello there' }]);
    expect(deltas.join('')).toBe('twin echo: hello there');
    expect(res.usage.input).toBeGreaterThan(0);
    expect(res.usage.output).toBeGreaterThan(0);
    expect(twin.requests).toHaveLength(1);
    expect(twin.requests[0]?.body).toMatchObject({ model: MODEL, max_tokens: 1024, stream: true });
  });

  it('returns tool_use blocks with parsed input and reports cache reads and 1h writes', async () => {
    twin.setScenario({
      name: 'one-tool',
      description: 'calls bash once',
      respond: () => reply(text('running'), tool('bash', { command: 'ls -la' })),
    });
    const big = 'x'.repeat(8_000);
    const req = request({
      system: [{ type: 'text', text: big, cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
    const first = await model().complete(req);
    expect(first.stopReason).toBe('tool_use');
    expect(first.content[1]).toMatchObject({ type: 'tool_use', name: 'bash', input: { command: 'ls -la' } });
    expect(first.usage.cacheWrite).toBeGreaterThan(2_000);
    expect(first.usage.cacheWrite1h).toBe(first.usage.cacheWrite);
    const second = await model().complete(req);
    expect(second.usage.cacheRead).toBe(first.usage.cacheWrite);
    expect(second.usage.cacheWrite).toBe(0);
  });

  it('retries a 529 and then succeeds', async () => {
    twin.faults.add({ status: 529, times: 2 });
    const res = await model().complete(request());
    expect(res.content).toEqual([{ type: 'text', text: 'twin echo: hello there' }]);
    expect(sleeps).toEqual([50, 100]); // full jitter at 0.5 of 100, 200 ms
    expect(twin.requests.filter((r) => r.status === 529)).toHaveLength(2);
  });

  it('honours retry-after on a 429 and tells the retry hook', async () => {
    twin.faults.add({ status: 429, retryAfterSeconds: 3 });
    const retries: unknown[] = [];
    const res = await model({ onRetry: (info) => retries.push(info) }).complete(request());
    expect(res.stopReason).toBe('end_turn');
    expect(sleeps).toEqual([3_000]);
    expect(retries).toEqual([{ attempt: 1, delayMs: 3_000, code: 'rate_limited', status: 429 }]);
  });

  it('fails fast as rate_limited when retry-after exceeds the allowed wait', async () => {
    twin.faults.add({ status: 429, retryAfterSeconds: 3_600 });
    const err = await rejection(model().complete(request()));
    expect(err.code).toBe('rate_limited');
    expect(err.retryable).toBe(true);
    expect(sleeps).toEqual([]);
  });

  it('retries a cut stream and a mid-stream overloaded error event', async () => {
    twin.faults.add({ cutStreamAfterEvents: 3 });
    twin.faults.add({ errorEventAfterEvents: 4 });
    const deltas: string[] = [];
    const res = await model().complete(request({ onText: (d) => deltas.push(d) }));
    expect(res.content).toEqual([{ type: 'text', text: 'twin echo: hello there' }]);
    expect(sleeps).toHaveLength(2);
    expect(twin.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('stops after the retry budget with a retryable upstream_unavailable', async () => {
    twin.faults.add({ status: 500, times: 10 });
    const err = await rejection(model({ retry: { maxRetries: 2, baseDelayMs: 10 } }).complete(request()));
    expect(err.code).toBe('upstream_unavailable');
    expect(err.retryable).toBe(true);
    expect(sleeps).toHaveLength(2);
    expect(twin.requests).toHaveLength(3);
  });

  it('times out a request that stalls', async () => {
    twin.faults.add({ delayMs: 5_000 });
    const err = await rejection(model({ timeoutMs: 300, retry: { maxRetries: 0 } }).complete(request()));
    expect(err.code).toBe('timeout');
    expect(err.retryable).toBe(true);
  });

  it('times out a stream that stalls between events', async () => {
    twin.faults.add({ eventDelayMs: 400 });
    const err = await rejection(model({ timeoutMs: 1_000, retry: { maxRetries: 0 } }).complete(request()));
    expect(err.code).toBe('timeout');
  });

  it('aborts a request in flight with the job signal', async () => {
    twin.faults.add({ delayMs: 5_000 });
    const controller = new AbortController();
    const pending = model().complete(request({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    const err = await rejection(pending);
    expect(err.code).toBe('cancelled');
    expect(err.retryable).toBe(false);
  });

  it('aborts a backoff sleep with the job signal', async () => {
    twin.faults.add({ status: 529, times: 5 });
    const controller = new AbortController();
    const m = model({
      sleep: undefined, // the real sleep
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      random: () => 0.99,
    });
    const pending = m.complete(request({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 300);
    const err = await rejection(pending);
    expect(err.code).toBe('cancelled');
    expect(twin.requests).toHaveLength(1);
  });

  it('maps a wrong key to unauthorized without leaking the key', async () => {
    const key = 'sk-ant-wrong-key-0123456789abcdef';
    const err = await rejection(model({ apiKey: key }).complete(request()));
    expect(err.code).toBe('unauthorized');
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain(key);
    expect(sleeps).toEqual([]);
  });

  it('maps an invalid request to input_invalid without retrying', async () => {
    const err = await rejection(
      model().complete(
        request({ messages: [{ role: 'assistant', content: [{ type: 'text', text: 'x' }] }] }),
      ),
    );
    expect(err.code).toBe('input_invalid');
    expect(err.retryable).toBe(false);
    expect(twin.requests).toHaveLength(1);
  });

  it('sends tool_choice none when asked', async () => {
    await model().complete(request({ toolChoice: 'none' }));
    expect(twin.requests[0]?.body).toMatchObject({ tool_choice: { type: 'none' } });
  });
});

describe('parseRetryAfter', () => {
  it('reads milliseconds, seconds and HTTP dates', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({}))).toBeUndefined();
  });
});
