import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RepoRef } from '../domain/task.js';
import { keyPrefix, repoSlug } from './queue-names.js';

/**
 * Renovate-style caps for maintenance work, shared by every worker: how many
 * PRs a task may have open in a repo, and how many new PRs it may open per
 * hour. A schedule that misfires or a prompt that always finds "something"
 * cannot flood a repository with pull requests. Matches the worker's
 * `MaintenanceCaps` port.
 */
const HOUR_MS = 60 * 60 * 1000;

export interface MaintenanceCapsStore {
  check(
    repo: RepoRef,
    task: { id: string; maxOpenPrs: number; maxNewPrsPerHour: number },
  ): Promise<{ ok: boolean; reason?: string }>;
  /** Call after opening a PR; pass its number so a later close frees the slot. */
  recordOpened(repo: RepoRef, taskId: string, prNumber?: number): Promise<void>;
  /** The app calls this when a PR is closed or merged; the task id whose PR it was, or null. */
  recordClosed(repo: RepoRef, prNumber: number): Promise<string | null>;
  /** The task's open PRs (numbers Pullwright recorded when it opened them), ascending. */
  listOpen(repo: RepoRef, taskId: string): Promise<number[]>;
}

export function createMaintenanceCaps(
  redis: Redis,
  prefix: string,
  now: () => number = Date.now,
): MaintenanceCapsStore {
  const base = (repo: RepoRef) => `${keyPrefix(prefix)}:caps:${repoSlug(repo)}`;
  const openKey = (repo: RepoRef, taskId: string) => `${base(repo)}:open:${taskId}`;
  const newKey = (repo: RepoRef, taskId: string) => `${base(repo)}:new:${taskId}`;
  const prKey = (repo: RepoRef) => `${base(repo)}:prs`;

  return {
    async check(repo, task) {
      const since = now() - HOUR_MS;
      const [, openCount, newCount] = (await redis
        .multi()
        .zremrangebyscore(newKey(repo, task.id), '-inf', since)
        .scard(openKey(repo, task.id))
        .zcard(newKey(repo, task.id))
        .exec()) as [unknown, [Error | null, number], [Error | null, number]];
      if (openCount[1] >= task.maxOpenPrs) {
        return { ok: false, reason: `${openCount[1]} open PRs (limit ${task.maxOpenPrs})` };
      }
      if (newCount[1] >= task.maxNewPrsPerHour) {
        return {
          ok: false,
          reason: `${newCount[1]} new PRs in the last hour (limit ${task.maxNewPrsPerHour})`,
        };
      }
      return { ok: true };
    },

    async recordOpened(repo, taskId, prNumber) {
      const member = prNumber !== undefined ? String(prNumber) : randomUUID();
      const tx = redis
        .multi()
        .sadd(openKey(repo, taskId), member)
        .zadd(newKey(repo, taskId), now(), randomUUID())
        .pexpire(newKey(repo, taskId), HOUR_MS);
      if (prNumber !== undefined) tx.hset(prKey(repo), member, taskId);
      await tx.exec();
    },

    async listOpen(repo, taskId) {
      return (await redis.smembers(openKey(repo, taskId)))
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0)
        .sort((a, b) => a - b);
    },

    async recordClosed(repo, prNumber) {
      const member = String(prNumber);
      const taskId = await redis.hget(prKey(repo), member);
      if (taskId === null) return null;
      await redis.multi().srem(openKey(repo, taskId), member).hdel(prKey(repo), member).exec();
      return taskId;
    },
  };
}
