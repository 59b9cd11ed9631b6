import { describe, expect, it } from 'vitest';
import { exceededLimit, nearLimits } from '../../../worker/agent/loop/budgets.js';
import { applyCacheBreakpoints, countBreakpoints } from '../../../worker/agent/loop/cache-breakpoints.js';
import { clearStaleResults, measureStale, STUB_PREFIX } from '../../../worker/agent/loop/clear-stale.js';
import { keepBoundary } from '../../../worker/agent/loop/compaction.js';
import { canonicalize, stableStringify } from '../../../worker/agent/loop/stable-json.js';
import { capText } from '../../../worker/agent/loop/truncate.js';
import type { Message } from '../../../worker/model/model.js';
import { emptyUsage } from '../../../worker/model/model.js';
import { bashTurns } from './fakes.js';

function history(turns: number, size: number): Message[] {
  return bashTurns(Array.from({ length: turns }, () => size));
}

describe('capText', () => {
  it('keeps short text and cuts long text to the cap, keeping head and tail', () => {
    expect(capText('short', 100)).toBe('short');
    const long = `HEAD${'m'.repeat(100_000)}TAIL`;
    const cut = capText(long, 2_000);
    expect(cut.length).toBeLessThanOrEqual(2_000);
    expect(cut.startsWith('HEAD')).toBe(true);
    expect(cut.endsWith('TAIL')).toBe(true);
    expect(cut).toMatch(/characters cut by the harness/);
  });
});

describe('applyCacheBreakpoints', () => {
  it('marks tools and system 1h, the newest and the bridge message 5m, without touching the input', () => {
    const messages = history(3, 10);
    const before = JSON.stringify(messages);
    const placed = applyCacheBreakpoints({
      tools: [
        { name: 'a', description: 'a', input_schema: { type: 'object' } },
        { name: 'b', description: 'b', input_schema: { type: 'object' } },
      ],
      system: [{ type: 'text', text: 'sys' }],
      messages,
      previousTailIndex: 4,
    });
    expect(JSON.stringify(messages)).toBe(before);
    expect(countBreakpoints(placed)).toBe(4);
    expect(placed.tools[1]?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(placed.system[0]?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(placed.messages[4]?.content[0]?.cache_control).toEqual({ type: 'ephemeral' });
    expect(placed.messages[6]?.content[0]?.cache_control).toEqual({ type: 'ephemeral' });
  });

  it('drops stale marks from stored messages so there are never more than 4', () => {
    const messages = history(3, 10).map((m) => ({
      role: m.role,
      content: m.content.map((b) => ({ ...b, cache_control: { type: 'ephemeral' as const } })),
    }));
    const placed = applyCacheBreakpoints({ tools: [], system: [{ type: 'text', text: 's' }], messages });
    expect(countBreakpoints(placed)).toBe(2);
  });
});

describe('clearStaleResults', () => {
  it('clears results before the kept turns, never the task, and is stable when run again', () => {
    const messages = history(6, 1000);
    expect(keepBoundary(messages, 2)).toBe(9);
    const options = { keepTurns: 2, minClearChars: 100, preservedThinking: false };
    expect(measureStale(messages, options)).toMatchObject({ count: 4, firstChanged: 2, boundary: 9 });
    const first = clearStaleResults(messages, options);
    expect(first.cleared).toBe(4);
    expect(first.firstChanged).toBe(2);
    expect(first.anchor).toBe(8);
    expect(first.messages[0]).toBe(messages[0]);
    const results = first.messages.flatMap((m) =>
      m.content.flatMap((b) => (b.type === 'tool_result' ? [b.content] : [])),
    );
    expect(results[0]).toBe(
      '[cleared: bash {"command":"cmd 1"} → ok, 1,002 bytes of output; run it again if you need it]',
    );
    expect(results.slice(0, 4).every((r) => r.startsWith(`${STUB_PREFIX} bash {"command":"cmd`))).toBe(true);
    expect(results.slice(4).every((r) => r.length > 1000)).toBe(true);
    // Stubs are never rewritten, so an older cached prefix stays as it is.
    const second = clearStaleResults(first.messages, { ...options, minClearChars: 10 });
    expect(second.cleared).toBe(0);
    expect(measureStale(first.messages, options).count).toBe(0);
  });
});

describe('budgets', () => {
  it('reports the first limit reached and those near their limit', () => {
    const budgets = { maxTurns: 10, maxCostUsd: 1, maxWallMs: 1000, maxOutputTokens: 100 };
    const usage = { ...emptyUsage(), output: 85 };
    expect(exceededLimit(budgets, { turns: 3, usage, costUsd: 0.1, elapsedMs: 10 })).toBeUndefined();
    expect(nearLimits(budgets, { turns: 8, usage, costUsd: 0.1, elapsedMs: 10 })).toEqual([
      'turns',
      'output_tokens',
    ]);
    expect(exceededLimit(budgets, { turns: 3, usage, costUsd: 1.2, elapsedMs: 10 })).toBe('cost');
    expect(exceededLimit(budgets, { turns: 3, usage, costUsd: 0, elapsedMs: 1000 })).toBe('wall_time');
  });
});

describe('stableStringify', () => {
  it('serializes objects with sorted keys at every depth', () => {
    expect(stableStringify({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 2 } })).toBe(
      '{"a":{"c":2,"d":[{"y":2,"z":1}]},"b":1}',
    );
    expect(JSON.stringify(canonicalize({ b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });
});
