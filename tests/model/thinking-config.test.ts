import { describe, expect, it } from 'vitest';
import { mapContent } from '../../worker/model/anthropic-model.js';
import { thinkingOf, thinkingParams } from '../../worker/model/thinking-config.js';

describe('thinkingOf', () => {
  it('knows which models think adaptively, which need the budgeted form and which check the prefix', () => {
    expect(thinkingOf('claude-sonnet-5-5')).toEqual({ kind: 'adaptive', prefixCheck: true });
    expect(thinkingOf('claude-opus-5-5')).toEqual({ kind: 'adaptive', prefixCheck: true });
    expect(thinkingOf('claude-fable-5-1')).toEqual({ kind: 'adaptive', prefixCheck: true });
    expect(thinkingOf('claude-opus-5')).toEqual({ kind: 'adaptive', prefixCheck: false });
    expect(thinkingOf('claude-sonnet-4-6')).toEqual({ kind: 'adaptive', prefixCheck: false });
    expect(thinkingOf('claude-opus-4-5-20251101')).toEqual({ kind: 'budgeted', prefixCheck: false });
    expect(thinkingOf('claude-sonnet-4-5')).toEqual({ kind: 'budgeted', prefixCheck: false });
    expect(thinkingOf('claude-3-5-haiku-latest')).toEqual({ kind: 'none', prefixCheck: false });
    expect(thinkingOf('claude-opus-4-8')).toEqual({ kind: 'adaptive', prefixCheck: false });
    expect(thinkingOf('claude-haiku-5-5')).toEqual({ kind: 'adaptive', prefixCheck: true });
    // A name the table does not know follows the newest rules.
    expect(thinkingOf('claude-opus-6')).toEqual({ kind: 'adaptive', prefixCheck: true });
  });
});

describe('thinkingParams', () => {
  const base = { mode: 'auto' as const, budgetTokens: 8_000 };

  it('asks for adaptive thinking with the configured effort on current models', () => {
    expect(thinkingParams('claude-sonnet-5-5', { ...base, effort: 'high' }, 16_000)).toEqual({
      thinking: { type: 'adaptive' },
      output_config: { effort: 'high' },
      maxTokens: 16_000,
    });
    expect(thinkingParams('claude-sonnet-5-5', base, 16_000)).toEqual({
      thinking: { type: 'adaptive' },
      maxTokens: 16_000,
    });
  });

  it('uses the budgeted form only where the model needs it, with max_tokens above the budget', () => {
    expect(thinkingParams('claude-opus-4-5', { ...base, effort: 'high' }, 16_000)).toEqual({
      thinking: { type: 'enabled', budget_tokens: 8_000 },
      maxTokens: 16_000,
    });
    // The compaction summary asks for 4096 tokens: the budget comes on top instead of a 400.
    expect(thinkingParams('claude-opus-4-5', base, 4_096).maxTokens).toBe(12_096);
    expect(thinkingParams('claude-opus-4-5', { ...base, budgetTokens: 10 }, 4_096).thinking).toEqual({
      type: 'enabled',
      budget_tokens: 1024,
    });
  });

  it('turns thinking off explicitly, and sends nothing to a model that cannot think', () => {
    expect(thinkingParams('claude-sonnet-5', { ...base, mode: 'off' }, 1_000)).toEqual({
      thinking: { type: 'disabled' },
      maxTokens: 1_000,
    });
    expect(thinkingParams('claude-3-5-haiku', base, 1_000)).toEqual({ maxTokens: 1_000 });
    expect(thinkingParams('claude-sonnet-5-5', { ...base, mode: 'budgeted' }, 16_000).thinking).toEqual({
      type: 'enabled',
      budget_tokens: 8_000,
    });
  });
});

describe('mapContent', () => {
  it('keeps thinking, redacted thinking, text and tool calls in order with exactly what the API checks', () => {
    const input = { path: 'a', command: 'view' };
    const out = mapContent([
      { type: 'thinking', thinking: '', signature: 'sig==' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'hi', citations: null },
      { type: 'tool_use', id: 't1', name: 'edit', input, caller: { type: 'direct' } },
      { type: 'thinking', thinking: 'between', signature: 'sig2' },
    ] as never);
    expect(out).toEqual([
      { type: 'thinking', thinking: '', signature: 'sig==' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'hi' },
      { type: 'tool_use', id: 't1', name: 'edit', input },
      { type: 'thinking', thinking: 'between', signature: 'sig2' },
    ]);
    // The tool input keeps the model's key order (the prefix check reads it as sent).
    expect(JSON.stringify(out[3])).toBe(
      '{"type":"tool_use","id":"t1","name":"edit","input":{"path":"a","command":"view"}}',
    );
  });
});
