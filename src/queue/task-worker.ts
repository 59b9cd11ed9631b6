import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AbortReason, abortReasonOf } from '../domain/abort-reason.js';
import { RunOutcome } from '../domain/run-outcome.js';
import type { MaintenanceTask, Task } from '../domain/task.js';
import { PullwrightError, toPullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import { clearCancelIntent, findCancelIntent, subscribeToCancels } from './cancel-intents.js';
import { parseJobData } from './job-data.js';
import { toJobFailure } from './job-outcome.js';
import { createMaintenanceRuns, type MaintenanceRun } from './maintenance-runs.js';
import { TASK_QUEUE } from './queue-names.js';
import { bullConnection, type RedisTarget, targetOf } from './redis-connection.js';
import { acquireSlot, releaseSlot, renewSlot, type SlotLimits } from './slots.js';

/**
 * The consuming side of the task queue, for worker processes. It owns every
 * BullMQ detail the worker needs: parsing job data on dequeue, the per-repo and
 * per-installation slots (a job over the limit goes back to delayed, without
 * using an attempt), cancel intents turned into the job's abort signal, graceful
 * shutdown, and mapping failures to retry or give-up.
 *
 * The abort signal is BullMQ's own (the processor's third argument); this module
 * only decides when it fires and with which `AbortReason`.
 */
export interface TaskContext {
  jobId: string;
  attempt: number;
  finalAttempt: boolean;
  /**
   * Aborted with an `AbortReason` (read it with `abortReasonOf`): `cancel` on a cancel intent,
   * `shutdown` at the end of a shutdown grace period, `lockLost` when the job's BullMQ lock or
   * its concurrency slot could not be renewed (another worker may be running it now).
   */
  signal: AbortSignal;
  log: Logger;
}

export interface TaskWorkerOptions {
  /** Where BullMQ's own connections go (a URL, or Sentinel); `redisUrl` is the older spelling of a URL target. */
  redisTarget?: RedisTarget;
  redisUrl?: string;
  prefix: string;
  /** Our own commands (slots, cancel keys); not closed here. */
  redis: Redis;
  /** A dedicated connection for the cancel channel (subscribe mode); closed here. */
  subscriber: Redis;
  concurrency: number;
  limits: Omit<SlotLimits, 'ttlMs'>;
  /** How long a job's lock lives without renewal; a dead worker's job is taken over after it. */
  lockDurationMs?: number;
  /** How long a concurrency slot lives without renewal (renewed every quarter of it); tests shorten it. */
  slotTtlMs?: number;
  log: Logger;
  process(task: Task, ctx: TaskContext): Promise<unknown>;
  /**
   * After a maintenance job's run is recorded (src/queue/maintenance-runs.ts): the worker
   * runtime refreshes the repository's dashboard issue here. Errors are logged, never thrown.
   */
  afterMaintenanceRun?(task: MaintenanceTask, run: MaintenanceRun): Promise<void>;
}

/** What a processor's result says about the run, when it says it (the flows' `FlowOutcome`). */
const ProcessedRun = z.object({
  status: RunOutcome,
  prNumber: z.number().int().positive().optional(),
  prUrl: z.string().url().max(2_000).optional().catch(undefined),
  reason: z.string().optional(),
});

export interface TaskWorker {
  /** Stops taking jobs; running ones get `graceMs` to finish, then are aborted and left for a retry. */
  close(graceMs: number): Promise<void>;
  readonly running: number;
}

const SLOT_TTL_MS = 120_000;
const SLOT_RETRY_MS = 5_000;

export async function startTaskWorker(options: TaskWorkerOptions): Promise<TaskWorker> {
  const slotTtlMs = options.slotTtlMs ?? SLOT_TTL_MS;
  const maintenanceRuns = createMaintenanceRuns(options.redis, options.prefix);
  let running = 0;

  /** The dashboard's "last run": recorded here so every maintenance job reports it, whatever its flow. */
  async function recordMaintenance(task: Task, run: MaintenanceRun, log: Logger): Promise<void> {
    if (task.kind !== 'maintenance') return;
    try {
      await maintenanceRuns.record(task.installationId, task.repo, task.maintenanceTaskId, run);
      if (run.outcome !== 'running') await options.afterMaintenanceRun?.(task, run);
    } catch (err) {
      log.warn({ err, taskId: task.maintenanceTaskId }, 'Maintenance run not recorded');
    }
  }
  // BullMQ aborts the signal it handed the job's processor (the worker is made below).
  const abortJob = (jobId: string, reason: AbortReason) => worker.cancelJob(jobId, reason);

  // BullMQ hands a signal only to a processor that declares three parameters.
  const processor = async (job: Job, token: string | undefined, signal: AbortSignal | undefined) => {
    const jobId = job.id ?? 'unknown';
    const log = options.log.child({ jobId, kind: job.name });
    if (!signal) throw new PullwrightError('internal', 'BullMQ gave the processor no abort signal');
    const task = parseJobData(job.data);
    const lease = await acquireSlot(
      options.redis,
      options.prefix,
      { installationId: task.installationId, repo: task.repo },
      { ...options.limits, ttlMs: slotTtlMs },
    );
    if (!lease) {
      // At the repo's or installation's limit: wait without spending an attempt.
      log.info({ repo: `${task.repo.owner}/${task.repo.name}` }, 'Job waits for a concurrency slot');
      await job.moveToDelayed(Date.now() + SLOT_RETRY_MS, token);
      throw new DelayedError();
    }
    running++;
    const renew = setInterval(() => {
      renewSlot(options.redis, options.prefix, lease, slotTtlMs)
        .then((held) => {
          // The lease expired (a stall longer than its TTL, a Redis failover): another job may
          // hold the slot now, so going on would exceed the repo's concurrency limit unseen.
          if (held || signal.aborted) return;
          log.warn({ repo: `${task.repo.owner}/${task.repo.name}` }, 'Concurrency slot lost: job stops');
          abortJob(jobId, AbortReason.lockLost);
        })
        .catch(() => {});
      // Covers a cancel published while this worker was not subscribed.
      findCancelIntent(options.redis, options.prefix, jobId)
        .then((intent) => intent && abortJob(jobId, AbortReason.cancel))
        .catch(() => {});
    }, slotTtlMs / 4);
    const startedAt = new Date().toISOString();
    const requestedBy =
      task.kind === 'maintenance' && task.trigger.source === 'follow-up'
        ? { requestedBy: task.trigger.actor }
        : {};
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    try {
      await recordMaintenance(task, { outcome: 'running', startedAt, jobId, ...requestedBy }, log);
      if (await findCancelIntent(options.redis, options.prefix, jobId)) abortJob(jobId, AbortReason.cancel);
      const result = await options.process(task, {
        jobId,
        attempt,
        finalAttempt: attempt >= maxAttempts,
        signal,
        log,
      });
      const processed = ProcessedRun.safeParse(result);
      await recordMaintenance(
        task,
        {
          outcome: processed.success ? processed.data.status : 'succeeded',
          startedAt,
          finishedAt: new Date().toISOString(),
          jobId,
          ...requestedBy,
          ...(processed.success && processed.data.prNumber ? { prNumber: processed.data.prNumber } : {}),
          ...(processed.success && processed.data.prUrl ? { prUrl: processed.data.prUrl } : {}),
          ...(processed.success && processed.data.reason
            ? { reason: processed.data.reason.slice(0, 500) }
            : {}),
        },
        log,
      );
      return result;
    } catch (err) {
      const failure = toPullwrightError(err);
      await recordMaintenance(
        task,
        {
          outcome: failure.code === 'cancelled' ? 'cancelled' : 'failed',
          startedAt,
          finishedAt: new Date().toISOString(),
          jobId,
          ...requestedBy,
          reason: (failure.retryable && attempt < maxAttempts
            ? `${failure.code}, will retry`
            : failure.code
          ).slice(0, 500),
        },
        log,
      );
      const reason = abortReasonOf(signal);
      if (reason === AbortReason.shutdown || reason === AbortReason.lockLost) {
        // Not the job's fault: let another worker (or this one, restarted) run it again.
        throw new PullwrightError(
          'upstream_unavailable',
          reason === AbortReason.shutdown
            ? 'The worker shut down during the run.'
            : 'The job lost its lock or concurrency slot during the run.',
          { retryable: true, cause: err },
        );
      }
      throw toJobFailure(err);
    } finally {
      running--;
      clearInterval(renew);
      await clearCancelIntent(options.redis, options.prefix, jobId).catch(() => {});
      await releaseSlot(options.redis, options.prefix, lease).catch(() => {});
    }
  };

  // Started only once the cancel channel is subscribed, so no cancel published after a job starts is missed.
  const worker = new Worker(TASK_QUEUE, processor, {
    prefix: options.prefix,
    connection: bullConnection(targetOf(options), { maxRetriesPerRequest: null }),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: Math.max(1_000, Math.floor((options.lockDurationMs ?? 30_000) / 2)),
    maxStalledCount: 2,
    autorun: false,
  });
  worker.on('error', (err) => options.log.warn({ err }, 'Queue worker error'));
  worker.on('failed', (job, err) =>
    options.log.warn({ jobId: job?.id, err, attemptsMade: job?.attemptsMade }, 'Job failed'),
  );
  worker.on('completed', (job) => options.log.info({ jobId: job.id }, 'Job completed'));
  // BullMQ could not extend these jobs' locks: they will be taken as stalled and run elsewhere.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) {
      options.log.warn({ jobId }, 'Job lock lost: job stops');
      abortJob(jobId, AbortReason.lockLost);
    }
  });

  let unsubscribe: () => Promise<void>;
  try {
    unsubscribe = await subscribeToCancels(options.subscriber, options.prefix, (intent) => {
      abortJob(intent.jobId, AbortReason.cancel);
    });
  } catch (err) {
    await worker.close();
    throw err;
  }
  worker.run().catch((err: unknown) => options.log.error({ err }, 'Queue worker stopped'));

  return {
    get running() {
      return running;
    },
    async close(graceMs) {
      const closing = worker.close();
      const timer = setTimeout(() => worker.cancelAllJobs(AbortReason.shutdown), graceMs);
      try {
        await closing;
      } finally {
        clearTimeout(timer);
        await unsubscribe().catch(() => {});
        options.subscriber.disconnect();
      }
    },
  };
}
