import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyCacheBreakpoints } from '../../../worker/agent/loop/cache-breakpoints.js';
import { dropThinkingFrom, estimateTokens } from '../../../worker/agent/loop/compaction.js';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import type { Message } from '../../../worker/model/model.js';
import { baseOptions, echoTool, FakeModel, finishTool, use } from './fakes.js';

const thinking = (n: number) => ({
  type: 'thinking' as const,
  thinking: `thought ${n}`,
  signature: `sig${n}`,
});

function thinkingHistory(): Message[] {
  const out: Message[] = [{ role: 'user', content: [{ type: 'text', text: 'task' }] }];
  for (let i = 1; i <= 3; i += 1) {
    out.push({
      role: 'assistant',
      content: [
        thinking(i),
        { type: 'redacted_thinking', data: `r${i}` },
        { type: 'tool_use', id: `t${i}`, name: 'bash', input: {} },
      ],
    });
    out.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${i}`, content: `out ${i}` }] });
  }
  return out;
}

describe('thinking in the history', () => {
  it('drops every thinking block from the first edited message on, keeping the ones before', () => {
    const out = dropThinkingFrom(thinkingHistory(), 3);
    expect(out[1]?.content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
    expect(out[3]?.content.map((b) => b.type)).toEqual(['tool_use']);
    expect(out[5]?.content.map((b) => b.type)).toEqual(['tool_use']);
    // A message that only thought keeps a placeholder so it is never empty.
    const only: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'x' }] },
      { role: 'assistant', content: [thinking(1)] },
    ];
    expect(dropThinkingFrom(only, 0)[1]?.content).toEqual([{ type: 'text', text: '(no output)' }]);
  });

  it('never puts a cache breakpoint on a thinking block, and counts thinking in the size estimate', () => {
    const messages = thinkingHistory();
    messages.push({ role: 'assistant', content: [{ type: 'text', text: 'note' }, thinking(9)] });
    const placed = applyCacheBreakpoints({ tools: [], system: [], messages, previousTailIndex: 5 });
    const last = placed.messages.at(-1)?.content ?? [];
    expect(last[0]?.cache_control).toEqual({ type: 'ephemeral' });
    expect(last[1]?.cache_control).toBeUndefined();
    expect(estimateTokens([{ role: 'assistant', content: [thinking(1)] }])).toBeGreaterThan(0);
  });

  it('sends each response back exactly as received, thinking and tool input key order included', async () => {
    let call = 0;
    const model = new FakeModel(() => {
      call += 1;
      return call === 1
        ? { content: [use('echo', { text: 'one' })] }
        : { content: [use('finish', { summary: 'done' })] };
    });
    const complete = model.complete.bind(model);
    const returned: unknown[] = [];
    model.complete = async (request) => {
      const response = await complete(request);
      const content = [
        { type: 'thinking' as const, thinking: '', signature: 'S-empty' },
        ...response.content.map((b) =>
          b.type === 'tool_use' ? { ...b, input: { z: 1, ...(b.input as object) } } : b,
        ),
        { type: 'redacted_thinking' as const, data: 'R' },
      ];
      returned.push(content);
      return { ...response, content };
    };
    const result = await runAgent(baseOptions(model, [echoTool, finishTool]));
    expect(result.outcome).toBe('succeeded');
    const replayed = model.requests[1]?.messages[1];
    expect(replayed?.role).toBe('assistant');
    expect(JSON.stringify(replayed?.content)).toBe(JSON.stringify(returned[0]));
  });

  it('after a resume, drops a thinking block the transcript scrubbing altered drops a thinking block the transcript scrubbing altered', async () => {
    const secret = 'secret-in-the-reasoning';
    let call = 0;
    const model = new FakeModel(() => {
      call += 1;
      return call === 1
        ? { content: [use('echo', { text: 'one' })] }
        : { content: [use('finish', { summary: 'done' })] };
    });
    // The fake answers text/tool_use; thinking is added around it to look like a thinking model.
    const complete = model.complete.bind(model);
    model.complete = async (request) => {
      const response = await complete(request);
      return {
        ...response,
        content: [{ type: 'thinking', thinking: `about ${secret}`, signature: 'S1' }, ...response.content],
      };
    };
    const opts = baseOptions(model, [echoTool, finishTool], {
      secrets: [secret],
      budgets: { maxTurns: 1, maxCostUsd: 10, maxWallMs: 60_000 },
    });
    await runAgent(opts);
    expect(readFileSync(opts.transcriptPath, 'utf8')).not.toContain(secret);
    const model2 = new FakeModel(() => ({ content: [use('finish', { summary: 'resumed' })] }));
    const resumed = await runAgent({
      ...opts,
      model: model2,
      resumeFrom: opts.transcriptPath,
      budgets: { maxTurns: 5, maxCostUsd: 10, maxWallMs: 60_000 },
    });
    expect(resumed.outcome).toBe('succeeded');
    const sent = model2.requests[0]?.messages ?? [];
    expect(sent[1]?.content.map((b) => b.type)).toEqual(['tool_use']);
  });
});
