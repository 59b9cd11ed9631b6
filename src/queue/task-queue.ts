import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Task } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import { requestCancel } from './cancel-intents.js';
import type { CancelIntent } from './job-data.js';
import { TASK_ATTEMPTS, TASK_BACKOFF } from './job-outcome.js';
import { FINISHED_JOB_RETENTION } from './job-retention.js';
import { TASK_QUEUE, type Target, targetDedupId, targetId, taskJobId } from './queue-names.js';

export interface TaskQueueOptions {
  /** BullMQ key prefix (QUEUE_PREFIX); tests use their own. */
  prefix: string;
  /**
   * The queue's connection and our own commands (cancel intents); the caller's,
   * not closed here. The app passes its producer connection (producer-connection.ts).
   */
  redis: Redis;
}

export type EnqueueResult =
  | { status: 'enqueued'; jobId: string }
  /** Another job for the same issue or PR is waiting, delayed or running. */
  | { status: 'duplicate'; jobId: string }
  /**
   * A follow-up whose PR has a running job: BullMQ keeps it (the latest one) and adds it
   * when that job finishes, so it never runs beside another job on the same PR.
   */
  | { status: 'deferred'; jobId: string; runningJobId: string };

export interface EnqueueOptions {
  deliveryId: string;
  debounceMs?: number;
  /**
   * A follow-up the app queued by itself (CI repair, branch update): delayed by `delayMs`,
   * and kept for later when a job on the same PR is running (a repair of the head the
   * running job just pushed must not be lost because that job is still reporting).
   */
  followUp?: { delayMs?: number };
}

export type CancelResult =
  | { status: 'removed'; jobId: string }
  | { status: 'signalled'; jobId: string }
  | { status: 'none' };

const REMOVABLE = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

export interface TaskQueue {
  readonly queue: Queue;
  readonly prefix: string;
  /**
   * Adds the task unless a job for the same issue or PR is still live.
   * `debounceMs` makes it a delayed job whose delay restarts with each new call
   * while it is still delayed (a burst of review comments becomes one job).
   */
  enqueueTask(task: Task, options: EnqueueOptions): Promise<EnqueueResult>;
  /** Removes a queued job for the target, or records a cancel intent for a running one. */
  cancelTarget(target: Target, reason: CancelIntent['reason'], actor?: string): Promise<CancelResult>;
  /** Waiting + delayed + active + prioritized jobs, for /metrics. */
  depth(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export function createTaskQueue(options: TaskQueueOptions): TaskQueue {
  const queue = new Queue(TASK_QUEUE, {
    prefix: options.prefix,
    connection: options.redis,
    defaultJobOptions: { attempts: TASK_ATTEMPTS, backoff: TASK_BACKOFF, ...FINISHED_JOB_RETENTION },
  });
  // Connection errors surface on each call; without a listener they would crash the process.
  queue.on('error', () => {});

  return {
    queue,
    prefix: options.prefix,

    async enqueueTask(input, { deliveryId, debounceMs, followUp }) {
      const parsed = Task.safeParse(input);
      if (!parsed.success) {
        throw new PullwrightError('input_invalid', 'Task does not match the schema', {
          retryable: false,
          details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        });
      }
      const task = parsed.data;
      const target =
        task.kind === 'maintenance'
          ? `${task.installationId}/${task.repo.owner}/${task.repo.name}`.toLowerCase() +
            `~${task.maintenanceTaskId}`
          : targetId({ installationId: task.installationId, repo: task.repo, number: task.number });
      const jobId = taskJobId(task.kind, target, deliveryId);
      const job = await queue.add(task.kind, task, {
        jobId,
        delay: followUp ? followUp.delayMs || undefined : debounceMs,
        deduplication: {
          id: targetDedupId(target),
          ...(followUp ? { keepLastIfActive: true } : debounceMs ? { reschedule: true } : {}),
        },
      });
      if (job.id === undefined) throw new PullwrightError('internal', 'BullMQ returned a job without an id');
      if (job.id === jobId) return { status: 'enqueued', jobId };
      if (followUp) {
        // BullMQ answers with the live job either way; only a running one keeps ours for later,
        // and adds it when it finishes (which may already have happened: then ours exists).
        const state = await (await queue.getJob(job.id))?.getState();
        if (state === 'active') return { status: 'deferred', jobId, runningJobId: job.id };
        if (await queue.getJob(jobId)) return { status: 'enqueued', jobId };
      }
      return { status: 'duplicate', jobId: job.id };
    },

    async cancelTarget(target, reason, actor) {
      const id = targetId(target);
      const jobId = await queue.getDeduplicationJobId(targetDedupId(id));
      if (!jobId) return { status: 'none' };
      const job: Job | undefined = await queue.getJob(jobId);
      if (!job) return { status: 'none' };
      const state = await job.getState();
      if (REMOVABLE.has(state)) {
        try {
          await job.remove();
          return { status: 'removed', jobId };
        } catch {
          // Taken by a worker between getState and remove: it is running now, so signal it.
        }
      } else if (state !== 'active') {
        return { status: 'none' };
      }
      await requestCancel(options.redis, options.prefix, {
        jobId,
        target: id,
        reason,
        actor,
        requestedAt: new Date().toISOString(),
      });
      return { status: 'signalled', jobId };
    },

    async depth() {
      return queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed');
    },

    async close() {
      await queue.close();
    },
  };
}
