import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RunOutcome } from '../domain/run-outcome.js';
import type { RepoRef } from '../domain/task.js';
import { keyPrefix, repoSlug } from './queue-names.js';

/**
 * The last run of each maintenance task, for the dashboard issue (issue 15, item 6).
 * Written by the task worker when a maintenance job ends (src/queue/task-worker.ts),
 * from the outcome its processor returned, so no flow has to remember to report it.
 * Key `<prefix>:pw:maintenance-runs:<inst>/<owner>/<repo>` (hash: task id → JSON), 90 days.
 */
const TTL_SECONDS = 90 * 24 * 60 * 60;

export const MaintenanceRun = z.object({
  /** `queued` after a "run now" tick, `running` while a job is at it; then how it ended. */
  outcome: z.union([RunOutcome, z.literal('queued'), z.literal('running')]),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  jobId: z.string().max(500),
  prNumber: z.number().int().positive().optional(),
  prUrl: z.string().url().max(2_000).optional(),
  /** Short reason (a skip, a refusal, the failure's message), plain text. */
  reason: z.string().max(500).optional(),
  /** Who ticked "run now", when it was not the schedule. */
  requestedBy: z.string().max(100).optional(),
});
export type MaintenanceRun = z.infer<typeof MaintenanceRun>;

export interface MaintenanceRuns {
  record(installationId: number, repo: RepoRef, taskId: string, run: MaintenanceRun): Promise<void>;
  /** The last run of each task that has one. */
  lastRuns(installationId: number, repo: RepoRef): Promise<Map<string, MaintenanceRun>>;
}

export function createMaintenanceRuns(redis: Redis, prefix: string): MaintenanceRuns {
  const key = (installationId: number, repo: RepoRef) =>
    `${keyPrefix(prefix)}:maintenance-runs:${installationId}/${repoSlug(repo)}`;
  return {
    async record(installationId, repo, taskId, run) {
      const k = key(installationId, repo);
      await redis
        .multi()
        .hset(k, taskId, JSON.stringify(MaintenanceRun.parse(run)))
        .expire(k, TTL_SECONDS)
        .exec();
    },
    async lastRuns(installationId, repo) {
      const raw = await redis.hgetall(key(installationId, repo));
      const runs = new Map<string, MaintenanceRun>();
      for (const [taskId, json] of Object.entries(raw)) {
        try {
          const parsed = MaintenanceRun.safeParse(JSON.parse(json));
          if (parsed.success) runs.set(taskId, parsed.data);
        } catch {
          // A value not written by record(): ignored, as if the task had never run.
        }
      }
      return runs;
    },
  };
}
