import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createFollowUpMarks,
  type FollowUpMarks,
  type RecordedPush,
} from '../../src/queue/follow-up-marks.js';
import { connectRedis, deletePrefix, uniquePrefix } from './redis-helpers.js';

const repo = { owner: 'Octo', name: 'Hello' };
const target = { installationId: 3, repo, number: 7 };
const sha = (c: string) => c.repeat(40);

function push(headSha: string, overrides: Partial<RecordedPush> = {}): RecordedPush {
  return {
    headSha,
    headRef: 'pullwright/issue-1',
    baseRef: 'main',
    origin: { requester: 'alice', requesterId: 11, kind: 'implement' },
    openedByPullwright: true,
    pushedBy: 'implement',
    ...overrides,
  };
}

describe('follow-up marks (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let marks: FollowUpMarks;

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('followup');
    marks = createFollowUpMarks(redis, prefix);
  });
  afterEach(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('records pushes, keeps the first origin and finds the PR by any pushed head', async () => {
    await marks.recordPush(target, push(sha('a')));
    await marks.recordPush(
      target,
      push(sha('b'), { origin: { requester: 'bob', kind: 'revise' }, pushedBy: 'repair-ci' }),
    );
    const mark = await marks.getPull(target);
    expect(mark).toMatchObject({
      origin: { requester: 'alice', requesterId: 11, kind: 'implement' },
      headSha: sha('b'),
      pushedBy: 'repair-ci',
      openedByPullwright: true,
      repairs: 0,
      pushedHeads: [sha('b'), sha('a')],
    });
    // Owner/name spelled differently: GitHub names are case-insensitive.
    expect((await marks.findPullByHead(3, { owner: 'octo', name: 'hello' }, sha('a')))?.number).toBe(7);
    expect(await marks.findPullByHead(3, repo, sha('c'))).toBeNull();
    expect(await marks.findPullByHead(4, repo, sha('a'))).toBeNull();
  });

  it('claims one repair per head, counts across heads, then claims the head once for the limit report', async () => {
    await marks.recordPush(target, push(sha('a')));
    expect(await marks.claimRepair(target, sha('a'), { maxRepairs: 2 })).toEqual({
      status: 'claimed',
      attempt: 1,
      maxAttempts: 2,
    });
    // check_suite, workflow_run and status of one push: one repair.
    expect(await marks.claimRepair(target, sha('a'), { maxRepairs: 2 })).toMatchObject({
      status: 'duplicate',
    });
    expect(await marks.claimRepair(target, sha('b'), { maxRepairs: 2 })).toMatchObject({
      status: 'claimed',
      attempt: 2,
    });
    expect(await marks.claimRepair(target, sha('c'), { maxRepairs: 2 })).toEqual({
      status: 'exhausted',
      attempts: 2,
      maxAttempts: 2,
    });
    expect(await marks.claimRepair(target, sha('c'), { maxRepairs: 2 })).toMatchObject({
      status: 'duplicate',
      exhausted: true,
    });
    expect(await marks.getRepair(target, sha('b'))).toEqual({ attempt: 2, maxAttempts: 2, exhausted: false });
    expect(await marks.getRepair(target, sha('c'))).toEqual({ attempt: 2, maxAttempts: 2, exhausted: true });
    expect((await marks.getPull(target))?.repairs).toBe(2);
  });

  it('parallel claims of one head make exactly one repair', async () => {
    await marks.recordPush(target, push(sha('a')));
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => marks.claimRepair(target, sha('a'), { maxRepairs: 5 })),
    );
    expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1);
    expect((await marks.getPull(target))?.repairs).toBe(1);
  });

  it("a writer's request always claims and counts, past the limit", async () => {
    await marks.claimRepair(target, sha('a'), { maxRepairs: 1 });
    expect(await marks.claimRepair(target, sha('a'), { maxRepairs: 1, requested: true })).toEqual({
      status: 'claimed',
      attempt: 2,
      maxAttempts: 2,
    });
  });

  it('a released claim gives the attempt back; an exhausted claim released does not add one', async () => {
    await marks.claimRepair(target, sha('a'), { maxRepairs: 1 });
    await marks.releaseRepair(target, sha('a'));
    expect(await marks.getRepair(target, sha('a'))).toBeNull();
    expect(await marks.claimRepair(target, sha('a'), { maxRepairs: 1 })).toMatchObject({ attempt: 1 });
    expect(await marks.claimRepair(target, sha('b'), { maxRepairs: 1 })).toMatchObject({
      status: 'exhausted',
    });
    await marks.releaseRepair(target, sha('b'));
    expect(await marks.claimRepair(target, sha('b'), { maxRepairs: 1 })).toMatchObject({
      status: 'exhausted',
    });
  });

  it('lists open PRs on a base, once per base head for updates, and forgets closed ones', async () => {
    await marks.recordPush(target, push(sha('a')));
    await marks.recordPush({ ...target, number: 8 }, push(sha('b'), { baseRef: 'release' }));
    await marks.recordPush({ ...target, number: 9 }, push(sha('c')));
    expect((await marks.listPullsOnBase(3, repo, 'main')).map((p) => p.number)).toEqual([7, 9]);
    expect(await marks.claimUpdate(target, sha('d'))).toBe(true);
    expect(await marks.claimUpdate(target, sha('d'))).toBe(false);
    await marks.releaseUpdate(target, sha('d'));
    expect(await marks.claimUpdate(target, sha('d'))).toBe(true);
    await marks.forgetPull(target);
    expect(await marks.getPull(target)).toBeNull();
    expect(await marks.findPullByHead(3, repo, sha('a'))).toBeNull();
    expect((await marks.listPullsOnBase(3, repo, 'main')).map((p) => p.number)).toEqual([9]);
  });

  it('refuses a push that is not a commit id or lacks an origin', async () => {
    await expect(marks.recordPush(target, push('HEAD'))).rejects.toThrow();
    await expect(
      marks.recordPush(target, { ...push(sha('a')), origin: undefined } as unknown as RecordedPush),
    ).rejects.toThrow();
  });

  it('a re-run record: the last re-run to finish continues the repair exactly once', async () => {
    const head = sha('e');
    await marks.startRerun(
      target,
      head,
      [
        { id: 500, runAttempt: 1 },
        { id: 501, runAttempt: 1 },
      ],
      { failures: ['test', 'lint'] },
    );
    expect(await marks.getRerun(target, head)).toEqual({ status: 'pending', failures: ['test', 'lint'] });
    // The first attempt's own completion (redelivered) and an unknown run do not count.
    expect(await marks.rerunFinished(target, head, 500, 1)).toBe(false);
    expect(await marks.rerunFinished(target, head, 999, 2)).toBe(false);
    expect(await marks.rerunFinished(target, head, 500, 2)).toBe(false);
    // The last one, delivered three times at once: one continuation.
    const results = await Promise.all([1, 2, 3].map(() => marks.rerunFinished(target, head, 501, 2)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await marks.rerunFinished(target, head, 501, 2)).toBe(false);
    expect((await marks.getRerun(target, head))?.status).toBe('done');
    await marks.forgetRerun(target, head);
    expect(await marks.getRerun(target, head)).toBeNull();
  });
});
