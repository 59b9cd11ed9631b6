import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { createMemoryTool, withMemoryTool } from '../../../worker/agent/memory/memory-tool.js';
import {
  applyMemoryUpdate,
  emptyMemory,
  MEMORY_LIMITS,
  memoryBytes,
  parseSessionMemory,
} from '../../../worker/agent/memory/session-memory.js';
import type { AgentEvent, ToolContext } from '../../../worker/agent/tool.js';
import { createFinishTool } from '../../../worker/agent/tools/plan-tools.js';
import { baseOptions, FakeModel, fakeSandbox, use } from '../loop/fakes.js';

const ctx = (memory = emptyMemory()): ToolContext => ({
  sandbox: fakeSandbox(),
  signal: new AbortController().signal,
  log: createSilentLogger(),
  memory,
});

describe('session memory', () => {
  it('replaces understanding, questions and next steps; appends decisions, progress and files (deduplicated)', () => {
    const first = applyMemoryUpdate(emptyMemory(), {
      understanding: 'A',
      decisions: [{ decision: 'd1', reason: 'r1' }],
      progress: ['p1'],
      filesTouched: ['a.ts'],
      openQuestions: ['q1'],
      nextSteps: ['n1'],
    });
    if (!first.ok) throw new Error(first.error);
    const second = applyMemoryUpdate(first.memory, {
      understanding: 'B',
      decisions: [
        { decision: 'd1', reason: 'again' },
        { decision: 'd2', reason: 'r2' },
      ],
      progress: ['p2'],
      filesTouched: ['a.ts', 'b.ts'],
      openQuestions: [],
    });
    if (!second.ok) throw new Error(second.error);
    expect(second.memory).toEqual({
      understanding: 'B',
      decisions: [
        { decision: 'd1', reason: 'r1' },
        { decision: 'd2', reason: 'r2' },
      ],
      progress: ['p1', 'p2'],
      filesTouched: ['a.ts', 'b.ts'],
      openQuestions: [],
      nextSteps: ['n1'],
    });
  });

  it('keeps the newest entries past a list cap and refuses a memory past the byte cap', () => {
    const many = Array.from({ length: MEMORY_LIMITS.progress + 5 }, (_, i) => `step ${i}`);
    const capped = applyMemoryUpdate(emptyMemory(), { progress: many });
    if (!capped.ok) throw new Error(capped.error);
    expect(capped.dropped).toBe(5);
    expect(capped.memory.progress[0]).toBe('step 5');
    const huge = applyMemoryUpdate(emptyMemory(), {
      understanding: 'u'.repeat(2000),
      decisions: Array.from({ length: 20 }, (_, i) => ({
        decision: `${i}${'d'.repeat(390)}`,
        reason: 'r'.repeat(400),
      })),
      progress: Array.from({ length: 30 }, (_, i) => `${i}${'p'.repeat(390)}`),
    });
    expect(huge.ok).toBe(false);
    if (!huge.ok) expect(huge.error).toMatch(/cap is 16384/);
  });

  it('reads a stored value only when it is a valid memory within the caps', () => {
    const m = { ...emptyMemory(), understanding: 'x' };
    expect(parseSessionMemory(JSON.stringify(m))).toEqual(m);
    expect(parseSessionMemory('{not json')).toBeNull();
    expect(parseSessionMemory({ ...m, understanding: 3 })).toBeNull();
    expect(parseSessionMemory({ ...m, progress: Array.from({ length: 31 }, () => 'p') })).toBeNull();
    expect(memoryBytes(m)).toBe(Buffer.byteLength(JSON.stringify(m)));
  });
});

describe('the memory tool', () => {
  it('shows the memory and returns the new one as an effect; a call with no fields only reads it', async () => {
    const tool = createMemoryTool();
    const r = await tool.run({ understanding: 'Fix the parser', next_steps: ['add a test'] }, ctx());
    expect(r.isError).toBe(false);
    expect(r.content).toMatch(/^Memory \(\d+ of 16384 bytes\):\nTask understanding:\nFix the parser/);
    expect(r.effect).toEqual({
      kind: 'memory',
      memory: { ...emptyMemory(), understanding: 'Fix the parser', nextSteps: ['add a test'] },
    });
    const read = await tool.run({}, ctx({ ...emptyMemory(), progress: ['done x'] }));
    expect(read.content).toContain('- done x');
    expect(tool.input.safeParse({ unknown: 1 }).success).toBe(false);
  });

  it('goes just before finish, once', () => {
    const tools = withMemoryTool([createFinishTool()]);
    expect(tools.map((t) => t.name)).toEqual(['memory', 'finish']);
    expect(withMemoryTool(tools)).toBe(tools);
  });

  it('through the loop: each call sees the memory so far, events go out, secrets leave scrubbed', async () => {
    const secret = 'ghs_0123456789abcdefghijklmnopqrstuvwx';
    const events: AgentEvent[] = [];
    const model = new FakeModel((_r, call) => {
      if (call === 1)
        return {
          content: [use('memory', { understanding: `Use token ${secret} nowhere`, progress: ['read code'] })],
        };
      if (call === 2) return { content: [use('memory', { progress: ['fixed it'] })] };
      return { content: [use('finish', { summary: 'done' })] };
    });
    const result = await runAgent({
      ...baseOptions(model, withMemoryTool([createFinishTool()]), { secrets: [secret] }),
      onEvent: (e) => events.push(e),
    });
    expect(result.memory?.progress).toEqual(['read code', 'fixed it']);
    expect(result.memory?.understanding).toBe('Use token [REDACTED] nowhere');
    expect(events.filter((e) => e.type === 'memory')).toHaveLength(2);
    // The second call saw the first call's memory (the loop passes the current one in).
    const second = model.requests[2]?.messages.at(-1)?.content[0];
    expect(second?.type === 'tool_result' && second.content).toContain('- read code\n- fixed it');
  });
});
