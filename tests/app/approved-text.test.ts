import { describe, expect, it } from 'vitest';
import { approvalOf, IssueCommentEvent, IssuesEvent } from '../../src/app/webhook-payloads.js';
import { approvedTextHash, Task } from '../../src/domain/task.js';

/** Issue 14, item 4: what a trigger approved is recorded from the webhook, not re-read later. */
describe('approved issue text', () => {
  const base = {
    installation: { id: 1 },
    repository: { id: 2, name: 'r', owner: { login: 'o' } },
    sender: { login: 'alice', id: 3 },
  };

  it('hashes title and body unambiguously (no separator an author could shift text across)', () => {
    expect(approvedTextHash('a\nb', '')).not.toBe(approvedTextHash('a', 'b'));
    expect(approvedTextHash('a', 'b\n')).not.toBe(approvedTextHash('a\n', 'b'));
    expect(approvedTextHash('t', null)).toBe(approvedTextHash('t', ''));
    expect(approvedTextHash('t', 'x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it("takes the issue's text and updated_at from the event that carried the approval", () => {
    const p = IssuesEvent.parse({
      ...base,
      action: 'assigned',
      issue: { number: 5, title: 'T', body: null, updated_at: '2026-12-06T00:00:00Z' },
    });
    expect(approvalOf(p.issue)).toEqual({
      title: 'T',
      body: '',
      sha256: approvedTextHash('T', ''),
      updatedAt: '2026-12-06T00:00:00Z',
    });
  });

  it('records nothing (the worker uses the live text) when the event lacks the text; never refuses the delivery', () => {
    const noText = IssueCommentEvent.parse({
      ...base,
      action: 'created',
      issue: { number: 5 },
      comment: { id: 9, body: '@agent go', user: base.sender },
    });
    expect(approvalOf(noText.issue)).toBeUndefined();
    const oversized = IssueCommentEvent.parse({
      ...base,
      action: 'created',
      issue: { number: 5, title: 'T', body: 'x'.repeat(70_000), updated_at: 'yesterday' },
      comment: { id: 9, body: '@agent go', user: base.sender },
    });
    expect(oversized.issue.updated_at).toBeUndefined();
    expect(approvalOf(oversized.issue)).toBeUndefined();
  });

  it('is part of the Task schema: a forged record with a bad hash does not parse', () => {
    const task = {
      kind: 'implement',
      installationId: 1,
      repo: { owner: 'o', name: 'r' },
      number: 5,
      requestedAt: '2026-12-06T00:00:00.000Z',
      trigger: { actor: 'alice', source: 'assignment' },
    };
    const approved = { title: 'T', body: 'B', sha256: approvedTextHash('T', 'B') };
    expect(Task.parse({ ...task, approved }).approved).toEqual(approved);
    expect(Task.parse(task).approved).toBeUndefined();
    expect(Task.safeParse({ ...task, approved: { ...approved, sha256: 'nope' } }).success).toBe(false);
    expect(Task.safeParse({ ...task, approved: { ...approved, body: 'x'.repeat(65_537) } }).success).toBe(
      false,
    );
  });
});
