import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/env.js';
import {
  bullConnection,
  createRedis,
  redisTargetFromConfig,
  targetOf,
} from '../../src/queue/redis-connection.js';

/** Config → where Redis is: a URL, or Sentinel. No Redis is contacted here (lazyConnect). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig('cli', env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('Redis target from the environment', () => {
  it('is the URL by default, with REDIS_PASSWORD only when given', () => {
    expect(redisTargetFromConfig(parseConfig('cli', {}))).toEqual({ url: 'redis://127.0.0.1:6379' });
    expect(
      redisTargetFromConfig(
        parseConfig('cli', { REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'pw-123' }),
      ),
    ).toEqual({ url: 'redis://redis:6379', password: 'pw-123' });
  });

  it('is Sentinel when sentinels and a master name are set (IPv6 and names too)', () => {
    const config = parseConfig('cli', {
      REDIS_SENTINELS: ' 10.0.0.5:26379, sentinel-b.example:26380 ,[::1]:26381',
      REDIS_MASTER_NAME: 'pullwright',
      REDIS_PASSWORD: 'data-pw',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
    });
    expect(redisTargetFromConfig(config)).toEqual({
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'sentinel-b.example', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'pullwright',
      password: 'data-pw',
      sentinelPassword: 'sentinel-pw',
    });
  });

  it('refuses half a Sentinel setup and malformed addresses at boot, listing each problem', () => {
    expect(problemsOf({ REDIS_SENTINELS: '127.0.0.1:26379' })).toEqual([
      'REDIS_MASTER_NAME: is required with REDIS_SENTINELS',
    ]);
    expect(problemsOf({ REDIS_MASTER_NAME: 'pullwright' })).toEqual([
      'REDIS_SENTINELS: is required with REDIS_MASTER_NAME',
    ]);
    const bad = problemsOf({ REDIS_SENTINELS: '10.0.0.5,10.0.0.6:70000,ok:1', REDIS_MASTER_NAME: 'm' });
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/^REDIS_SENTINELS\.0: must be host:port/);
    expect(bad[1]).toMatch(/^REDIS_SENTINELS\.1: port must be 1-65535/);
  });
});

describe('connection options', () => {
  const sentinel = {
    sentinels: [{ host: '127.0.0.1', port: 26480 }],
    name: 'pw',
    password: 'data-pw',
    sentinelPassword: 'sentinel-pw',
  };

  it('gives BullMQ the URL, or the sentinel fields, under the caller options', () => {
    expect(bullConnection('redis://h:1', { maxRetriesPerRequest: null })).toEqual({
      url: 'redis://h:1',
      maxRetriesPerRequest: null,
    });
    const options = bullConnection(sentinel, { maxRetriesPerRequest: null });
    expect(options).toMatchObject({
      sentinels: sentinel.sentinels,
      name: 'pw',
      password: 'data-pw',
      sentinelPassword: 'sentinel-pw',
      maxRetriesPerRequest: null,
    });
    // ioredis's +switch-master listener stays off: it could end a reconnecting client for good
    // (tests/ha/sentinel-failover.test.ts, "every client reconnects").
    expect(options).not.toHaveProperty('failoverDetector');
    // A write that reaches a demoted primary reconnects (asking the sentinels again) and is resent.
    const onError = options.reconnectOnError as (err: Error) => boolean | 1 | 2;
    expect(onError(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(onError(new Error('ERR wrong number of arguments'))).toBe(false);
  });

  it('keeps a URL password over REDIS_PASSWORD, and uses REDIS_PASSWORD when the URL has none', () => {
    const own = createRedis(
      { url: 'redis://:url-pw@127.0.0.1:1', password: 'env-pw' },
      { lazyConnect: true },
    );
    const bare = createRedis({ url: 'redis://127.0.0.1:1', password: 'env-pw' }, { lazyConnect: true });
    const viaSentinel = createRedis(sentinel, { lazyConnect: true, enableOfflineQueue: false });
    try {
      expect(own.options.password).toBe('url-pw');
      expect(bare.options.password).toBe('env-pw');
      expect(viaSentinel.options).toMatchObject({
        name: 'pw',
        password: 'data-pw',
        sentinelPassword: 'sentinel-pw',
        enableOfflineQueue: false,
      });
    } finally {
      for (const c of [own, bare, viaSentinel]) c.disconnect();
    }
  });

  it('turns connection errors into warn lines when given a log', async () => {
    const warnings: unknown[] = [];
    const log = { warn: (fields: unknown) => warnings.push(fields) };
    const c = createRedis('redis://127.0.0.1:1', { lazyConnect: true, retryStrategy: () => null }, log);
    await c.connect().catch(() => {});
    c.disconnect();
    expect(warnings[0]).toMatchObject({ err: { message: expect.stringContaining('ECONNREFUSED') } });
  });

  it('takes redisTarget over the older redisUrl option, and needs one of them', () => {
    expect(targetOf({ redisUrl: 'redis://a:1' })).toEqual({ url: 'redis://a:1' });
    expect(targetOf({ redisUrl: 'redis://a:1', redisTarget: sentinel })).toBe(sentinel);
    expect(() => targetOf({})).toThrow(/No Redis/);
  });
});
