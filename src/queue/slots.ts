import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RepoRef } from '../domain/task.js';
import { keyPrefix, repoSlug } from './queue-names.js';

/**
 * Per-repo and per-installation concurrency, as leases in two Redis sorted sets
 * (member = lease id, score = expiry). BullMQ groups are a Pro feature, so the
 * worker takes a slot before working and gives it back after. Leases expire,
 * so a crashed worker cannot hold a repo forever; a long job renews its lease.
 */
export interface SlotLease {
  id: string;
  installationId: number;
  repo: RepoRef;
}

export interface SlotLimits {
  perRepo: number;
  perInstallation: number;
  /** Lease lifetime; renew well before it ends. */
  ttlMs: number;
}

const repoSlotKey = (prefix: string, repo: RepoRef) => `${keyPrefix(prefix)}:slots:repo:${repoSlug(repo)}`;
const installationSlotKey = (prefix: string, installationId: number) =>
  `${keyPrefix(prefix)}:slots:installation:${installationId}`;

// Both checks and both writes happen in one script, so two workers can never
// both take the last slot.
const ACQUIRE = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
local expiry = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expiry, ARGV[3])
redis.call('ZADD', KEYS[2], expiry, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

const RENEW = `
local now = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) or tonumber(redis.call('ZSCORE', KEYS[1], ARGV[3])) <= now then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[3])
redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

/** A lease, or null when the repo or the installation is at its limit (retry later). */
export async function acquireSlot(
  redis: Redis,
  prefix: string,
  input: { installationId: number; repo: RepoRef },
  limits: SlotLimits,
): Promise<SlotLease | null> {
  const id = randomUUID();
  const ok = await redis.eval(
    ACQUIRE,
    2,
    repoSlotKey(prefix, input.repo),
    installationSlotKey(prefix, input.installationId),
    Date.now(),
    limits.ttlMs,
    id,
    limits.perRepo,
    limits.perInstallation,
  );
  return ok === 1 ? { id, installationId: input.installationId, repo: input.repo } : null;
}

/** Extends a lease; false when it already expired (the slot may have gone to another job). */
export async function renewSlot(
  redis: Redis,
  prefix: string,
  lease: SlotLease,
  ttlMs: number,
): Promise<boolean> {
  const ok = await redis.eval(
    RENEW,
    2,
    repoSlotKey(prefix, lease.repo),
    installationSlotKey(prefix, lease.installationId),
    Date.now(),
    ttlMs,
    lease.id,
  );
  return ok === 1;
}

export async function releaseSlot(redis: Redis, prefix: string, lease: SlotLease): Promise<void> {
  await redis
    .multi()
    .zrem(repoSlotKey(prefix, lease.repo), lease.id)
    .zrem(installationSlotKey(prefix, lease.installationId), lease.id)
    .exec();
}
