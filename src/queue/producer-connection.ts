import type { Redis } from 'ioredis';
import { coalesceWrites } from './coalesced-writes.js';
import { createRedis, type RedisTarget } from './redis-connection.js';

/**
 * The app's one Redis connection for everything on the webhook path: its own
 * commands (delivery dedup, caches, 👀 requests) and both queues' adds share it,
 * so one delivery's commands and its neighbours' leave in one write
 * (coalesced-writes.ts).
 *
 * It fails fast while Redis is away, so a delivery gets a 5xx (and GitHub shows
 * a failed delivery) instead of hanging. No auto-pipelining: ioredis batches
 * only within one tick, and each delivery's commands come from its own I/O
 * callback, so its per-pipeline bookkeeping only made an add cost more
 * (intake benchmark: 0.281 → 0.255 ms of CPU per delivery without it on the
 * queue's connection); coalescing the socket's writes batches across callbacks.
 */
export function createProducerConnection(target: RedisTarget | string): Redis {
  return coalesceWrites(
    createRedis(target, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: false }),
  );
}
