import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ModelTwin, startModelTwin } from './index.js';

const MODEL = 'claude-sonnet-5-5';
const params = {
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'hello there' }],
};
let twin: ModelTwin;

beforeAll(async () => {
  twin = await startModelTwin();
});
afterAll(async () => {
  await twin.close();
});
beforeEach(() => {
  twin.reset();
});

const sdk = (options: { maxRetries?: number; timeout?: number } = {}) =>
  new Anthropic({
    baseURL: twin.url,
    apiKey: twin.apiKey,
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout,
  });

describe('model twin fault injection', () => {
  it('answers 529 overloaded_error, and the SDK’s own retry honours retry-after', async () => {
    twin.faults.add({ status: 529, retryAfterSeconds: 1 });
    const message = await sdk({ maxRetries: 2 }).messages.create(params);
    expect(message.content[0]).toMatchObject({ text: 'twin echo: hello there' });
    const [failed, retried] = twin.requests;
    expect(failed).toMatchObject({ status: 529, error: { type: 'overloaded_error' } });
    expect(retried?.status).toBe(200);
    // The SDK waited at least the second the server asked for.
    expect(retried!.at - failed!.at).toBeGreaterThanOrEqual(950);
    // A refused request costs nothing.
    expect(twin.usage.requests).toBe(1);
  });

  it('answers 429 rate_limit_error with a retry-after header', async () => {
    twin.faults.add({ status: 429, retryAfterSeconds: 7 });
    const res = await fetch(`${twin.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'x-api-key': twin.apiKey,
      },
      body: JSON.stringify(params),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    twin.faults.add({ status: 429, retryAfterSeconds: 0.2, times: 2 });
    const message = await sdk({ maxRetries: 2 }).messages.create(params);
    expect(message.stop_reason).toBe('end_turn');
    expect(twin.requests.map((r) => r.status)).toEqual([429, 429, 429, 200]);
  });

  it('surfaces 500 api_error and 529 as typed SDK errors when retries are off', async () => {
    twin.faults.add({ status: 500 });
    const internal = await sdk()
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(Anthropic.InternalServerError);
    expect((internal as InstanceType<typeof Anthropic.APIError>).status).toBe(500);
    expect((internal as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
    twin.faults.add({ status: 529 });
    const overloaded = await sdk()
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(Anthropic.APIError);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
  });

  it('delays the response: slow but fine, or a client timeout', async () => {
    twin.faults.add({ delayMs: 200 });
    const slow = await sdk().messages.create(params);
    expect(slow.stop_reason).toBe('end_turn');
    expect(twin.requests[0]?.fault?.delayMs).toBe(200);
    twin.faults.add({ delayMs: 3000 });
    const timedOut = await sdk({ timeout: 300 })
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
  });

  it('slows a stream between events without changing its content', async () => {
    twin.faults.add({ eventDelayMs: 20 });
    const final = await sdk().messages.stream(params).finalMessage();
    expect(final.content[0]).toMatchObject({ text: 'twin echo: hello there' });
    expect(twin.requests[0]).toMatchObject({ stream: true, fault: { eventDelayMs: 20 } });
  });

  it('cuts a stream mid-way: the SDK reports an error instead of a message', async () => {
    twin.faults.add({ cutStreamAfterEvents: 3 });
    const stream = sdk().messages.stream({
      ...params,
      messages: [{ role: 'user', content: 'a fairly long text '.repeat(10) }],
    });
    const seen: string[] = [];
    stream.on('streamEvent', (event) => seen.push(event.type));
    await expect(stream.finalMessage()).rejects.toThrow();
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(seen[0]).toBe('message_start');
    expect(twin.requests[0]?.cut).toBe(true);
    // The next request is unaffected.
    const ok = await sdk().messages.stream(params).finalMessage();
    expect(ok.stop_reason).toBe('end_turn');
  });

  it('sends an overloaded error event mid-stream: the SDK raises an APIError', async () => {
    twin.faults.add({ errorEventAfterEvents: 2 });
    const error = await sdk()
      .messages.stream(params)
      .finalMessage()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
    expect(twin.requests[0]).toMatchObject({ cut: true, error: { type: 'overloaded_error' } });
  });

  it('drops the connection of a non-streaming request with a cut rule', async () => {
    twin.faults.add({ cutStreamAfterEvents: 0 });
    const error = await sdk()
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIConnectionError);
  });

  it('is driven over HTTP too, per path and a number of times', async () => {
    const control = (method: string, body?: unknown) =>
      fetch(`${twin.url}/_twin/faults`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await control('POST', { status: 'boom' })).status).toBe(400);
    const added = await control('POST', [{ status: 529, times: 2, path: '/v1/messages' }]);
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual([{ status: 529, times: 2, path: '/v1/messages' }]);
    const client = sdk();
    // count_tokens is not matched by a /v1/messages rule.
    expect((await client.messages.countTokens(params)).input_tokens).toBeGreaterThan(0);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.APIError);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.APIError);
    expect((await client.messages.create(params)).stop_reason).toBe('end_turn');
    await control('POST', { status: 500, times: 5 });
    expect(twin.faults.pending()).toHaveLength(1);
    expect((await control('DELETE')).status).toBe(200);
    expect(twin.faults.pending()).toEqual([]);
    expect((await client.messages.create(params)).stop_reason).toBe('end_turn');
  });
});
