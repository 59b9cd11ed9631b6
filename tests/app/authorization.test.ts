import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPermissionChecker } from '../../src/app/authorization.js';
import { connectRedis, deletePrefix, uniquePrefix } from '../queue/redis-helpers.js';
import { FakeGitHubPort } from './fake-github-port.js';

describe('permission checks (real Redis)', () => {
  let redis: Redis;
  const prefix = uniquePrefix('perm');
  const repo = { owner: 'octo', name: 'hello' };

  beforeAll(() => {
    redis = connectRedis();
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('a burst of comments costs one GitHub lookup', async () => {
    const github = new FakeGitHubPort();
    github.permissions.set('octo/hello:alice', 'write');
    const checker = createPermissionChecker(github, redis, `${prefix}-a`);
    for (let i = 0; i < 20; i++) {
      expect(await checker.isAuthorized(1, repo, 'alice')).toEqual({ ok: true, permission: 'write' });
    }
    expect(github.permissionLookups).toBe(1);
  });

  it('a revoked collaborator loses access once the caches expire, even while commenting non-stop', async () => {
    const github = new FakeGitHubPort();
    github.permissions.set('octo/hello:mallory', 'write');
    // Redis 1 s, in-process 200 ms: short so the test is quick; the rule is the same at 60 s / 5 s.
    const checker = createPermissionChecker(github, redis, `${prefix}-b`, 1, 200);
    expect((await checker.isAuthorized(1, repo, 'mallory')).ok).toBe(true);
    github.permissions.set('octo/hello:mallory', 'read');
    const started = Date.now();
    let ok = true;
    // Asking every 20 ms must not keep the old answer alive.
    while (ok && Date.now() - started < 5_000) {
      ok = (await checker.isAuthorized(1, repo, 'mallory')).ok;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
