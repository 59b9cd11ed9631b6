import { describe, expect, it } from 'vitest';
import { redisConfigHasPassword, redisUrlHasPassword } from '../../src/queue/redis-auth.js';

describe('redisUrlHasPassword', () => {
  it('tells a URL that authenticates from one that does not', () => {
    expect(redisUrlHasPassword('redis://:s3cret@redis:6379')).toBe(true);
    expect(redisUrlHasPassword('rediss://default:s3cret@redis.example:6380/0')).toBe(true);
    expect(redisUrlHasPassword('redis://redis:6379')).toBe(false);
    expect(redisUrlHasPassword('redis://user@redis:6379')).toBe(false);
    expect(redisUrlHasPassword('not a url')).toBe(false);
  });

  it('counts REDIS_PASSWORD, which Sentinel setups and password-less URLs use', () => {
    expect(redisConfigHasPassword({ REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'pw' })).toBe(true);
    expect(redisConfigHasPassword({ REDIS_URL: 'redis://redis:6379' })).toBe(false);
    expect(redisConfigHasPassword({ REDIS_URL: 'redis://:pw@redis:6379', REDIS_SENTINELS: [{}] })).toBe(
      false,
    );
    expect(redisConfigHasPassword({ REDIS_URL: 'redis://:pw@redis:6379', REDIS_SENTINELS: [] })).toBe(true);
  });
});
