import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { estimateInputTokens, type ModelTwin, type Scenario, startModelTwin } from './index.js';
import { TOOL_DEFINITIONS } from './testing/tool-runner.js';

const MODEL = 'claude-sonnet-5-5';
let twin: ModelTwin;
let client: Anthropic;

beforeAll(async () => {
  twin = await startModelTwin();
  client = new Anthropic({ baseURL: twin.url, apiKey: twin.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await twin.close();
});
beforeEach(() => {
  twin.reset();
  twin.setScenario('echo');
});

/** Raw HTTP, for what the SDK would never send. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${twin.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': twin.apiKey,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const toolScenario: Scenario = {
  name: 'test-tool-round-trip',
  description: 'Calls bash once, then reports what bash returned.',
  respond(request) {
    const last = request.messages.at(-1);
    if (last && typeof last.content !== 'string') {
      const result = last.content.find((b) => b.type === 'tool_result');
      if (result && result.type === 'tool_result') {
        return { content: [{ type: 'text', text: `bash said: ${String(result.content)}` }] };
      }
    }
    return {
      content: [
        { type: 'text', text: 'Running a command.' },
        { type: 'tool_use', name: 'bash', input: { command: 'echo "hello, world"', timeout_ms: 5000 } },
      ],
    };
  },
};

describe('model twin: the SDK runs unmodified against it', () => {
  it('answers a non-streaming request with a well-formed Message and usage', async () => {
    const message = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.id).toMatch(/^msg_/);
    expect(message.model).toBe(MODEL);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content).toEqual([{ type: 'text', text: 'twin echo: Say hello', citations: null }]);
    const expectedInput = estimateInputTokens({
      model: MODEL,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(message.usage.input_tokens).toBe(expectedInput);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(message.usage.cache_read_input_tokens).toBe(0);
    expect(twin.usage).toMatchObject({
      requests: 1,
      inputTokens: expectedInput,
      outputTokens: message.usage.output_tokens,
    });
    expect(twin.requests[0]).toMatchObject({ path: '/v1/messages', status: 200, scenario: 'echo', turn: 1 });
  });

  it('streams with messages.stream() and finalMessage() equal to the non-streaming answer', async () => {
    const params = {
      model: MODEL,
      max_tokens: 200,
      messages: [
        { role: 'user' as const, content: 'A longer sentence so that the text arrives in several deltas.' },
      ],
    };
    const stream = client.messages.stream(params);
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    const plain = await client.messages.create(params);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(plain.content[0]?.type === 'text' ? plain.content[0].text : '');
    expect(final.content).toEqual(plain.content);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(final.usage.input_tokens).toBe(plain.usage.input_tokens);
    expect(twin.requests[0]?.stream).toBe(true);
  });

  it('streams the documented event sequence, with tool input split into several input_json_delta chunks', async () => {
    twin.setScenario(toolScenario);
    const stream = await client.messages.create({
      model: MODEL,
      max_tokens: 500,
      tools: TOOL_DEFINITIONS,
      stream: true,
      messages: [{ role: 'user', content: 'run something' }],
    });
    const types: string[] = [];
    const partials: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta')
        partials.push(event.delta.partial_json);
      if (event.type === 'message_delta') {
        expect(event.delta.stop_reason).toBe('tool_use');
        expect(event.usage.output_tokens).toBeGreaterThan(1);
      }
    }
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types.at(-2)).toBe('message_delta');
    expect(types.filter((t) => t === 'content_block_start')).toHaveLength(2);
    expect(types.filter((t) => t === 'content_block_stop')).toHaveLength(2);
    expect(partials.filter((p) => p.length > 0).length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(partials.join(''))).toEqual({ command: 'echo "hello, world"', timeout_ms: 5000 });
  });

  it('round-trips a tool call: tool_use out, tool_result back, adapted answer', async () => {
    twin.setScenario(toolScenario);
    const first = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 500,
        tools: TOOL_DEFINITIONS,
        messages: [{ role: 'user', content: 'run something' }],
      })
      .finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'bash', input: { command: 'echo "hello, world"' } });
    expect(use?.id).toMatch(/^toolu_/);
    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 500,
      tools: TOOL_DEFINITIONS,
      messages: [
        { role: 'user', content: 'run something' },
        // The assistant content goes back exactly as received (citations: null, caller, …).
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'hello, world' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content[0]).toMatchObject({ type: 'text', text: 'bash said: hello, world' });
    expect(twin.requests.map((r) => r.turn)).toEqual([1, 2]);
  });

  it('counts tokens with the same estimate', async () => {
    const params = {
      model: MODEL,
      system: 'You are terse.',
      tools: TOOL_DEFINITIONS,
      messages: [{ role: 'user' as const, content: 'How many tokens is this?' }],
    };
    const counted = await client.messages.countTokens(params);
    expect(counted.input_tokens).toBe(estimateInputTokens(params));
    const created = await client.messages.create({ ...params, max_tokens: 50 });
    expect(created.usage.input_tokens).toBe(counted.input_tokens);
  });

  it('accepts both auth styles: Authorization: Bearer (the SDK default) and x-api-key', async () => {
    const viaHeader = new Anthropic({
      baseURL: twin.url,
      apiKey: null,
      defaultHeaders: { 'x-api-key': twin.apiKey },
      maxRetries: 0,
    });
    const a = await client.messages.create({
      model: MODEL,
      max_tokens: 20,
      messages: [{ role: 'user', content: 'a' }],
    });
    const b = await viaHeader.messages.create({
      model: MODEL,
      max_tokens: 20,
      messages: [{ role: 'user', content: 'b' }],
    });
    expect(a.content[0]).toMatchObject({ text: 'twin echo: a' });
    expect(b.content[0]).toMatchObject({ text: 'twin echo: b' });
    // The recorded log never keeps a credential.
    expect(JSON.stringify(twin.requests)).not.toContain(twin.apiKey);
  });

  it('rejects a missing or wrong key with 401 in Anthropic’s error shape', async () => {
    const missing = await post(
      '/v1/messages',
      { model: MODEL, max_tokens: 5, messages: [] },
      { 'x-api-key': '' },
    );
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(typeof (missing.body.error as { message: unknown }).message).toBe('string');
    const wrong = new Anthropic({ baseURL: twin.url, apiKey: 'sk-ant-wrong-key-000', maxRetries: 0 });
    const error = await wrong.messages
      .create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('requires the anthropic-version header', async () => {
    const res = await fetch(`${twin.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey },
      body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringContaining('anthropic-version') },
    });
  });

  it('selects a scenario per request with the x-twin-scenario header', async () => {
    twin.scenarios[toolScenario.name] = toolScenario;
    const message = await client.messages.create(
      { model: MODEL, max_tokens: 500, tools: TOOL_DEFINITIONS, messages: [{ role: 'user', content: 'go' }] },
      { headers: { 'x-twin-scenario': toolScenario.name } },
    );
    expect(message.stop_reason).toBe('tool_use');
    const unknown = await client.messages
      .create(
        { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'go' }] },
        { headers: { 'x-twin-scenario': 'nope' } },
      )
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('truncates at max_tokens and at a stop sequence like the model would', async () => {
    const long = 'word '.repeat(200);
    const truncated = await client.messages.create({
      model: MODEL,
      max_tokens: 10,
      messages: [{ role: 'user', content: long }],
    });
    expect(truncated.stop_reason).toBe('max_tokens');
    expect(truncated.usage.output_tokens).toBe(10);
    const stopped = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      stop_sequences: ['STOP'],
      messages: [{ role: 'user', content: 'before STOP after' }],
    });
    expect(stopped.stop_reason).toBe('stop_sequence');
    expect(stopped.stop_sequence).toBe('STOP');
    expect(stopped.content[0]).toMatchObject({ text: 'twin echo: before ' });
  });

  it('honours tool_choice: one call when parallel tool use is disabled, none with type none', async () => {
    twin.setScenario('fix-failing-test');
    const base = {
      model: MODEL,
      max_tokens: 500,
      tools: TOOL_DEFINITIONS,
      messages: [{ role: 'user' as const, content: 'fix' }],
    };
    const all = await client.messages.create(base);
    expect(all.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    const one = await client.messages.create({
      ...base,
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
    expect(one.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    expect(one.stop_reason).toBe('tool_use');
    const none = await client.messages.create({ ...base, tool_choice: { type: 'none' } });
    expect(none.content.map((b) => b.type)).toEqual(['text']);
    expect(none.stop_reason).toBe('end_turn');
  });

  it('refuses a scenario reply that calls a tool the request does not offer', async () => {
    twin.setScenario(toolScenario);
    const error = await client.messages
      .create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'go' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('twin: scenario');
  });
});

describe('model twin: request validation like the real API', () => {
  const base = { model: MODEL, max_tokens: 50 };

  it.each([
    ['a missing max_tokens', { model: MODEL, messages: [{ role: 'user', content: 'x' }] }, 'max_tokens'],
    ['an empty messages array', { ...base, messages: [] }, 'messages'],
    [
      'a first assistant message',
      { ...base, messages: [{ role: 'assistant', content: 'x' }] },
      'first message',
    ],
    [
      'two user messages in a row',
      {
        ...base,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      },
      'alternate',
    ],
    [
      'an empty text block',
      { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] },
      'non-empty',
    ],
    [
      'a tool without input_schema',
      { ...base, tools: [{ name: 'bash', description: 'x' }], messages: [{ role: 'user', content: 'x' }] },
      'tools',
    ],
    [
      'a bad cache_control ttl',
      {
        ...base,
        messages: [
          {
            role: 'user',
            content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '2h' } }],
          },
        ],
      },
      'cache_control',
    ],
    [
      'max_tokens above the limit',
      { ...base, max_tokens: 500_000, messages: [{ role: 'user', content: 'x' }] },
      'max_tokens',
    ],
    [
      'text before a tool_result',
      {
        ...base,
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'bash', input: {} }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Reminder: 3 turns left.' },
              { type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' },
            ],
          },
        ],
      },
      'must come first',
    ],
    [
      'an unknown block type',
      { ...base, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] },
      'type',
    ],
  ])('rejects %s with 400 invalid_request_error', async (_name, body, fragment) => {
    const res = await post('/v1/messages', body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect((res.body.error as { message: string }).message).toContain(fragment);
  });

  it('requires every tool_use in an assistant message to be answered by a tool_result in the next user message', async () => {
    const res = await post('/v1/messages', {
      ...base,
      tools: TOOL_DEFINITIONS,
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_1', name: 'bash', input: { command: 'ls' } },
            { type: 'tool_use', id: 'toolu_2', name: 'bash', input: { command: 'pwd' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
      ],
    });
    expect(res.status).toBe(400);
    expect((res.body.error as { message: string }).message).toContain('toolu_2');
  });

  it('rejects a tool_result that answers no tool_use of the previous message', async () => {
    const res = await post('/v1/messages', {
      ...base,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'no tools here' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'ok' }] },
      ],
    });
    expect(res.status).toBe(400);
    expect((res.body.error as { message: string }).message).toContain('unexpected `tool_use_id`');
  });

  it('accepts system as a string or as text blocks, and mid-conversation system messages', async () => {
    const asString = await client.messages.create({
      ...base,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'x' }],
    });
    const asBlocks = await client.messages.create({
      ...base,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'ok' },
        { role: 'system', content: 'Now be even briefer.' },
        { role: 'user', content: 'y' },
      ],
    });
    expect(asString.stop_reason).toBe('end_turn');
    expect(asBlocks.content[0]).toMatchObject({ text: 'twin echo: y' });
  });

  it('answers 404 in the error shape for unknown paths', async () => {
    const res = await post('/v1/complete', { prompt: 'x' });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});

describe('model twin: request log', () => {
  it('reports each request when it ends and keeps only the newest entries when capped', async () => {
    const ended: string[] = [];
    const capped = await startModelTwin({
      maxRecordedRequests: 2,
      onRequest: (r) => ended.push(`${r.status}:${r.turn}`),
    });
    try {
      const c = new Anthropic({ baseURL: capped.url, apiKey: capped.apiKey, maxRetries: 0 });
      for (const word of ['one', 'two', 'three']) {
        await c.messages.create({
          model: MODEL,
          max_tokens: 20,
          messages: [{ role: 'user', content: word }],
        });
      }
      await expect.poll(() => ended.length).toBe(3);
      expect(ended).toEqual(['200:1', '200:1', '200:1']);
      expect(
        capped.requests.map((r) => (r.body as { messages: { content: string }[] }).messages[0]?.content),
      ).toEqual(['two', 'three']);
      expect(capped.usage.requests).toBe(3);
    } finally {
      await capped.close();
    }
  });
});
