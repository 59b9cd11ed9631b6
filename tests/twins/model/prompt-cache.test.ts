import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CACHE_LOOKBACK_BLOCKS,
  type CountTokensRequest,
  estimateInputTokens,
  estimateTokens,
  MESSAGE_OVERHEAD_TOKENS,
  type ModelTwin,
  startModelTwin,
} from './index.js';
import { TOOL_DEFINITIONS } from './testing/tool-runner.js';

const SONNET = 'claude-sonnet-5-5';
const HAIKU = 'claude-haiku-5-5';
const MINUTE = 60_000;
let clock = 1_700_000_000_000;
let twin: ModelTwin;
let client: Anthropic;

type Params = Anthropic.MessageCreateParamsNonStreaming;
type Block = Anthropic.TextBlockParam;
const eph = { type: 'ephemeral' as const };
const eph1h = { type: 'ephemeral' as const, ttl: '1h' as const };

/** ~1100 tokens: above the 1024 minimum on its own. */
const BIG_SYSTEM = `You are a careful engineer. ${'Follow the repository conventions. '.repeat(130)}`;
const text = (value: string, cache?: Block['cache_control']): Block =>
  cache ? { type: 'text', text: value, cache_control: cache } : { type: 'text', text: value };

function send(params: Omit<Params, 'max_tokens'>) {
  return client.messages.create({ max_tokens: 100, ...params });
}

beforeAll(async () => {
  twin = await startModelTwin({ now: () => clock });
  client = new Anthropic({ baseURL: twin.url, apiKey: twin.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await twin.close();
});
beforeEach(() => {
  twin.reset();
});
afterEach(() => {
  // Whatever the cache did, every answered request splits exactly the estimated total.
  for (const r of twin.requests.filter((q) => q.status === 200 && q.path === '/v1/messages')) {
    const u = r.usage!;
    expect(u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens).toBe(
      estimateInputTokens(r.body as CountTokensRequest),
    );
    expect(u.cache_creation.ephemeral_5m_input_tokens + u.cache_creation.ephemeral_1h_input_tokens).toBe(
      u.cache_creation_input_tokens,
    );
  }
});

describe('model twin prompt caching', () => {
  it('reads the whole prefix from cache when an identical request repeats', async () => {
    const params = {
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [{ role: 'user' as const, content: [text('Fix the bug.', eph)] }],
    };
    const total = estimateInputTokens(params);
    const first = await send(params);
    expect(first.usage).toMatchObject({
      cache_creation_input_tokens: total,
      cache_read_input_tokens: 0,
      input_tokens: 0,
    });
    expect(first.usage.cache_creation).toEqual({
      ephemeral_5m_input_tokens: total,
      ephemeral_1h_input_tokens: 0,
    });
    const second = await send(params);
    expect(second.usage).toMatchObject({
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: total,
      input_tokens: 0,
    });
    expect(twin.usage).toMatchObject({
      requests: 2,
      cacheCreationInputTokens: total,
      cacheReadInputTokens: total,
    });
  });

  it('caches only up to the breakpoint: what follows is plain input', async () => {
    const params = {
      model: SONNET,
      system: [text(BIG_SYSTEM, eph)],
      messages: [{ role: 'user' as const, content: 'A question that changes every time: 1' }],
    };
    const systemTokens = estimateTokens(BIG_SYSTEM);
    const total = estimateInputTokens(params);
    const first = await send(params);
    expect(first.usage).toMatchObject({
      cache_creation_input_tokens: systemTokens,
      input_tokens: total - systemTokens,
    });
    const other = { ...params, messages: [{ role: 'user' as const, content: 'Another question: 2' }] };
    const second = await send(other);
    expect(second.usage).toMatchObject({
      cache_read_input_tokens: systemTokens,
      cache_creation_input_tokens: 0,
      input_tokens: estimateInputTokens(other) - systemTokens,
    });
  });

  it('invalidates everything after a changed system prompt, keeping the tools prefix', async () => {
    // Tools with a long description so the tools prefix alone is cacheable.
    const tools = TOOL_DEFINITIONS.map((t, i) =>
      i === TOOL_DEFINITIONS.length - 1
        ? {
            ...t,
            description: `${t.description} ${'Detailed usage notes. '.repeat(220)}`,
            cache_control: eph,
          }
        : t,
    );
    const toolsTokens =
      estimateInputTokens({ model: SONNET, tools, messages: [{ role: 'user', content: 'x' }] }) -
      estimateTokens('x') -
      MESSAGE_OVERHEAD_TOKENS;
    expect(toolsTokens).toBeGreaterThanOrEqual(1024);
    const make = (system: string) => ({
      model: SONNET,
      tools,
      system: [text(system, eph)],
      messages: [{ role: 'user' as const, content: [text('Please fix the failing test.', eph)] }],
    });
    const a = make(BIG_SYSTEM);
    const first = await send(a);
    expect(first.usage.cache_creation_input_tokens).toBe(estimateInputTokens(a));
    const b = make(`${BIG_SYSTEM} One more rule.`);
    const second = await send(b);
    expect(second.usage).toMatchObject({
      cache_read_input_tokens: toolsTokens,
      cache_creation_input_tokens: estimateInputTokens(b) - toolsTokens,
      input_tokens: 0,
    });
    expect(twin.requests[1]?.cache?.hitPosition).toBe(tools.length - 1);
  });

  it('a breakpoint on the newest message lets the next turn read the earlier prefix', async () => {
    const turn1 = {
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [{ role: 'user' as const, content: [text('Run the tests.', eph)] }],
    };
    const first = await send(turn1);
    const turn2 = {
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [
        { role: 'user' as const, content: [text('Run the tests.')] },
        { role: 'assistant' as const, content: [text('They fail in src/math.js.')] },
        { role: 'user' as const, content: [text('Fix it.', eph)] },
      ],
    };
    const second = await send(turn2);
    const prefix1 = estimateInputTokens(turn1);
    expect(first.usage.cache_creation_input_tokens).toBe(prefix1);
    expect(second.usage).toMatchObject({
      cache_read_input_tokens: prefix1,
      cache_creation_input_tokens: estimateInputTokens(turn2) - prefix1,
      input_tokens: 0,
    });
  });

  it('does not cache a prefix under the minimum cacheable length (1024, 2048 for haiku)', async () => {
    const small = {
      model: SONNET,
      messages: [{ role: 'user' as const, content: [text('Short prompt.', eph)] }],
    };
    const a = await send(small);
    const b = await send(small);
    for (const r of [a, b]) {
      expect(r.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
      expect(r.usage.input_tokens).toBe(estimateInputTokens(small));
    }
    // ~1100 tokens: enough for a sonnet-class model, not for haiku.
    const medium = (model: string) => ({
      model,
      messages: [{ role: 'user' as const, content: [text(BIG_SYSTEM, eph)] }],
    });
    const sonnet = await send(medium(SONNET));
    const haiku = await send(medium(HAIKU));
    expect(sonnet.usage.cache_creation_input_tokens).toBe(estimateInputTokens(medium(SONNET)));
    expect(haiku.usage.cache_creation_input_tokens).toBe(0);
    expect(haiku.usage.input_tokens).toBe(estimateInputTokens(medium(HAIKU)));
  });

  it('keys entries by model: the same prompt on another model misses', async () => {
    const make = (model: string) => ({
      model,
      system: [text(BIG_SYSTEM, eph)],
      messages: [{ role: 'user' as const, content: 'x' }],
    });
    await send(make(SONNET));
    const other = await send(make('claude-opus-5-5'));
    expect(other.usage.cache_read_input_tokens).toBe(0);
    expect(other.usage.cache_creation_input_tokens).toBe(estimateTokens(BIG_SYSTEM));
  });

  it('rejects more than 4 breakpoints with 400', async () => {
    const error = await send({
      model: SONNET,
      system: [text('a', eph), text('b', eph)],
      messages: [{ role: 'user', content: [text('c', eph), text('d', eph), text('e', eph)] }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('maximum of 4 blocks with cache_control');
    const four = await send({
      model: SONNET,
      system: [text('a', eph), text('b', eph)],
      messages: [{ role: 'user', content: [text('c', eph), text('d', eph)] }],
    });
    expect(four.stop_reason).toBe('end_turn');
  });

  it('expires 5-minute entries after 5 minutes, refreshing them on each hit', async () => {
    const params = {
      model: SONNET,
      system: [text(BIG_SYSTEM, eph)],
      messages: [{ role: 'user' as const, content: 'x' }],
    };
    const cached = estimateTokens(BIG_SYSTEM);
    expect((await send(params)).usage.cache_creation_input_tokens).toBe(cached);
    clock += 4 * MINUTE;
    expect((await send(params)).usage.cache_read_input_tokens).toBe(cached);
    // 8 minutes after the write but 4 after the refreshing hit: still there.
    clock += 4 * MINUTE;
    expect((await send(params)).usage.cache_read_input_tokens).toBe(cached);
    clock += 5 * MINUTE + 1;
    const expired = await send(params);
    expect(expired.usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: cached });
  });

  it('keeps 1-hour entries for an hour', async () => {
    const params = {
      model: SONNET,
      system: [text(BIG_SYSTEM, eph1h)],
      messages: [{ role: 'user' as const, content: 'x' }],
    };
    const cached = estimateTokens(BIG_SYSTEM);
    const first = await send(params);
    expect(first.usage.cache_creation).toEqual({
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: cached,
    });
    clock += 50 * MINUTE;
    expect((await send(params)).usage.cache_read_input_tokens).toBe(cached);
    clock += 61 * MINUTE;
    expect((await send(params)).usage.cache_read_input_tokens).toBe(0);
  });

  it('requires 1h breakpoints before 5m ones and bills each stretch at its TTL', async () => {
    const ok = {
      model: SONNET,
      system: [text(BIG_SYSTEM, eph1h)],
      messages: [{ role: 'user' as const, content: [text('Then this part, for five minutes.', eph)] }],
    };
    const res = await send(ok);
    const systemTokens = estimateTokens(BIG_SYSTEM);
    expect(res.usage.cache_creation).toEqual({
      ephemeral_1h_input_tokens: systemTokens,
      ephemeral_5m_input_tokens: estimateInputTokens(ok) - systemTokens,
    });
    const reversed = await send({
      model: SONNET,
      system: [text(BIG_SYSTEM, eph)],
      messages: [{ role: 'user', content: [text('x', eph1h)] }],
    }).catch((e: unknown) => e);
    expect(reversed).toBeInstanceOf(Anthropic.BadRequestError);
    expect((reversed as Error).message).toContain("ttl='1h'");
  });

  it(`looks back only ${CACHE_LOOKBACK_BLOCKS} blocks from a breakpoint for an earlier entry`, async () => {
    const turn1 = {
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [{ role: 'user' as const, content: [text('Start.', eph)] }],
    };
    const prefix1 = estimateInputTokens(turn1);
    await send(turn1);
    // The next turn adds an assistant message and a user message with `extra` blocks; the
    // breakpoint sits on the last one, 1 + extra positions after the cached one.
    const next = (extra: number) => ({
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [
        { role: 'user' as const, content: [text('Start.')] },
        { role: 'assistant' as const, content: [text('Reading files.')] },
        {
          role: 'user' as const,
          content: Array.from({ length: extra }, (_, i) =>
            text(`file ${i}`, i === extra - 1 ? eph : undefined),
          ),
        },
      ],
    });
    // 19 positions after the entry: within the window.
    const near = await send(next(18));
    expect(near.usage.cache_read_input_tokens).toBe(prefix1);
    twin.reset();
    await send(turn1);
    // 20 positions after: out of the window, a full miss and a full write.
    const far = await send(next(19));
    expect(far.usage.cache_read_input_tokens).toBe(0);
    expect(far.usage.cache_creation_input_tokens).toBe(estimateInputTokens(next(19)));
  });

  it('an intermediate breakpoint bridges a long turn that the lookback alone would miss', async () => {
    const turn1 = {
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [{ role: 'user' as const, content: [text('Start.', eph)] }],
    };
    await send(turn1);
    const blocks = Array.from({ length: 30 }, (_, i) =>
      text(`result ${i}`, i === 10 || i === 29 ? eph : undefined),
    );
    const turn2 = {
      model: SONNET,
      system: BIG_SYSTEM,
      messages: [
        { role: 'user' as const, content: [text('Start.')] },
        { role: 'assistant' as const, content: [text('Reading files.')] },
        { role: 'user' as const, content: blocks },
      ],
    };
    const res = await send(turn2);
    expect(res.usage.cache_read_input_tokens).toBe(estimateInputTokens(turn1));
    expect(res.usage.input_tokens).toBe(0);
    expect(twin.requests.at(-1)?.cache?.writes).toHaveLength(2);
  });

  it('leaves the cache untouched by a request it rejects', async () => {
    const params = {
      model: SONNET,
      system: [text(BIG_SYSTEM, eph)],
      messages: [{ role: 'user' as const, content: 'x' }],
    };
    // fix-failing-test calls tools, which this request does not offer: a 400.
    const rejected = await client.messages
      .create({ ...params, max_tokens: 100 }, { headers: { 'x-twin-scenario': 'fix-failing-test' } })
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(Anthropic.BadRequestError);
    const first = await send(params);
    expect(first.usage).toMatchObject({
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: estimateTokens(BIG_SYSTEM),
    });
    expect(twin.usage.requests).toBe(1);
  });

  it('counts cached and uncached tokens identically in streaming responses', async () => {
    const params = {
      model: SONNET,
      system: [text(BIG_SYSTEM, eph)],
      messages: [{ role: 'user' as const, content: 'x' }],
    };
    await send(params);
    const streamed = await client.messages.stream({ ...params, max_tokens: 100 }).finalMessage();
    expect(streamed.usage.cache_read_input_tokens).toBe(estimateTokens(BIG_SYSTEM));
    expect(streamed.usage.input_tokens).toBe(estimateInputTokens(params) - estimateTokens(BIG_SYSTEM));
  });
});
