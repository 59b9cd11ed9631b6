import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Task } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import { clearCancelIntent, findCancelIntent, subscribeToCancels } from './cancel-intents.js';
import { parseJobData } from './job-data.js';
import { toJobFailure } from './job-outcome.js';
import { TASK_QUEUE } from './queue-names.js';
import { acquireSlot, releaseSlot, renewSlot, type SlotLimits } from './slots.js';

/**
 * The consuming side of the task queue, for worker processes. It owns every
 * BullMQ detail the worker needs: parsing job data on dequeue, the per-repo and
 * per-installation slots (a job over the limit goes back to delayed, without
 * using an attempt), cancel intents turned into an AbortSignal, graceful
 * shutdown, and mapping failures to retry or give-up.
 */
export interface TaskContext {
  jobId: string;
  attempt: number;
  finalAttempt: boolean;
  /** Aborted on a cancel intent (reason 'cancel') or at the end of a shutdown grace period (reason 'shutdown'). */
  signal: AbortSignal;
  log: Logger;
}

export interface TaskWorkerOptions {
  redisUrl: string;
  prefix: string;
  /** Our own commands (slots, cancel keys); not closed here. */
  redis: Redis;
  /** A dedicated connection for the cancel channel (subscribe mode); closed here. */
  subscriber: Redis;
  concurrency: number;
  limits: Omit<SlotLimits, 'ttlMs'>;
  /** How long a job's lock lives without renewal; a dead worker's job is taken over after it. */
  lockDurationMs?: number;
  log: Logger;
  process(task: Task, ctx: TaskContext): Promise<unknown>;
}

export interface TaskWorker {
  /** Stops taking jobs; running ones get `graceMs` to finish, then are aborted and left for a retry. */
  close(graceMs: number): Promise<void>;
  readonly running: number;
}

const SLOT_TTL_MS = 120_000;
const SLOT_RETRY_MS = 5_000;

export async function startTaskWorker(options: TaskWorkerOptions): Promise<TaskWorker> {
  const controllers = new Map<string, AbortController>();
  const unsubscribe = await subscribeToCancels(options.subscriber, options.prefix, (intent) => {
    controllers.get(intent.jobId)?.abort('cancel');
  });

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const jobId = job.id ?? 'unknown';
    const log = options.log.child({ jobId, kind: job.name });
    const task = parseJobData(job.data);
    const lease = await acquireSlot(
      options.redis,
      options.prefix,
      { installationId: task.installationId, repo: task.repo },
      { ...options.limits, ttlMs: SLOT_TTL_MS },
    );
    if (!lease) {
      // At the repo's or installation's limit: wait without spending an attempt.
      log.info({ repo: `${task.repo.owner}/${task.repo.name}` }, 'Job waits for a concurrency slot');
      await job.moveToDelayed(Date.now() + SLOT_RETRY_MS, token);
      throw new DelayedError();
    }
    const controller = new AbortController();
    controllers.set(jobId, controller);
    const renew = setInterval(() => {
      renewSlot(options.redis, options.prefix, lease, SLOT_TTL_MS).catch(() => {});
      // Covers a cancel published while this worker was not subscribed.
      findCancelIntent(options.redis, options.prefix, jobId)
        .then((intent) => intent && controller.abort('cancel'))
        .catch(() => {});
    }, SLOT_TTL_MS / 4);
    try {
      if (await findCancelIntent(options.redis, options.prefix, jobId)) controller.abort('cancel');
      const attempt = job.attemptsMade + 1;
      const maxAttempts = job.opts.attempts ?? 1;
      return await options.process(task, {
        jobId,
        attempt,
        finalAttempt: attempt >= maxAttempts,
        signal: controller.signal,
        log,
      });
    } catch (err) {
      if (controller.signal.reason === 'shutdown') {
        // Not the job's fault: let another worker (or this one, restarted) run it again.
        throw new PullwrightError('upstream_unavailable', 'The worker shut down during the run.', {
          retryable: true,
          cause: err,
        });
      }
      throw toJobFailure(err);
    } finally {
      clearInterval(renew);
      controllers.delete(jobId);
      await clearCancelIntent(options.redis, options.prefix, jobId).catch(() => {});
      await releaseSlot(options.redis, options.prefix, lease).catch(() => {});
    }
  };

  const worker = new Worker(TASK_QUEUE, processor, {
    prefix: options.prefix,
    connection: { url: options.redisUrl, maxRetriesPerRequest: null },
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: Math.max(1_000, Math.floor((options.lockDurationMs ?? 30_000) / 2)),
    maxStalledCount: 2,
  });
  worker.on('error', (err) => options.log.warn({ err }, 'Queue worker error'));
  worker.on('failed', (job, err) =>
    options.log.warn({ jobId: job?.id, err, attemptsMade: job?.attemptsMade }, 'Job failed'),
  );
  worker.on('completed', (job) => options.log.info({ jobId: job.id }, 'Job completed'));

  return {
    get running() {
      return controllers.size;
    },
    async close(graceMs) {
      const closing = worker.close();
      const timer = setTimeout(() => {
        for (const controller of controllers.values()) controller.abort('shutdown');
      }, graceMs);
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
