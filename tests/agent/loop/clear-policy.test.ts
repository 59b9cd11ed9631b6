import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { applyCacheBreakpoints } from '../../../worker/agent/loop/cache-breakpoints.js';
import {
  type BatchPolicy,
  chooseBatch,
  clearStaleResults,
  measureStale,
  STUB_PREFIX,
  staleBatches,
} from '../../../worker/agent/loop/clear-stale.js';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { capGiantOutput, GIANT_OUTPUT_NOTE } from '../../../worker/agent/loop/truncate.js';
import { capOutput } from '../../../worker/agent/tools/cap-output.js';
import { createDefaultTools } from '../../../worker/agent/tools/index.js';
import type { Message, ToolResultBlock } from '../../../worker/model/model.js';
import { baseOptions, bashTurns, FakeModel, text, use } from './fakes.js';
import { createLocalSandbox } from './local-sandbox.js';

const history = bashTurns;

/** An assistant turn that writes a file: its input is history the clear never touches. */
function withCreate(messages: Message[], at: number, chars: number): Message[] {
  const out = messages.slice();
  out[at] = {
    role: 'assistant',
    content: [
      {
        type: 'tool_use',
        id: `t${(at + 1) / 2}`,
        name: 'str_replace_based_edit_tool',
        input: { command: 'create', path: 'big.txt', file_text: 'x'.repeat(chars) },
      },
    ],
  };
  return out;
}

const options = { keepTurns: 2, minClearChars: 100 };

describe('staleBatches', () => {
  it('lists one batch per message with stale output, newest first, each holding the ones before it', () => {
    const messages = history([4000, 4000, 4000, 4000, 4000, 4000]);
    const batches = staleBatches(messages, options);
    // Turns 1-4 are stale (messages 2, 4, 6, 8); turns 5 and 6 are kept.
    expect(batches.map((b) => b.firstChanged)).toEqual([8, 6, 4, 2]);
    expect(batches.map((b) => b.count)).toEqual([1, 2, 3, 4]);
    expect(batches.every((b) => b.boundary === 9)).toBe(true);
    expect(batches.at(-1)).toEqual(measureStale(messages, options));
    for (let i = 1; i < batches.length; i += 1)
      expect(batches[i]?.chars).toBeGreaterThan(batches[i - 1]?.chars ?? Number.POSITIVE_INFINITY);
    // Rewriting grows with the stretch: kept turns always, then each stub and tool call.
    for (let i = 1; i < batches.length; i += 1)
      expect(batches[i]?.rewriteChars).toBeGreaterThan(batches[i - 1]?.rewriteChars ?? 0);
  });

  it('counts as rewritten only what the last request sent (the rest is written either way)', () => {
    const messages = history([4000, 4000, 4000, 4000, 4000, 4000]);
    const all = staleBatches(messages, options);
    // The last request sent messages 0..10; messages 11 and 12 (the newest turn) are new.
    const sent = staleBatches(messages, options, 11);
    expect(sent.map((b) => b.chars)).toEqual(all.map((b) => b.chars));
    for (const [i, b] of sent.entries()) expect(b.rewriteChars).toBeLessThan(all[i]?.rewriteChars ?? 0);
    // The kept turn 5 (messages 9, 10) was sent: it is rewritten by every batch.
    expect(sent[0]?.rewriteChars).toBeGreaterThan(4000);
  });

  it('makes a stretch holding a large file the agent wrote expensive to rewrite', () => {
    // Turn 3 (message 5) wrote a 20,000-character file; its result is short and stays.
    const messages = withCreate(history([4000, 4000, 10, 4000, 4000, 4000, 4000]), 5, 20_000);
    const batches = staleBatches(messages, options);
    expect(batches.map((b) => b.firstChanged)).toEqual([10, 8, 4, 2]);
    const [, after, before] = batches as [unknown, (typeof batches)[0], (typeof batches)[0]];
    // Starting before the file (message 4) rather than after it (message 8) rewrites the file too.
    expect(before.rewriteChars - after.rewriteChars).toBeGreaterThan(20_000);
    expect(before.chars - after.chars).toBeLessThan(5_000);
  });
});

describe('chooseBatch', () => {
  const policy: BatchPolicy = { size: 0, trigger: 30_000, target: 18_000, minTokens: 1_000 };
  const batch = (firstChanged: number, chars: number, rewriteChars: number) => ({
    firstChanged,
    chars,
    rewriteChars,
    count: 1,
    boundary: 20,
  });

  it('makes no batch below the trigger, nor one under the minimum', () => {
    const batches = [batch(10, 90_000, 1_000)];
    expect(chooseBatch(batches, { ...policy, size: 29_999 })).toBeUndefined();
    expect(chooseBatch([batch(10, 3_999, 10)], { ...policy, size: 35_000 })).toBeUndefined();
    expect(chooseBatch([], { ...policy, size: 35_000 })).toBeUndefined();
  });

  it('at the trigger, removes enough to reach the target with the least rewrite, or all if nothing is enough', () => {
    // 34,000 - 18,000 = 16,000 tokens = 64,000 characters needed.
    const batches = [batch(16, 40_000, 2_000), batch(12, 70_000, 5_000), batch(4, 90_000, 40_000)];
    expect(chooseBatch(batches, { ...policy, size: 34_000 })?.firstChanged).toBe(12);
    // A stretch that is cheaper to rewrite wins even when it starts earlier (a large non-clearable file sits later).
    const odd = [batch(16, 64_000, 9_000), batch(12, 66_000, 9_500), batch(8, 70_000, 6_000)];
    expect(chooseBatch(odd, { ...policy, size: 34_000 })?.firstChanged).toBe(8);
    const short = [batch(16, 10_000, 2_000), batch(12, 20_000, 5_000)];
    expect(chooseBatch(short, { ...policy, size: 34_000 })?.firstChanged).toBe(12);
  });
});

describe('clearStaleResults from a first change', () => {
  it('clears only the stretch from `from` to the kept turns; older results stay as they were', () => {
    const messages = history([4000, 4000, 4000, 4000, 4000, 4000]);
    const result = clearStaleResults(messages, { ...options, preservedThinking: false, from: 6 });
    expect(result.firstChanged).toBe(6);
    expect(result.cleared).toBe(2);
    expect(result.anchor).toBe(8);
    expect(result.messages.slice(0, 6)).toEqual(messages.slice(0, 6));
    const content = (i: number) =>
      (result.messages[i]?.content[0] as { content?: string } | undefined)?.content ?? '';
    expect(content(6).startsWith(STUB_PREFIX)).toBe(true);
    expect(content(8).startsWith(STUB_PREFIX)).toBe(true);
    expect(content(10).length).toBeGreaterThan(4000);
  });

  it('on a preserved-thinking model removes thinking only from the first change on', () => {
    const messages = history([4000, 4000, 4000, 4000, 4000, 4000]).map((m, i) =>
      m.role === 'assistant'
        ? {
            role: m.role,
            content: [{ type: 'thinking' as const, thinking: `t${i}`, signature: 's' }, ...m.content],
          }
        : m,
    );
    const result = clearStaleResults(messages, { ...options, preservedThinking: true, from: 6 });
    const thinking = (i: number) => result.messages[i]?.content.some((b) => b.type === 'thinking');
    expect([1, 3, 5].map(thinking)).toEqual([true, true, true]);
    expect([7, 9, 11].map(thinking)).toEqual([false, false, false]);
    expect(result.thinkingDropped).toBe(3);
  });
});

describe('breakpoints right after a clear', () => {
  it('bridge on the newest unchanged message and keep the earlier anchor, within 4 breakpoints', () => {
    const messages = history([10, 10, 10, 10, 10, 10, 10, 10]);
    const placed = applyCacheBreakpoints({
      tools: [{ name: 'a', description: 'a', input_schema: { type: 'object' } }],
      system: [{ type: 'text', text: 'sys' }],
      messages,
      previousTailIndex: 9,
      anchorIndex: 4,
    });
    const marked = placed.messages.flatMap((m, i) => (m.content.some((b) => b.cache_control) ? [i] : []));
    expect(marked).toEqual([4, 9, 16]);
    expect(placed.system[0]?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    // The system block's entry covers the tools, which come first in the prompt.
    expect(placed.tools[0]?.cache_control).toBeUndefined();
  });
});

describe('capGiantOutput', () => {
  const log = (lines: number) =>
    Array.from(
      { length: lines },
      (_, i) => `2026-11-01T00:00:${i} INFO request ${i} took ${i % 900} ms`,
    ).join('\n');

  it('shrinks an output the tool cut to a small sample of it, keeping its marker, both ends and a way on', () => {
    const raw = `${log(20_000)}\nFAIL test/math.test.js: expected 3, got 4\nexit code: 1`;
    const capped = capOutput(raw, { maxBytes: 14_000, maxLines: 400 });
    expect(capped.length).toBeGreaterThan(12_000);
    const sample = capGiantOutput(capped, 8_000);
    expect(sample.length).toBeLessThanOrEqual(8_000);
    expect(sample.startsWith('2026-11-01T00:00:0 INFO request 0 ')).toBe(true);
    expect(sample).toMatch(/\[\.\.\. \d+ lines \([\d.]+ (KB|MB)\) cut \.\.\.\]/);
    expect(sample).toMatch(/\[\.\.\. and \d+ more characters around it, cut by the harness \.\.\.\]/);
    expect(sample).toContain('FAIL test/math.test.js: expected 3, got 4\nexit code: 1');
    expect(sample.endsWith(GIANT_OUTPUT_NOTE)).toBe(true);
    // Whole lines on both sides of the cut.
    const [head, tail] = sample.split(/\n\[\.\.\. [^\n]*\]\n\[\.\.\. [^\n]*\]\n/) as [string, string];
    expect(head.split('\n').every((l) => /^2026-11-01T00:00:\d+ INFO request \d+ took \d+ ms$/.test(l))).toBe(
      true,
    );
    expect(tail.split('\n')[0]).toMatch(/^2026-11-01T00:00:\d+ INFO request \d+ took \d+ ms$/);
  });

  it('leaves whole outputs, and outputs cut by less than four times what is shown, as they were', () => {
    const small = log(100);
    expect(capGiantOutput(small, 2_000)).toBe(small);
    // About 20 KB cut to 14 KB: the model sees most of it, so it is not a giant output.
    const moderate = capOutput(log(420), { maxBytes: 14_000, maxLines: 400 });
    expect(moderate).toMatch(/cut \.\.\.\]/);
    expect(capGiantOutput(moderate, 8_000)).toBe(moderate);
  });
});

describe('giant outputs through the loop and the real tools', () => {
  it('enter the history once as a sample with a way on; a moderate output enters as the tool cut it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-loop-giant-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const lines = Array.from({ length: 12_000 }, (_, i) => `line ${i}: request took ${i % 900} ms`);
    writeFileSync(join(dir, 'app.log'), `${lines.join('\n')}\nFAILED at the very end\n`);
    writeFileSync(join(dir, 'small.log'), `${lines.slice(0, 300).join('\n')}\n`);
    const model = new FakeModel((_request, call) => {
      if (call === 1) return { content: [use('bash', { command: 'cat app.log' })] };
      if (call === 2) return { content: [use('bash', { command: 'cat small.log' })] };
      return { content: [text('done'), use('finish', { summary: 'read the logs' })] };
    });
    const result = await runAgent(
      baseOptions(model, createDefaultTools(), {
        sandbox: createLocalSandbox(dir),
        maxGiantResultChars: 6_000,
      }),
    );
    expect(result.outcome).toBe('succeeded');
    const resultOf = (call: number) =>
      (model.requests[call]?.messages.at(-1)?.content[0] as ToolResultBlock | undefined)?.content ?? '';
    const giant = resultOf(1);
    expect(giant.length).toBeLessThanOrEqual(6_000);
    expect(giant.startsWith('line 0: request took 0 ms')).toBe(true);
    expect(giant).toContain('FAILED at the very end\nexit code: 0');
    expect(giant).toMatch(/\[\.\.\. \d+ lines \([\d.]+ KB\) cut \.\.\.\]/);
    expect(giant.endsWith(GIANT_OUTPUT_NOTE)).toBe(true);
    // The same history goes on being sent as it entered: the sample is made once.
    expect(model.requests[2]?.messages[2]?.content[0]).toEqual(
      model.requests[1]?.messages.at(-1)?.content[0],
    );
    const small = resultOf(2);
    expect(small).not.toContain(GIANT_OUTPUT_NOTE);
    expect(small).toContain('line 299: request took 299 ms');
  });
});
