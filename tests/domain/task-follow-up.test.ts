import { describe, expect, it } from 'vitest';
import { authorityOf, Task } from '../../src/domain/task.js';

const base = {
  installationId: 1,
  repo: { owner: 'octo', name: 'hello' },
  requestedAt: '2026-12-06T03:00:00.000Z',
};
const head = 'a'.repeat(40);

describe('Task: follow-up kinds and triggers', () => {
  it('accepts a writer asking for repair-ci or update-branch (a person trigger)', () => {
    for (const kind of ['repair-ci', 'update-branch'] as const) {
      const task = Task.parse({
        ...base,
        kind,
        number: 7,
        trigger: { actor: 'alice', source: 'issue_comment', instruction: 'fix ci' },
      });
      expect(authorityOf(task)).toEqual({ kind: 'person', login: 'alice' });
    }
  });

  it('accepts follow-ups with a matching reason, on behalf of the requester', () => {
    const repair = Task.parse({
      ...base,
      kind: 'repair-ci',
      number: 7,
      trigger: { actor: 'alice', source: 'follow-up', reason: 'ci-failed', headSha: head },
    });
    expect(authorityOf(repair)).toEqual({ kind: 'person', login: 'alice' });
    const update = Task.parse({
      ...base,
      kind: 'update-branch',
      number: 7,
      trigger: { actor: 'alice', source: 'follow-up', reason: 'behind' },
    });
    expect(update.trigger).toMatchObject({ source: 'follow-up', reason: 'behind' });
  });

  it('a follow-up on a maintenance PR is authorized by the task id, not the actor', () => {
    const task = Task.parse({
      ...base,
      kind: 'update-branch',
      number: 9,
      maintenanceTaskId: 'deps',
      trigger: { actor: 'schedule', source: 'follow-up', reason: 'conflict' },
    });
    expect(authorityOf(task)).toEqual({ kind: 'maintenance', taskId: 'deps' });
  });

  it('refuses a follow-up trigger on a kind a person must ask for', () => {
    for (const kind of ['implement', 'revise', 'address-review']) {
      expect(
        Task.safeParse({
          ...base,
          kind,
          number: 7,
          trigger: { actor: 'alice', source: 'follow-up', reason: 'ci-failed', headSha: head },
        }).success,
      ).toBe(false);
    }
  });

  it('refuses a reason that does not match the kind, and a repair without a head SHA', () => {
    const bad = [
      { kind: 'repair-ci', trigger: { actor: 'a', source: 'follow-up', reason: 'conflict', headSha: head } },
      { kind: 'update-branch', trigger: { actor: 'a', source: 'follow-up', reason: 'ci-failed' } },
      { kind: 'update-branch', trigger: { actor: 'a', source: 'follow-up', reason: 'dashboard' } },
      { kind: 'repair-ci', trigger: { actor: 'a', source: 'follow-up', reason: 'ci-failed' } },
      {
        kind: 'repair-ci',
        trigger: { actor: 'a', source: 'follow-up', reason: 'ci-failed', headSha: 'HEAD' },
      },
    ];
    for (const b of bad)
      expect(Task.safeParse({ ...base, number: 7, ...b }).success, JSON.stringify(b)).toBe(false);
  });

  it('refuses a maintenance task id on a person trigger (it would switch the authority check)', () => {
    expect(
      Task.safeParse({
        ...base,
        kind: 'repair-ci',
        number: 7,
        maintenanceTaskId: 'deps',
        trigger: { actor: 'mallory', source: 'issue_comment' },
      }).success,
    ).toBe(false);
  });

  it('maintenance runs on a schedule or a dashboard tick, never another follow-up', () => {
    const m = { ...base, kind: 'maintenance', maintenanceTaskId: 'deps' };
    expect(Task.safeParse({ ...m, trigger: { actor: 'schedule', source: 'schedule' } }).success).toBe(true);
    const ticked = Task.parse({
      ...m,
      trigger: { actor: 'alice', source: 'follow-up', reason: 'dashboard' },
    });
    expect(authorityOf(ticked)).toEqual({ kind: 'maintenance', taskId: 'deps' });
    expect(
      Task.safeParse({ ...m, trigger: { actor: 'alice', source: 'follow-up', reason: 'ci-failed' } }).success,
    ).toBe(false);
    expect(Task.safeParse({ ...m, trigger: { actor: 'alice', source: 'issue_comment' } }).success).toBe(
      false,
    );
  });
});
