import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { localRedisUrl } from '../../scripts/local-redis-url.js';
import { createSilentLogger } from '../../src/logger.js';
import { type AcknowledgerOptions, startAcknowledger } from '../../src/queue/acknowledgements.js';

/** REDIS_URL, else the (password-protected) Redis `scripts/services.sh up` started. */
export const REDIS_URL = localRedisUrl();

/** A unique key prefix per test, so parallel runs never see each other's keys. */
export function uniquePrefix(label: string): string {
  return `pwtest-${label}-${randomUUID().slice(0, 8)}`;
}

export function connectRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under the prefix (BullMQ's and ours). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** What a worker runs for the 👀: an acknowledger on its own blocking connection. */
export function startTestAcknowledger(
  redis: Redis,
  prefix: string,
  react: AcknowledgerOptions['react'],
  overrides: Partial<Omit<AcknowledgerOptions, 'redis' | 'blocking' | 'prefix' | 'react'>> = {},
) {
  return startAcknowledger({
    redis,
    blocking: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    prefix,
    consumer: `test-${prefix}`,
    react,
    log: createSilentLogger(),
    ...overrides,
  });
}
