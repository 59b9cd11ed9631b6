import { describe, expect, it } from 'vitest';
import { redisUrlHasPassword } from '../../src/queue/redis-auth.js';

describe('redisUrlHasPassword', () => {
  it('tells a URL that authenticates from one that does not', () => {
    expect(redisUrlHasPassword('redis://:s3cret@redis:6379')).toBe(true);
    expect(redisUrlHasPassword('rediss://default:s3cret@redis.example:6380/0')).toBe(true);
    expect(redisUrlHasPassword('redis://redis:6379')).toBe(false);
    expect(redisUrlHasPassword('redis://user@redis:6379')).toBe(false);
    expect(redisUrlHasPassword('not a url')).toBe(false);
  });
});
