import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicModel } from '../../worker/model/anthropic-model.js';
import type { Message, ModelRequest } from '../../worker/model/model.js';
import { costOf } from '../../worker/model/pricing.js';
import { type ModelTwin, type Scenario, startModelTwin } from '../twins/model/index.js';

const thinker: Scenario = {
  name: 'test-adapter-thinker',
  description: 'thinks, then calls bash; after the result thinks and answers',
  respond(request) {
    const last = request.messages.at(-1);
    if (last && typeof last.content !== 'string' && last.content.some((b) => b.type === 'tool_result'))
      return {
        content: [
          { type: 'thinking', thinking: 'It worked.' },
          { type: 'text', text: 'Done.' },
        ],
      };
    return {
      content: [
        { type: 'thinking', thinking: 'First I will list the files to see the layout.' },
        { type: 'redacted_thinking' },
        { type: 'tool_use', name: 'bash', input: { command: 'ls' } },
      ],
    };
  },
};

const tools: ModelRequest['tools'] = [
  {
    name: 'bash',
    description: 'Run a command',
    input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
  },
];

describe('AnthropicModel with thinking', () => {
  let twin: ModelTwin;
  beforeAll(async () => {
    twin = await startModelTwin({ scenario: thinker });
  });
  afterAll(async () => {
    await twin.close();
  });
  beforeEach(() => twin.reset());

  const model = (name = 'claude-sonnet-5-5', extra = {}) =>
    createAnthropicModel({
      apiKey: twin.apiKey,
      baseURL: twin.url,
      model: name,
      maxOutputTokens: 4096,
      timeoutMs: 10_000,
      ...extra,
    });

  it('returns thinking blocks in order from the stream and replays them so the turn continues', async () => {
    const m = model();
    expect(m.preservedThinking).toBe(true);
    const task: Message = { role: 'user', content: [{ type: 'text', text: 'List the files.' }] };
    const first = await m.complete({ system: [{ type: 'text', text: 'Test.' }], tools, messages: [task] });
    expect(first.content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
    expect(first.usage.thinking).toBeGreaterThan(0);
    expect(first.usage.output).toBeGreaterThan(first.usage.thinking ?? 0);
    expect(twin.requests[0]?.body).toMatchObject({ thinking: { type: 'adaptive' } });
    const use = first.content[2];
    if (use?.type !== 'tool_use') throw new Error('expected a tool call');
    const second = await m.complete({
      system: [{ type: 'text', text: 'Test.' }],
      tools,
      messages: [
        task,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'README.md' }] },
      ],
    });
    expect(twin.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(second.content.map((b) => b.type)).toEqual(['thinking', 'text']);
  });

  it('prices thinking as output: the cost covers every billed output token', async () => {
    const res = await model().complete({
      system: [],
      tools,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
    });
    const withoutThinking = { ...res.usage, output: res.usage.output - (res.usage.thinking ?? 0) };
    expect(costOf(res.usage, 'claude-sonnet-5-5')).toBeGreaterThan(
      costOf(withoutThinking, 'claude-sonnet-5-5'),
    );
    expect(res.usage.output).toBe(twin.usage.outputTokens);
  });

  it('sends the effort, the budgeted form for older models, and honours an explicit preservedThinking', async () => {
    await model('claude-sonnet-5-5', { effort: 'max' }).complete({
      system: [],
      tools,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
    });
    expect(twin.requests[0]?.body).toMatchObject({
      thinking: { type: 'adaptive' },
      output_config: { effort: 'max' },
    });
    const older = model('claude-opus-4-5', { thinkingBudgetTokens: 2048 });
    expect(older.preservedThinking).toBe(false);
    await older.complete({
      system: [],
      tools,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      maxTokens: 1024,
    });
    expect(twin.requests[1]?.body).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 2048 },
      max_tokens: 3072,
    });
    expect(model('claude-opus-5', { preservedThinking: true }).preservedThinking).toBe(true);
  });
});
