import { describe, expect, it } from 'vitest';
import { capHeadTail } from '../../src/runs/cap-text.js';
import type { RunEvent } from '../../src/runs/run-event.js';
import { noteOf } from '../../worker/run-record/note-of.js';
import { RecordBuffer } from '../../worker/run-record/record-buffer.js';

const status = (seq: number, size = 100): RunEvent => ({
  seq,
  at: 0,
  t: 'status',
  message: 'x'.repeat(size),
});

describe('the per-run cap', () => {
  it('keeps the head and a sliding tail, and never drops pinned entries or the latest plan', () => {
    const buffer = new RecordBuffer(5_000);
    buffer.add({
      seq: 1,
      at: 0,
      t: 'started',
      kind: 'implement',
      repo: 'a/b',
      number: 1,
      requester: 'a',
      source: 'assignment',
      title: null,
      instruction: null,
    });
    buffer.add({ seq: 2, at: 0, t: 'plan', items: [{ step: 'one', status: 'pending' }] });
    for (let i = 3; i < 200; i++) buffer.add(status(i));
    buffer.add({ seq: 200, at: 0, t: 'outcome', status: 'succeeded', reason: null, costUsd: 0, turns: 1 });
    const seqs = buffer.events().map((e) => e.seq);
    expect(buffer.totalBytes).toBeLessThanOrEqual(5_000);
    expect(seqs.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seqs.at(-1)).toBe(200);
    expect(seqs.at(-2)).toBe(199);
    expect(buffer.omitted).toBe(200 - seqs.length);
    expect(buffer.events().some((e) => e.t === 'plan')).toBe(true);
  });

  it('caps long text keeping its start and its end', () => {
    const text = `START${'m'.repeat(10_000)}END`;
    const capped = capHeadTail(text, 1000);
    expect(capped.length).toBeLessThanOrEqual(1000);
    expect(capped.startsWith('START')).toBe(true);
    expect(capped.endsWith('END')).toBe(true);
    expect(capped).toContain('characters omitted');
    expect(capHeadTail('short', 1000)).toBe('short');
  });
});

describe('harness events as notes', () => {
  it('describes the environment, refusals, subagents, reviews and MCP servers', () => {
    expect(
      noteOf({ type: 'environment', report: { source: 'snapshot', ageMs: 300_000, bytes: 5 * 1_048_576 } })
        ?.title,
    ).toBe('Environment restored from a snapshot (setup skipped, 5.0 MB, made 5 min ago)');
    expect(
      noteOf({ type: 'environment', report: { source: 'setup', snapshot: 'not-saved', reason: 'secret' } })
        ?.title,
    ).toContain('setup secret');
    expect(
      noteOf({
        type: 'permission-denied',
        tool: 'bash',
        subject: 'curl x',
        kind: 'shell',
        source: 'repo',
        rule: 'curl *',
        reason: 'denied',
      }),
    ).toMatchObject({ isError: true, kind: 'permission' });
    expect(
      noteOf({
        type: 'review',
        verdict: 'changes-requested',
        summary: 's',
        findings: [{ severity: 'high', path: 'a.ts', line: 3, problem: 'bug' }],
        costUsd: 0,
      })?.detail,
    ).toContain('[high] a.ts:3: bug');
    expect(
      noteOf({ type: 'subagent', id: 1, question: 'q', outcome: 'finished', turns: 2, costUsd: 0.01 })?.title,
    ).toContain('Subagent 1');
    expect(noteOf({ type: 'mcp-server', server: 'docs', status: 'started', tools: ['a'] })?.isError).toBe(
      false,
    );
    expect(noteOf({ type: 'memory' })).toBeNull();
  });
});
