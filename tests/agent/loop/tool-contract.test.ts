import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { loadTranscript } from '../../../worker/agent/loop/transcript.js';
import { emptyMemory } from '../../../worker/agent/memory/session-memory.js';
import type { AgentEvent, Tool } from '../../../worker/agent/tool.js';
import { costOf } from '../../../worker/model/pricing.js';
import { baseOptions, FakeModel, finishTool, text, use } from './fakes.js';

const askInput = z.object({ summary: z.string(), question: z.string() });
const askTool: Tool<z.infer<typeof askInput>> = {
  name: 'finish',
  description: 'Ends the task, maybe with a question',
  input: askInput,
  inputJsonSchema: { type: 'object' },
  run: async (input) => ({
    content: 'Finished.',
    isError: false,
    effect: { kind: 'finish', summary: input.summary, needsInput: { question: input.question } },
  }),
};

const subUsage = { input: 1_000, output: 500, cacheRead: 20_000, cacheWrite: 2_000 };
const subagentTool: Tool<{ q: string }> = {
  name: 'explore',
  description: 'A subagent',
  input: z.object({ q: z.string() }),
  inputJsonSchema: { type: 'object' },
  run: async () => ({ content: 'report: it is in src/a.ts', isError: false, usage: { ...subUsage } }),
};

describe('the loop side of the tool contract', () => {
  it("ends with needs_input and the question when finish asks for input, never as 'no-changes'", async () => {
    const model = new FakeModel(() => ({
      content: [
        text('I need to know'),
        use('finish', { summary: 'Stopped to ask', question: 'Which API version?' }),
      ],
    }));
    const result = await runAgent({ ...baseOptions(model, [askTool]), hasChanges: async () => false });
    expect(result.outcome).toBe('needs_input');
    expect(result.needsInput).toEqual({ question: 'Which API version?' });
    expect(result.summary).toBe('Stopped to ask');
  });

  it('scrubs secrets from the question', async () => {
    const secret = 'ghs_abcdefghijklmnopqrstuvwxyz0123456789';
    const model = new FakeModel(() => ({
      content: [use('finish', { summary: 's', question: `Should I use ${secret}?` })],
    }));
    const result = await runAgent({ ...baseOptions(model, [askTool]), secrets: [secret] });
    expect(result.needsInput?.question).not.toContain(secret);
  });

  it("adds a tool's model usage to the run's usage, cost and budgets, and records it per call", async () => {
    const events: AgentEvent[] = [];
    const model = new FakeModel((_r, call) =>
      call === 1
        ? { content: [use('explore', { q: 'a' }), use('explore', { q: 'b' })] }
        : { content: [use('finish', { summary: 'done' })] },
    );
    const options = baseOptions(model, [subagentTool, finishTool]);
    const result = await runAgent({ ...options, onEvent: (e) => events.push(e) });
    expect(result.outcome).toBe('succeeded');
    // Two model calls of the run (100 in, 10 out each) + two subagent calls.
    expect(result.usage.input).toBe(200 + 2 * subUsage.input);
    expect(result.usage.output).toBe(20 + 2 * subUsage.output);
    expect(result.usage.cacheRead).toBe(2 * subUsage.cacheRead);
    const own = costOf({ input: 100, output: 10, cacheRead: 0, cacheWrite: 0 }, model.name);
    const sub = costOf(subUsage, model.name);
    expect(result.usage.costUsd).toBeCloseTo(2 * own + 2 * sub, 10);
    const toolEvents = events.filter((e) => e.type === 'tool' && e.name === 'explore');
    expect(toolEvents).toHaveLength(2);
    for (const e of toolEvents) if (e.type === 'tool') expect(e.usage?.output).toBe(500);
    const lines = readFileSync(options.transcriptPath, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { type: string; name?: string; usage?: { output: number }; costUsd?: number },
      );
    const recorded = lines.filter((l) => l.type === 'tool' && l.name === 'explore');
    expect(recorded.map((l) => l.usage?.output)).toEqual([500, 500]);
    expect(recorded[0]?.costUsd).toBeCloseTo(sub, 10);
    // A resumed run counts what the subagents spent too.
    expect(loadTranscript(options.transcriptPath).usage.output).toBe(result.usage.output);
  });

  it("stops at the cost budget when a tool's usage pushed the run past it", async () => {
    const model = new FakeModel(() => ({ content: [use('explore', { q: 'again' })] }));
    const sub = costOf(subUsage, model.name);
    const result = await runAgent(
      baseOptions(model, [subagentTool, finishTool], {
        budgets: { maxTurns: 50, maxCostUsd: sub * 2.5, maxWallMs: 60_000 },
      }),
    );
    expect(result.outcome).toBe('limit');
    expect(result.limit).toBe('cost');
    expect(result.turns).toBe(3);
  });

  it("uses a tool's own price when it gives one (a subagent on another model)", async () => {
    const priced: Tool<{ q: string }> = {
      ...subagentTool,
      run: async () => ({ content: 'r', isError: false, usage: { ...subUsage }, costUsd: 0.5 }),
    };
    const model = new FakeModel((_r, call) =>
      call === 1 ? { content: [use('explore', { q: 'a' })] } : { content: [use('finish', { summary: 'd' })] },
    );
    const result = await runAgent(baseOptions(model, [priced, finishTool]));
    const own = costOf({ input: 100, output: 10, cacheRead: 0, cacheWrite: 0 }, model.name);
    expect(result.usage.costUsd).toBeCloseTo(2 * own + 0.5, 10);
  });

  it('returns the memory it started with when the agent never changed it', async () => {
    const memory = { ...emptyMemory(), understanding: 'Fix the parser' };
    const model = new FakeModel(() => ({ content: [use('finish', { summary: 'd' })] }));
    const result = await runAgent(baseOptions(model, [finishTool], { memory }));
    expect(result.memory).toEqual(memory);
    expect(result.memoryBytes).toBe(Buffer.byteLength(JSON.stringify(memory)));
  });

  it('runs consecutive concurrent calls together, others alone, results and effects in the model order', async () => {
    const log: string[] = [];
    const slow = (name: string, ms: number, concurrent: boolean): Tool<{ q: string }> => ({
      name,
      description: name,
      concurrent,
      input: z.object({ q: z.string() }),
      inputJsonSchema: { type: 'object' },
      run: async (input, ctx) => {
        log.push(`start ${input.q} ${ctx.toolUseId} turn ${ctx.turn}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${input.q}`);
        return { content: `did ${input.q}`, isError: false };
      },
    });
    const events: AgentEvent[] = [];
    const model = new FakeModel((_r, call) =>
      call === 1
        ? {
            content: [
              use('delegate', { q: 'a' }),
              use('delegate', { q: 'b' }),
              use('step', { q: 'c' }),
              use('delegate', { q: 'd' }),
            ],
          }
        : { content: [use('finish', { summary: 'done' })] },
    );
    const t0 = Date.now();
    const result = await runAgent({
      ...baseOptions(model, [slow('delegate', 300, true), slow('step', 20, false), finishTool]),
      onEvent: (e) => events.push(e),
    });
    const elapsed = Date.now() - t0;
    expect(result.outcome).toBe('succeeded');
    // a and b together (300 ms), then c, then d: well under the 920 ms of running them one by one.
    expect(elapsed).toBeLessThan(800);
    expect(log.slice(0, 2).map((l) => l.split(' ')[1])).toEqual(['a', 'b']);
    expect(log[0]).toMatch(/^start a toolu_1_0 turn 1$/);
    expect(log.indexOf('start c')).toBe(-1);
    expect(log.findIndex((l) => l.startsWith('start c'))).toBeGreaterThan(log.indexOf('end b'));
    expect(log.findIndex((l) => l.startsWith('start d'))).toBeGreaterThan(log.indexOf('end c'));
    const results = model.requests[1]?.messages.at(-1)?.content ?? [];
    expect(results.map((b) => (b.type === 'tool_result' ? b.content : ''))).toEqual([
      'did a',
      'did b',
      'did c',
      'did d',
    ]);
    const toolEvent = events.find((e) => e.type === 'tool' && e.name === 'step');
    expect(toolEvent).toMatchObject({ id: 'toolu_1_2', turn: 1, input: { q: 'c' }, output: 'did c' });
    const turn = events.find((e) => e.type === 'turn');
    expect(turn).toMatchObject({ turn: 1, stopReason: 'tool_use', model: model.name });
    expect(events.at(-1)).toMatchObject({ type: 'result', outcome: 'succeeded', turns: 2 });
  });
});
