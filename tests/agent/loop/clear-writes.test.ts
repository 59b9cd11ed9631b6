import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { clearStaleResults, STUB_PREFIX, staleBatches } from '../../../worker/agent/loop/clear-stale.js';
import { DEFAULT_COMPACTION } from '../../../worker/agent/loop/compaction.js';
import { runAgent } from '../../../worker/agent/loop/run-agent.js';
import { capGiantView, GIANT_VIEW_NOTE } from '../../../worker/agent/loop/truncate.js';
import { createDefaultTools } from '../../../worker/agent/tools/index.js';
import type { Message, ToolResultBlock, ToolUseBlock } from '../../../worker/model/model.js';
import { baseOptions, bashTurns, FakeModel, text, use } from './fakes.js';
import { createLocalSandbox } from './local-sandbox.js';

const EDITOR = 'str_replace_based_edit_tool';

/** Turn `turn` (1-based) writes a file of `chars` characters instead of running a command; its result is short. */
function withWrite(messages: Message[], turn: number, chars: number, thinking = false): Message[] {
  const out = messages.slice();
  const at = 2 * turn - 1;
  out[at] = {
    role: 'assistant',
    content: [
      ...(thinking ? [{ type: 'thinking' as const, thinking: `plan ${turn}`, signature: 'sig' }] : []),
      {
        type: 'tool_use',
        id: `t${turn}`,
        name: EDITOR,
        // The model's key order, which a clear must keep (thinking after it is bound to the bytes).
        input: { path: `notes-${turn}.md`, command: 'create', file_text: 'w'.repeat(chars) },
      },
    ],
  };
  out[at + 1] = {
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: `t${turn}`, content: `Created notes-${turn}.md.` }],
  };
  return out;
}

const inputOf = (m: Message | undefined) =>
  (m?.content.find((b) => b.type === 'tool_use') as ToolUseBlock | undefined)?.input;

describe('clearing stale whole-file writes (clearWrites)', () => {
  const options = { keepTurns: 1, minClearChars: 100, clearWrites: true, minClearWriteChars: 2_000 };

  it('counts a stale create input as clearable mass, and a batch starts at the assistant message holding it', () => {
    const messages = withWrite(bashTurns([50, 50, 50, 50]), 3, 12_000);
    const batches = staleBatches(messages, options);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.firstChanged).toBe(5);
    expect(batches[0]?.chars).toBeGreaterThan(11_800);
    // Off (the option's default): the same history has nothing stale worth clearing.
    expect(staleBatches(messages, { ...options, clearWrites: false })).toHaveLength(0);
  });

  it('replaces only the file content with a stub; path, command, key order and the result stay', () => {
    const messages = withWrite(withWrite(bashTurns([50, 50, 50, 50, 50]), 2, 9_000), 5, 9_000);
    const result = clearStaleResults(messages, { ...options, preservedThinking: false });
    const cleared = inputOf(result.messages[3]) as Record<string, string>;
    expect(Object.keys(cleared)).toEqual(['path', 'command', 'file_text']);
    expect(cleared.path).toBe('notes-2.md');
    expect(cleared.command).toBe('create');
    expect(cleared.file_text).toBe(
      `${STUB_PREFIX} 9,000 characters written to notes-2.md; view the file if you need them]`,
    );
    expect(result.messages[4]).toEqual(messages[4]);
    // The kept (newest) turn's write stays whole, as does everything before the first change.
    expect((inputOf(result.messages[9]) as Record<string, string>).file_text).toHaveLength(9_000);
    expect(result.messages.slice(0, 3)).toEqual(messages.slice(0, 3));
    expect(result.firstChanged).toBe(3);
    expect(result.cleared).toBe(1);
    // A second clear finds nothing more to do: a stub is never cleared again.
    expect(staleBatches(result.messages, options)).toHaveLength(0);
  });

  it('leaves small writes and str_replace edits alone', () => {
    let messages = withWrite(bashTurns([50, 50, 50, 50]), 2, 1_500);
    messages[5] = {
      role: 'assistant',
      content: [
        {
          type: 'tool_use',
          id: 't3',
          name: EDITOR,
          input: {
            command: 'str_replace',
            path: 'a.js',
            old_str: 'x'.repeat(3_000),
            new_str: 'y'.repeat(3_000),
          },
        },
      ],
    };
    messages = messages.slice();
    expect(staleBatches(messages, options)).toHaveLength(0);
    expect(clearStaleResults(messages, { ...options, preservedThinking: false }).messages).toEqual(messages);
  });

  it('on a preserved-thinking model removes thinking from the changed assistant message on, not before', () => {
    let messages = withWrite(bashTurns([50, 50, 50, 50, 50]), 1, 50, true);
    messages = withWrite(messages, 3, 8_000, true);
    messages = withWrite(messages, 4, 50, true);
    const result = clearStaleResults(messages, { ...options, preservedThinking: true });
    const thinks = (i: number) => result.messages[i]?.content.some((b) => b.type === 'thinking');
    expect(result.firstChanged).toBe(5);
    expect(thinks(1)).toBe(true);
    expect(thinks(5)).toBe(false);
    expect(thinks(7)).toBe(false);
    expect(result.thinkingDropped).toBe(2);
  });

  it('is on by default, with one kept turn', () => {
    expect(DEFAULT_COMPACTION.clearWrites).toBe(true);
    expect(DEFAULT_COMPACTION.clearKeepTurns).toBe(1);
    expect(DEFAULT_COMPACTION.clearAtTokens).toBe(32_000);
  });
});

function numberedLines(from: number, to: number): string {
  return Array.from(
    { length: to - from + 1 },
    (_, i) => `${String(from + i).padStart(6)}\t${'const row = 1;'.repeat(5)}`,
  ).join('\n');
}

describe('capGiantView', () => {
  it('shrinks a window of a file many times larger to whole lines from its start, saying which and how to go on', () => {
    const body = numberedLines(1, 160);
    const view = `${body}\n[Showing lines 1-160 of 5011. Use view_range [161, -1] (or a smaller window) to see more, or the search tool to find a line.]`;
    const sample = capGiantView(view, 4_000);
    expect(sample.length).toBeLessThanOrEqual(4_000);
    const lines = sample.split('\n');
    const note = lines.pop() as string;
    expect(lines.every((l, i) => l === `${String(i + 1).padStart(6)}\t${'const row = 1;'.repeat(5)}`)).toBe(
      true,
    );
    const last = lines.length;
    expect(note).toBe(
      `[harness: showing lines 1-${last} of a very large file (5011 lines). ${GIANT_VIEW_NOTE} view_range [${last + 1}, ${2 * last}] continues.]`,
    );
  });

  it('handles the window of a file too large to read whole', () => {
    const body = numberedLines(801, 1600);
    const view = `${body}\n[logs/app.log is large (1300000 bytes); showing lines 801-1600. Use view_range [1601, 2400] for more, or search for a line.]`;
    const sample = capGiantView(view, 6_000);
    expect(sample.length).toBeLessThanOrEqual(6_000);
    expect(sample.startsWith(`   801\t`)).toBe(true);
    expect(sample).toMatch(
      /\n\[harness: showing lines 801-\d+ of a very large file \(logs\/app\.log, 1300000 bytes\)\./,
    );
  });

  it('leaves whole files, windows of files not much larger, and other outputs as they were', () => {
    const whole = numberedLines(1, 400);
    expect(capGiantView(whole, 4_000)).toBe(whole);
    const near = `${numberedLines(1, 160)}\n[Showing lines 1-160 of 700. Use view_range [161, -1] (or a smaller window) to see more, or the search tool to find a line.]`;
    expect(capGiantView(near, 4_000)).toBe(near);
    const small = `${numberedLines(1, 20)}\n[Showing lines 1-20 of 5011. Use view_range [21, -1] (or a smaller window) to see more, or the search tool to find a line.]`;
    expect(capGiantView(small, 4_000)).toBe(small);
  });
});

describe('through the loop with the real editor', () => {
  it('a view of a giant file enters once as a sample; a later clear stubs a stale large write and keeps the newest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-loop-writes-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'table.js'),
      `${Array.from({ length: 6_000 }, (_, i) => `  { id: ${i}, key: 'k-${i}', weight: ${i % 97} },`).join('\n')}\n`,
    );
    const big = 'notes line\n'.repeat(2_400);
    // The fake reports the context it was sent (about 4 characters a token), as the API does.
    const sized = (request: { messages: Message[] }) => ({
      input: Math.ceil(JSON.stringify(request.messages).length / 4),
    });
    const model = new FakeModel((request, call) => {
      const usage = sized(request);
      if (call === 1) return { content: [use(EDITOR, { command: 'view', path: 'table.js' })], usage };
      if (call === 2)
        return { content: [use(EDITOR, { command: 'create', path: 'NOTES.md', file_text: big })], usage };
      if (call === 3) return { content: [use('bash', { command: 'cat NOTES.md NOTES.md' })], usage };
      if (call === 4) return { content: [use('bash', { command: 'wc -l NOTES.md' })], usage };
      return { content: [text('done'), use('finish', { summary: 'notes written' })], usage };
    });
    const result = await runAgent(
      baseOptions(model, createDefaultTools(), {
        sandbox: createLocalSandbox(dir),
        maxGiantResultChars: 4_000,
        compaction: { clearAtTokens: 9_000, clearBatchTokens: 2_000 },
      }),
    );
    expect(result.outcome).toBe('succeeded');
    const view =
      (model.requests[1]?.messages.at(-1)?.content[0] as ToolResultBlock | undefined)?.content ?? '';
    expect(view.length).toBeLessThanOrEqual(4_000);
    expect(view).toMatch(/^ +1\t {2}\{ id: 0, /);
    expect(view).toContain('of a very large file (6000 lines)');
    // The file on disk is whole; only the history's copy of the write was cleared.
    expect(result.context?.batches).toBeGreaterThanOrEqual(1);
    const last = model.requests.at(-1)?.messages ?? [];
    const write = last
      .flatMap((m) => m.content)
      .find(
        (b) =>
          b.type === 'tool_use' && b.name === EDITOR && (b.input as { command: string }).command === 'create',
      ) as ToolUseBlock;
    expect((write.input as { file_text: string }).file_text).toBe(
      `${STUB_PREFIX} ${big.length.toLocaleString('en-US')} characters written to NOTES.md; view the file if you need them]`,
    );
    // The newest turn's output is never cleared.
    const newest = last.at(-1)?.content[0] as ToolResultBlock;
    expect(newest.content).toContain('2400 NOTES.md');
  });
});
