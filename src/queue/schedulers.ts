import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RepoRef, Task } from '../domain/task.js';
import type { MaintenanceTaskConfig } from '../repo-config/repo-config.js';
import { keyPrefix, repoSlug, schedulerId, TASK_QUEUE } from './queue-names.js';
import type { TaskQueue } from './task-queue.js';

/**
 * Maintenance tasks from `.github/pullwright.yml` as BullMQ job schedulers.
 * The scheduler ids of each repo are tracked in Redis so that a task removed
 * from the file, a repo removed from the installation, or an uninstall removes
 * exactly what we created: nothing stale keeps firing (and spending).
 */
const reposKey = (prefix: string, installationId: number) =>
  `${keyPrefix(prefix)}:schedulers:${installationId}`;
const repoKey = (prefix: string, installationId: number, repo: RepoRef) =>
  `${keyPrefix(prefix)}:schedulers:${installationId}/${repoSlug(repo)}`;

export interface SchedulerSyncResult {
  upserted: string[];
  removed: string[];
  /** Tasks BullMQ refused (a cron it cannot parse), with the reason. */
  problems: string[];
}

export async function syncRepoSchedulers(
  taskQueue: TaskQueue,
  redis: Redis,
  input: { installationId: number; repo: RepoRef; tasks: MaintenanceTaskConfig[]; now?: Date },
): Promise<SchedulerSyncResult> {
  const { installationId, repo } = input;
  const prefix = taskQueue.prefix;
  const result: SchedulerSyncResult = { upserted: [], removed: [], problems: [] };
  const declared = new Set<string>();
  for (const task of input.tasks) {
    const id = schedulerId(installationId, repo, task.id);
    const data: Task = {
      kind: 'maintenance',
      installationId,
      repo: { owner: repo.owner, name: repo.name, ...(repo.id ? { id: repo.id } : {}) },
      maintenanceTaskId: task.id,
      trigger: { actor: 'schedule', source: 'schedule', instruction: task.prompt },
      requestedAt: (input.now ?? new Date()).toISOString(),
    };
    try {
      await taskQueue.queue.upsertJobScheduler(
        id,
        { pattern: task.cron, tz: task.timezone },
        { name: 'maintenance', data },
      );
      declared.add(id);
      result.upserted.push(id);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result.problems.push(`maintenance task "${task.id}": ${message}`);
    }
  }
  // Record before removing, so a crash in between leaves ids we can still find.
  const key = repoKey(prefix, installationId, repo);
  if (declared.size > 0) {
    await redis
      .multi()
      .sadd(key, ...declared)
      .sadd(reposKey(prefix, installationId), JSON.stringify({ owner: repo.owner, name: repo.name }))
      .exec();
  }
  const known = await redis.smembers(key);
  for (const id of known) {
    if (declared.has(id)) continue;
    await taskQueue.queue.removeJobScheduler(id);
    await redis.srem(key, id);
    result.removed.push(id);
  }
  if (declared.size === 0) {
    await redis.srem(
      reposKey(prefix, installationId),
      JSON.stringify({ owner: repo.owner, name: repo.name }),
    );
  }
  return result;
}

export async function removeRepoSchedulers(
  taskQueue: TaskQueue,
  redis: Redis,
  installationId: number,
  repo: RepoRef,
): Promise<string[]> {
  const result = await syncRepoSchedulers(taskQueue, redis, { installationId, repo, tasks: [] });
  return result.removed;
}

export async function removeInstallationSchedulers(
  taskQueue: TaskQueue,
  redis: Redis,
  installationId: number,
): Promise<string[]> {
  const removed: string[] = [];
  const repos = await redis.smembers(reposKey(taskQueue.prefix, installationId));
  for (const raw of repos) {
    const repo = JSON.parse(raw) as RepoRef;
    removed.push(...(await removeRepoSchedulers(taskQueue, redis, installationId, repo)));
  }
  await redis.del(reposKey(taskQueue.prefix, installationId));
  return removed;
}

/** Scheduler ids currently tracked for a repo (for tests and the dashboard). */
export async function listRepoSchedulers(
  prefix: string,
  redis: Redis,
  installationId: number,
  repo: RepoRef,
): Promise<string[]> {
  return (await redis.smembers(repoKey(prefix, installationId, repo))).sort();
}

/** What BullMQ knows of a task's schedule: its cron, zone and next firing (null when not scheduled). */
export interface ScheduledTask {
  cron: string | null;
  timezone: string | null;
  next: Date | null;
}

export async function getScheduledTasks(
  taskQueue: Pick<TaskQueue, 'queue'>,
  installationId: number,
  repo: RepoRef,
  taskIds: readonly string[],
): Promise<Map<string, ScheduledTask>> {
  const found = new Map<string, ScheduledTask>();
  for (const taskId of taskIds) {
    const scheduler = await taskQueue.queue.getJobScheduler(schedulerId(installationId, repo, taskId));
    found.set(taskId, {
      cron: scheduler?.pattern ?? null,
      timezone: scheduler?.tz ?? null,
      next: scheduler?.next !== undefined ? new Date(scheduler.next) : null,
    });
  }
  return found;
}

export interface ScheduleReader {
  get(installationId: number, repo: RepoRef, taskIds: readonly string[]): Promise<Map<string, ScheduledTask>>;
}

/** Reads schedules without a TaskQueue (the worker's dashboard refresh); the connection stays the caller's. */
export function createScheduleReader(redis: Redis, prefix: string): ScheduleReader {
  let queue: Queue | null = null;
  return {
    get(installationId, repo, taskIds) {
      if (queue === null) {
        queue = new Queue(TASK_QUEUE, { prefix, connection: redis });
        queue.on('error', () => {});
      }
      return getScheduledTasks({ queue }, installationId, repo, taskIds);
    },
  };
}
