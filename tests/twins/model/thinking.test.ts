import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ModelTwin, type Scenario, startModelTwin } from './index.js';
import { TOOL_DEFINITIONS } from './testing/tool-runner.js';

type Block = Anthropic.ContentBlock;
type Param = Anthropic.MessageParam;

/** Thinks, calls bash, and after the result thinks again and answers. */
const thinker: Scenario = {
  name: 'test-thinker',
  description: 'thinking + tool_use, then thinking + text',
  respond(request) {
    const last = request.messages.at(-1);
    const answered =
      last && typeof last.content !== 'string' && last.content.some((b) => b.type === 'tool_result');
    if (answered)
      return {
        content: [
          { type: 'thinking', thinking: 'The command worked.' },
          { type: 'text', text: 'Done.' },
        ],
      };
    return {
      content: [
        { type: 'thinking', thinking: 'I should look at the repository first, then run the tests.' },
        { type: 'redacted_thinking' },
        { type: 'tool_use', name: 'bash', input: { command: 'ls', timeout_ms: 1000 } },
      ],
    };
  },
};

let twin: ModelTwin;
let client: Anthropic;

beforeAll(async () => {
  twin = await startModelTwin({ scenario: thinker });
  client = new Anthropic({ baseURL: twin.url, apiKey: twin.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await twin.close();
});
beforeEach(() => {
  twin.reset();
  twin.setScenario(thinker);
});

const task: Param = { role: 'user', content: [{ type: 'text', text: 'List the files.' }] };
const system = 'You are a test.';

function params(messages: Param[], model = 'claude-sonnet-5-5', extra: Record<string, unknown> = {}) {
  return {
    model,
    max_tokens: 4096,
    system,
    tools: TOOL_DEFINITIONS,
    messages,
    thinking: { type: 'adaptive' as const },
    ...extra,
  } as Anthropic.MessageCreateParamsNonStreaming;
}

/** The first turn, and the messages that continue it with the tool result. */
async function firstTurn(model = 'claude-sonnet-5-5', extra: Record<string, unknown> = {}) {
  const first = await client.messages.create(params([task], model, extra));
  const use = first.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
  const result: Param = {
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: use.id, content: 'README.md' }],
  };
  return {
    first,
    continueWith: (content: Block[] | Anthropic.ContentBlockParam[]) => [
      task,
      { role: 'assistant', content } as Param,
      result,
    ],
  };
}

async function status(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
    return { status: 200, message: '' };
  } catch (err) {
    if (err instanceof Anthropic.APIError) {
      const body = err.error as { error?: { type?: string; message?: string } };
      expect(body.error?.type).toBe('invalid_request_error');
      return { status: err.status ?? 0, message: body.error?.message ?? '' };
    }
    throw err;
  }
}

describe('model twin: thinking', () => {
  it('returns signed thinking and redacted_thinking blocks first, and bills thinking as output', async () => {
    const { first } = await firstTurn();
    expect(first.content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
    const thinking = first.content[0] as Anthropic.ThinkingBlock;
    expect(thinking.thinking).toMatch(/look at the repository/);
    expect(thinking.signature.length).toBeGreaterThan(20);
    expect(first.usage.output_tokens_details?.thinking_tokens).toBeGreaterThan(0);
    expect(first.usage.output_tokens).toBeGreaterThan(
      first.usage.output_tokens_details?.thinking_tokens ?? 0,
    );
  });

  it('streams thinking as thinking_delta pieces and a signature_delta before the block stops', async () => {
    const events: Anthropic.MessageStreamEvent[] = [];
    const stream = client.messages.stream(params([task]));
    stream.on('streamEvent', (e) => events.push(e));
    const message = await stream.finalMessage();
    const deltas = events.flatMap((e) =>
      e.type === 'content_block_delta' && e.index === 0 ? [e.delta.type] : [],
    );
    expect(deltas.at(-1)).toBe('signature_delta');
    expect(deltas.filter((d) => d === 'thinking_delta').length).toBeGreaterThan(1);
    const stopAt = events.findIndex((e) => e.type === 'content_block_stop' && e.index === 0);
    const signatureAt = events.findIndex(
      (e) => e.type === 'content_block_delta' && e.delta.type === 'signature_delta',
    );
    expect(signatureAt).toBeLessThan(stopAt);
    expect(message.content[0]).toMatchObject({ type: 'thinking' });
    expect((message.content[0] as Anthropic.ThinkingBlock).signature.length).toBeGreaterThan(20);
    expect(message.content[1]).toMatchObject({ type: 'redacted_thinking' });
  });

  it('accepts the tool-use turn sent back exactly as returned', async () => {
    const { first, continueWith } = await firstTurn();
    const second = await client.messages.create(params(continueWith(first.content)));
    expect(second.content.map((b) => b.type)).toEqual(['thinking', 'text']);
  });

  it('rejects a tool-use turn whose thinking was dropped (the API 400)', async () => {
    const { first, continueWith } = await firstTurn();
    const dropped = first.content.filter((b) => b.type === 'tool_use');
    const r = await status(client.messages.create(params(continueWith(dropped))));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(
      /^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/,
    );
    // Dropping only the redacted block is a drop too.
    const partial = first.content.filter((b) => b.type !== 'redacted_thinking');
    expect((await status(client.messages.create(params(continueWith(partial))))).status).toBe(400);
  });

  it('rejects altered thinking text, an altered signature and altered redacted data', async () => {
    const { first, continueWith } = await firstTurn();
    const [thinking, redacted, use] = first.content as [
      Anthropic.ThinkingBlock,
      Anthropic.RedactedThinkingBlock,
      Block,
    ];
    const cases: Block[][] = [
      [{ ...thinking, thinking: `${thinking.thinking} ` }, redacted, use],
      [{ ...thinking, signature: `${thinking.signature.slice(0, -4)}AAAA` }, redacted, use],
      [thinking, { ...redacted, data: `x${redacted.data}` }, use],
    ];
    const messages = await Promise.all(
      cases.map((c) => status(client.messages.create(params(continueWith(c))))),
    );
    expect(messages.map((m) => m.status)).toEqual([400, 400, 400]);
    expect(messages[0]?.message).toBe('messages.1.content.0: Invalid `signature` in `thinking` block');
    expect(messages[2]?.message).toBe('messages.1.content.1: Invalid `data` in `redacted_thinking` block');
  });

  it('rejects a changed prefix before a thinking block on a model with preserved thinking, not on an older one', async () => {
    for (const [model, expected] of [
      ['claude-sonnet-5-5', 400],
      ['claude-opus-5', 200],
    ] as const) {
      twin.reset();
      const { first, continueWith } = await firstTurn(model);
      const messages = continueWith(first.content);
      messages[0] = { role: 'user', content: [{ type: 'text', text: 'List the files, please.' }] };
      const r = await status(client.messages.create(params(messages, model)));
      expect(r.status, model).toBe(expected);
      if (expected === 400)
        expect(r.message).toMatch(
          /^messages\.1\.content\.0: Invalid `signature` in `thinking` block\. The block is bound to a different conversation/,
        );
    }
  });

  it('also binds the system prompt and the tools', async () => {
    const { first, continueWith } = await firstTurn();
    const changedSystem = status(
      client.messages.create({ ...params(continueWith(first.content)), system: 'Changed.' }),
    );
    const changedTools = status(
      client.messages.create({
        ...params(continueWith(first.content)),
        tools: TOOL_DEFINITIONS.slice(0, -1),
      }),
    );
    expect((await changedSystem).status).toBe(400);
    expect((await changedTools).status).toBe(400);
  });

  it('accepts the documented fixes after an edit: thinking removed from the kept turn, or drop_block', async () => {
    const { first, continueWith } = await firstTurn();
    const edited = (content: Block[]) => {
      const messages = continueWith(content);
      messages[0] = { role: 'user', content: [{ type: 'text', text: '[summary] List the files.' }] };
      return messages;
    };
    const removed = first.content.filter((b) => b.type === 'tool_use');
    expect((await status(client.messages.create(params(edited(removed))))).status).toBe(200);
    const drop = params(edited(first.content), 'claude-sonnet-5-5', {
      thinking: { type: 'adaptive', block_binding: { prefix_mismatch_behavior: 'drop_block' } },
    });
    expect((await status(client.messages.create(drop))).status).toBe(200);
  });

  it('ignores cache_control when comparing prefixes', async () => {
    const { first, continueWith } = await firstTurn();
    const messages = continueWith(first.content);
    messages[0] = {
      role: 'user',
      content: [{ type: 'text', text: 'List the files.', cache_control: { type: 'ephemeral' } }],
    };
    expect((await status(client.messages.create(params(messages)))).status).toBe(200);
  });

  it('keeps empty thinking text (display omitted) valid when sent back as it came', async () => {
    const extra = { thinking: { type: 'adaptive', display: 'omitted' } };
    const { first, continueWith } = await firstTurn('claude-sonnet-5-5', extra);
    expect((first.content[0] as Anthropic.ThinkingBlock).thinking).toBe('');
    expect(first.usage.output_tokens_details?.thinking_tokens).toBeGreaterThan(0);
    const r = await status(
      client.messages.create(params(continueWith(first.content), 'claude-sonnet-5-5', extra)),
    );
    expect(r.status).toBe(200);
  });

  it('checks the thinking configuration against the model', async () => {
    const enabled = { thinking: { type: 'enabled', budget_tokens: 2048 } };
    const adaptiveOnly = await status(client.messages.create(params([task], 'claude-opus-5-5', enabled)));
    expect(adaptiveOnly).toMatchObject({
      status: 400,
      message: expect.stringMatching(/"thinking.type.enabled" is not supported/),
    });
    expect((await status(client.messages.create(params([task], 'claude-opus-4-5', enabled)))).status).toBe(
      200,
    );
    const overBudget = await status(
      client.messages.create(params([task], 'claude-opus-4-5', { ...enabled, max_tokens: 2048 })),
    );
    expect(overBudget).toMatchObject({
      status: 400,
      message: '`max_tokens` must be greater than `thinking.budget_tokens`.',
    });
    const forced = await status(
      client.messages.create(params([task], 'claude-opus-4-5', { ...enabled, tool_choice: { type: 'any' } })),
    );
    expect(forced.status).toBe(400);
    const effort = await status(
      client.messages.create(params([task], 'claude-sonnet-5-5', { output_config: { effort: 'huge' } })),
    );
    expect(effort.status).toBe(400);
  });

  it('does not think when the request turns thinking off', async () => {
    const off = await client.messages.create(
      params([task], 'claude-opus-5', { thinking: { type: 'disabled' } }),
    );
    expect(off.content.map((b) => b.type)).toEqual(['tool_use']);
    expect(off.usage.output_tokens_details ?? undefined).toBeUndefined();
  });
});
