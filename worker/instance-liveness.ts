import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/**
 * Each worker process has an instance id and a heartbeat in Redis. Sandboxes are
 * labelled with the host and the instance, so a worker's reaper removes what a
 * crashed process on the same host left (its heartbeat has expired) and never
 * touches a live neighbour's sandboxes or another host's.
 */
export const INSTANCE_LABEL = 'dev.pullwright.instance';
/**
 * The deployment (queue prefix) a sandbox belongs to. Heartbeats are kept per
 * deployment, so a reaper only judges sandboxes of its own deployment: two
 * Pullwright installs (or two test stacks) on one Docker host never reap each other.
 */
export const DEPLOYMENT_LABEL = 'dev.pullwright.deployment';
const HEARTBEAT_TTL_S = 15;

export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

const heartbeatKey = (prefix: string, instanceId: string) => `${prefix}:pw:worker:${instanceId}`;

export function startHeartbeat(redis: Redis, prefix: string, instanceId: string): () => Promise<void> {
  const beat = () => redis.set(heartbeatKey(prefix, instanceId), String(Date.now()), 'EX', HEARTBEAT_TTL_S);
  void beat().catch(() => {});
  const timer = setInterval(() => void beat().catch(() => {}), (HEARTBEAT_TTL_S * 1000) / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await redis.del(heartbeatKey(prefix, instanceId)).catch(() => {});
  };
}

/** Every instance whose heartbeat has not expired (a handful of keys: SCAN is cheap). */
export async function liveInstances(redis: Redis, prefix: string): Promise<Set<string>> {
  const live = new Set<string>();
  const head = heartbeatKey(prefix, '');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 500);
    for (const key of keys) live.add(key.slice(head.length));
    cursor = next;
  } while (cursor !== '0');
  return live;
}
