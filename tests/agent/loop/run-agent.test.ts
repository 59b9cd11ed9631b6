import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countBreakpoints } from '../../../worker/agent/loop/cache-breakpoints.js';
import { estimateTokens } from '../../../worker/agent/loop/compaction.js';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { loadTranscript } from '../../../worker/agent/loop/transcript.js';
import type { AgentEvent } from '../../../worker/agent/tool.js';
import { createFinishTool } from '../../../worker/agent/tools/plan-tools.js';
import type { Message, ToolResultBlock } from '../../../worker/model/model.js';
import {
  baseOptions,
  bigTool,
  echoTool,
  FakeModel,
  finishTool,
  planTool,
  slowTool,
  text,
  throwTool,
  use,
} from './fakes.js';

const toolResults = (m: Message | undefined): ToolResultBlock[] =>
  (m?.content ?? []).filter((b): b is ToolResultBlock => b.type === 'tool_result');
const texts = (m: Message | undefined): string[] =>
  (m?.content ?? []).flatMap((b) => (b.type === 'text' ? [b.text] : []));

describe('runAgent', () => {
  it('runs tools, keeps the plan and completes on finish (other tools first)', async () => {
    const events: AgentEvent[] = [];
    const model = new FakeModel((_r, call) => {
      if (call === 1)
        return {
          content: [
            text('Plan first'),
            use('update_plan', { items: [{ step: 'Fix', status: 'in_progress' }] }),
          ],
        };
      return { content: [use('finish', { summary: 'All done' }), use('echo', { text: 'last' })] };
    });
    let echoed = 0;
    const tools = [
      planTool,
      finishTool,
      { ...echoTool, run: async () => ({ content: String(++echoed), isError: false }) },
    ];
    const result = await runAgent({ ...baseOptions(model, tools), onEvent: (e) => events.push(e) });
    expect(result.outcome).toBe('succeeded');
    expect(result.summary).toBe('All done');
    expect(result.turns).toBe(2);
    expect(result.plan).toEqual([{ step: 'Fix', status: 'in_progress' }]);
    expect(echoed).toBe(1);
    const toolEvents = events.filter((e) => e.type === 'tool').map((e) => (e.type === 'tool' ? e.name : ''));
    expect(toolEvents).toEqual(['update_plan', 'echo', 'finish']);
    expect(events.some((e) => e.type === 'plan')).toBe(true);
    expect(events.filter((e) => e.type === 'turn')).toHaveLength(2);
    expect(result.usage.input).toBe(200);
    expect(result.usage.costUsd).toBeGreaterThan(0);
  });

  it("keeps the agent's reply per review thread from finish, with secrets scrubbed", async () => {
    const secret = 'ghs_threadreplysecret0123456789';
    const model = new FakeModel(() => ({
      content: [
        use('finish', {
          summary: 'Addressed both threads.',
          threads: [
            { thread: 1, reply: 'Renamed the helper as asked.' },
            { thread: 2, reply: `Left it: the token ${secret} is not ours.` },
          ],
        }),
      ],
    }));
    const result = await runAgent(baseOptions(model, [createFinishTool()], { secrets: [secret] }));
    expect(result.outcome).toBe('succeeded');
    expect(result.threadReplies?.[0]).toEqual({ thread: 1, reply: 'Renamed the helper as asked.' });
    expect(result.threadReplies?.[1]?.reply).not.toContain(secret);
    expect(result.threadReplies?.[1]?.thread).toBe(2);
  });

  it('reports malformed tool input and a throwing tool as error results and goes on', async () => {
    const model = new FakeModel((_r, call) => {
      if (call === 1) return { content: [use('echo', { text: 42 }), use('explode', {}), use('nope', {})] };
      return { content: [use('finish', { summary: 'ok' })] };
    });
    const result = await runAgent(baseOptions(model, [echoTool, throwTool, finishTool]));
    expect(result.outcome).toBe('succeeded');
    const results = toolResults(model.requests[1]?.messages[2]);
    expect(results).toHaveLength(3);
    expect(results.every((r) => r.is_error === true)).toBe(true);
    expect(results[0]?.content).toMatch(/Invalid input for echo: text/);
    expect(results[1]?.content).toMatch(/kaboom/);
    expect(results[2]?.content).toMatch(/Unknown tool "nope"/);
  });

  it('nudges once on end_turn without finish, then completes; hasChanges decides no-changes', async () => {
    const model = new FakeModel(() => ({ content: [text('I think I am done')] }));
    const result = await runAgent({
      ...baseOptions(model, [echoTool, finishTool]),
      hasChanges: async () => false,
    });
    expect(model.requests).toHaveLength(2);
    expect(texts(model.requests[1]?.messages.at(-1)).join()).toMatch(/without calling the finish tool/);
    expect(result.outcome).toBe('no-changes');
    expect(result.summary).toBe('I think I am done');
  });

  it('ends as failed when the model refuses', async () => {
    const model = new FakeModel(() => ({
      content: [text('I cannot help with that.')],
      stopReason: 'refusal',
    }));
    const result = await runAgent(baseOptions(model, [finishTool]));
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'input_invalid' }, turns: 1 });
  });

  it('asks for shorter output after max_tokens', async () => {
    const model = new FakeModel((_r, call) =>
      call === 1
        ? { content: [text('long...')], stopReason: 'max_tokens' }
        : { content: [use('finish', { summary: 's' })] },
    );
    const result = await runAgent(baseOptions(model, [finishTool]));
    expect(result.outcome).toBe('succeeded');
    expect(texts(model.requests[1]?.messages.at(-1)).join()).toMatch(/output token limit/);
  });

  describe('budgets', () => {
    const forever = () => new FakeModel(() => ({ content: [use('echo', { text: 'again' })] }));

    it('stops at the turn limit and warns near it', async () => {
      const model = forever();
      const result = await runAgent({
        ...baseOptions(model, [echoTool]),
        budgets: { maxTurns: 5, maxCostUsd: 100, maxWallMs: 60_000 },
      });
      expect(result).toMatchObject({ outcome: 'limit', limit: 'turns', turns: 5 });
      const notes = model.requests.map((r) => texts(r.messages.at(-1)).join());
      expect(notes[4]).toMatch(/close to this run's turns budget/);
      expect(notes.slice(0, 4).some((n) => /budget/.test(n))).toBe(false);
    });

    it('stops at the cost limit', async () => {
      const model = new FakeModel(() => ({
        content: [use('echo', { text: 'x' })],
        usage: { input: 100_000, output: 1000 },
      }));
      // sonnet: 100k input = $0.30 + 1k output = $0.015 per turn
      const result = await runAgent({
        ...baseOptions(model, [echoTool]),
        budgets: { maxTurns: 100, maxCostUsd: 1, maxWallMs: 60_000 },
        // The fake reports 100k-token contexts; no compaction here, only the budget.
        compaction: { maxContextTokens: 1_000_000 },
      });
      expect(result).toMatchObject({ outcome: 'limit', limit: 'cost', turns: 4 });
      expect(result.usage.costUsd).toBeGreaterThanOrEqual(1);
    });

    it('stops at the input and output token limits', async () => {
      const inModel = forever();
      const a = await runAgent({
        ...baseOptions(inModel, [echoTool]),
        budgets: { maxTurns: 100, maxCostUsd: 100, maxWallMs: 60_000, maxInputTokens: 350 },
      });
      expect(a).toMatchObject({ outcome: 'limit', limit: 'input_tokens', turns: 4 });
      const outModel = forever();
      const b = await runAgent({
        ...baseOptions(outModel, [echoTool]),
        budgets: { maxTurns: 100, maxCostUsd: 100, maxWallMs: 60_000, maxOutputTokens: 30 },
      });
      expect(b).toMatchObject({ outcome: 'limit', limit: 'output_tokens', turns: 3 });
    });

    it('stops at the wall time limit, even with a tool in flight', async () => {
      const seen = { aborted: false };
      const model = new FakeModel(() => ({ content: [use('slow', {})] }));
      const result = await runAgent({
        ...baseOptions(model, [slowTool(seen)]),
        budgets: { maxTurns: 100, maxCostUsd: 100, maxWallMs: 300 },
      });
      expect(result).toMatchObject({ outcome: 'limit', limit: 'wall_time' });
      expect(seen.aborted).toBe(true);
    });
  });

  describe('cancellation', () => {
    it('aborts a model request in flight', async () => {
      const controller = new AbortController();
      const model = new FakeModel(
        (request) =>
          new Promise((_resolve, reject) => {
            request.signal?.addEventListener('abort', () => reject(new Error('aborted')));
            setTimeout(() => controller.abort(), 20);
          }),
      );
      const result = await runAgent({ ...baseOptions(model, [echoTool]), signal: controller.signal });
      expect(result.outcome).toBe('cancelled');
      expect(result.turns).toBe(0);
    });

    it('aborts a running tool through its signal', async () => {
      const controller = new AbortController();
      const seen = { aborted: false };
      const model = new FakeModel(() => {
        setTimeout(() => controller.abort(), 20);
        return { content: [use('slow', {})] };
      });
      const result = await runAgent({ ...baseOptions(model, [slowTool(seen)]), signal: controller.signal });
      expect(result.outcome).toBe('cancelled');
      expect(seen.aborted).toBe(true);
      expect(result.turns).toBe(1);
    });
  });

  it('places at most 4 cache breakpoints: tools and system 1h, the newest message and the previous tail 5m', async () => {
    const model = new FakeModel((_r, call) =>
      call < 4
        ? { content: [use('echo', { text: `t${call}` })] }
        : { content: [use('finish', { summary: 'done' })] },
    );
    await runAgent(baseOptions(model, [echoTool, finishTool]));
    for (const [i, r] of model.requests.entries()) {
      expect(countBreakpoints(r)).toBeLessThanOrEqual(4);
      expect(r.tools.at(-1)?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
      expect(r.tools.slice(0, -1).every((t) => !t.cache_control)).toBe(true);
      expect(r.system.at(-1)?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
      expect(r.messages.at(-1)?.content.at(-1)?.cache_control).toEqual({ type: 'ephemeral' });
      if (i > 0) {
        const prevTail = model.requests[i - 1]?.messages.length ?? 0;
        expect(r.messages[prevTail - 1]?.content.at(-1)?.cache_control).toEqual({ type: 'ephemeral' });
        // Apart from breakpoints, the earlier prefix is sent byte for byte again.
        const strip = (ms: Message[]) =>
          JSON.stringify(ms.map((m) => m.content.map(({ cache_control: _c, ...b }) => b)));
        expect(strip(r.messages.slice(0, prevTail))).toBe(strip(model.requests[i - 1]?.messages ?? []));
      }
    }
  });

  it('compacts old tool results in one batch, keeping the task and the plan', async () => {
    // The fake reports the real size of each request, so clearing does lower the context.
    const model = new FakeModel((request, call) => {
      const input = estimateTokens(request.messages);
      if (call === 1)
        return {
          content: [use('update_plan', { items: [{ step: 'Explore', status: 'in_progress' }] })],
          usage: { input },
        };
      if (call < 12) return { content: [use('big', { tag: `t${call}` })], usage: { input } };
      return { content: [use('finish', { summary: 'done' })], usage: { input } };
    }, 10_000);
    const events: AgentEvent[] = [];
    const result = await runAgent({
      ...baseOptions(model, [planTool, bigTool(5000), finishTool]),
      compaction: { keepTurns: 2 },
      onEvent: (e) => events.push(e),
    });
    expect(result.outcome).toBe('succeeded');
    const compactions = events.filter((e) => e.type === 'status').length;
    expect(compactions).toBeGreaterThanOrEqual(1);
    const strip = (ms: Message[]) =>
      JSON.stringify(ms.map((m) => m.content.map(({ cache_control: _c, ...b }) => b)));
    // Between requests the history only grows, except at a compaction, which rewrites it once.
    let rewrites = 0;
    let firstCompacted = -1;
    for (let i = 1; i < model.requests.length; i += 1) {
      const prev = model.requests[i - 1]?.messages ?? [];
      const cur = model.requests[i]?.messages ?? [];
      if (strip(cur.slice(0, prev.length)) !== strip(prev)) {
        rewrites += 1;
        if (firstCompacted < 0) firstCompacted = i;
      }
    }
    expect(rewrites).toBe(compactions);
    const after = model.requests[firstCompacted];
    if (!after) throw new Error('no compaction seen');
    // The task is intact.
    expect(texts(after.messages[0])).toEqual(['Task: do the thing.']);
    const cleared = after.messages.flatMap(toolResults).filter((r) => r.content.startsWith('[cleared:'));
    expect(cleared.length).toBeGreaterThanOrEqual(2);
    expect(cleared[0]?.content).toBe(
      '[cleared: big {"tag":"t2"} → ok, 5,003 bytes of output; run it again if you need it]',
    );
    // The two newest turns are kept whole.
    const kept = after.messages.flatMap(toolResults).slice(-2);
    expect(kept.every((r) => r.content.length > 5000)).toBe(true);
    // The note re-states the plan.
    expect(texts(after.messages.at(-1)).join()).toMatch(/Current plan:\n- \[in_progress\] Explore/);
  });

  it('writes a redacted transcript each step and resumes from it', async () => {
    const secret = 'super-secret-value-123';
    const model = new FakeModel((_r, call) =>
      call === 1
        ? { content: [use('echo', { text: `token ${secret} ghp_abcdefghijklmnopqrstuvwxyz0123` })] }
        : { content: [use('update_plan', { items: [{ step: 'A', status: 'completed' }] })] },
    );
    const opts = baseOptions(model, [echoTool, planTool, finishTool], {
      secrets: [secret],
      budgets: { maxTurns: 2, maxCostUsd: 10, maxWallMs: 60_000 },
    });
    const first = await runAgent(opts);
    expect(first).toMatchObject({ outcome: 'limit', limit: 'turns' });
    const raw = readFileSync(opts.transcriptPath, 'utf8');
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123');
    const lines = raw
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual([
      'start',
      'messages',
      'response',
      'tool',
      'messages',
      'response',
      'tool',
      'plan',
      'messages',
      'result',
    ]);
    const loaded = loadTranscript(opts.transcriptPath);
    expect(loaded.turns).toBe(2);
    expect(loaded.plan).toEqual([{ step: 'A', status: 'completed' }]);
    expect(loaded.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);

    const model2 = new FakeModel(() => ({ content: [use('finish', { summary: 'resumed and done' })] }));
    const second = await runAgent({
      ...opts,
      model: model2,
      resumeFrom: opts.transcriptPath,
      budgets: { maxTurns: 5, maxCostUsd: 10, maxWallMs: 60_000 },
    });
    expect(second).toMatchObject({ outcome: 'succeeded', summary: 'resumed and done', turns: 3 });
    expect(second.plan).toEqual([{ step: 'A', status: 'completed' }]);
    expect(second.usage.input).toBe(300);
    expect(model2.requests[0]?.messages).toHaveLength(5);
    // Resuming into the same file never writes a message twice.
    const again = loadTranscript(opts.transcriptPath);
    expect(again.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    expect(again.turns).toBe(3);

    // Resuming into a new file starts it with a snapshot, so it stands alone.
    const model3 = new FakeModel(() => ({ content: [use('finish', { summary: 'third' })] }));
    const otherPath = `${opts.transcriptPath}.2`;
    const third = await runAgent({
      ...opts,
      model: model3,
      resumeFrom: opts.transcriptPath,
      transcriptPath: otherPath,
      budgets: { maxTurns: 5, maxCostUsd: 10, maxWallMs: 60_000 },
    });
    expect(third.outcome).toBe('succeeded');
    const fresh = loadTranscript(otherPath);
    expect(fresh.messages).toHaveLength(9);
    expect(fresh.turns).toBe(4);
    expect(fresh.usage.input).toBe(400);
  });

  it('summarizes older turns when clearing tool results is not enough', async () => {
    const model = new FakeModel((request, call) => {
      const input = estimateTokens(request.messages);
      if (request.toolChoice === 'none')
        return { content: [text('SUMMARY: explored t2..t5, nothing fixed yet')] };
      if (call === 1)
        return {
          content: [use('update_plan', { items: [{ step: 'Explore', status: 'in_progress' }] })],
          usage: { input },
        };
      // Big tool inputs (not results) cannot be cleared, so only a summary brings the context down.
      if (call < 8)
        return { content: [use('echo', { text: `t${call} ${'y'.repeat(8000)}` })], usage: { input } };
      return { content: [use('finish', { summary: 'done' })], usage: { input } };
    }, 10_000);
    const opts = { ...baseOptions(model, [planTool, echoTool, finishTool]), compaction: { keepTurns: 1 } };
    const result = await runAgent(opts);
    expect(result.outcome).toBe('succeeded');
    const idx = model.requests.findIndex((r) => r.toolChoice === 'none');
    expect(idx).toBeGreaterThan(0);
    const next = model.requests[idx + 1];
    if (!next) throw new Error('no request after the summary');
    const head = texts(next.messages[0]);
    expect(head[0]).toBe('Task: do the thing.');
    expect(head[1]).toMatch(/<summary>\nSUMMARY: explored/);
    expect(head[1]).toMatch(/Current plan:\n- \[in_progress\] Explore/);
    expect(next.messages[1]?.role).toBe('assistant');
    expect(next.messages.length).toBeLessThan(model.requests[idx]?.messages.length ?? 0);
    // The transcript can rebuild the compacted history.
    const loaded = loadTranscript(opts.transcriptPath);
    expect(texts(loaded.messages[0])[1]).toMatch(/<summary>/);
    // The rebuilt history is the last request's plus the final answer and its tool result.
    expect(loaded.messages).toHaveLength((model.requests.at(-1)?.messages.length ?? 0) + 2);
    expect(loaded.messages.at(-2)?.content.some((b) => b.type === 'tool_use' && b.name === 'finish')).toBe(
      true,
    );
  });

  it('goes on without a transcript it cannot write, and refuses to resume from a missing one', async () => {
    const model = new FakeModel(() => ({ content: [use('finish', { summary: 'ok' })] }));
    const blocker = baseOptions(model, []).transcriptPath;
    writeFileSync(blocker, 'a file, not a folder');
    const result = await runAgent({
      ...baseOptions(model, [finishTool]),
      transcriptPath: join(blocker, 'run.jsonl'),
    });
    expect(result.outcome).toBe('succeeded');
    expect(() => loadTranscript(join(blocker, 'missing.jsonl'))).toThrow(
      expect.objectContaining({ code: 'input_invalid' }),
    );
  });

  it('caps a huge tool result keeping head and tail', async () => {
    const model = new FakeModel((_r, call) =>
      call === 1
        ? { content: [use('big', { tag: 'head' })] }
        : { content: [use('finish', { summary: 'ok' })] },
    );
    await runAgent({ ...baseOptions(model, [bigTool(1_000_000), finishTool]), maxToolResultChars: 10_000 });
    const r = toolResults(model.requests[1]?.messages[2])[0];
    expect(r?.content.length).toBeLessThanOrEqual(10_000);
    expect(r?.content.startsWith('head:xxx')).toBe(true);
    expect(r?.content).toMatch(/characters cut by the harness/);
  });
});
