import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import { withJobOutcome } from './job-outcome.js';
import { FINISHED_JOB_RETENTION } from './job-retention.js';
import { bullConnection, type RedisTarget, targetOf } from './redis-connection.js';

/**
 * Deliveries the app could not handle because GitHub could not answer (a
 * permission or config lookup failed through its retries), kept in Redis and
 * handled again later by the app itself.
 *
 * Why: GitHub does not redeliver a failed webhook on its own, so answering 5xx
 * during a GitHub outage lost the trigger unless someone redelivered it by
 * hand. A parked delivery is answered 200 once it is safely in Redis, and a
 * BullMQ worker in the app replays it with exponential backoff for hours. Only
 * the fields the handlers read are kept (the handler's own zod parse), never
 * the raw payload, and the replay parses them again.
 */
export const PARKED_QUEUE = 'parked-deliveries';

export const ParkedDelivery = z.object({
  /** `issue_comment.created`: which handler replays it. */
  event: z.string().min(1).max(100),
  deliveryId: z.string().min(1).max(200),
  name: z.string().min(1).max(100),
  payload: z.unknown(),
  parkedAt: z.iso.datetime(),
  reason: z.string().max(500),
});
export type ParkedDelivery = z.infer<typeof ParkedDelivery>;

/** 10 attempts from 30 s doubling: a trigger waits out about eight hours of GitHub trouble. */
export const PARKED_ATTEMPTS = 10;
export const PARKED_BACKOFF_MS = 30_000;

export interface ParkedDeliveriesOptions {
  /** For the replaying worker's own (blocking) connection: a URL, or Sentinel (`redisTarget` wins). */
  redisTarget?: RedisTarget;
  redisUrl?: string;
  /** Parking adds on the caller's producer connection; not closed here. */
  redis: Redis;
  prefix: string;
  /** Handles the delivery again; throws a retryable error while GitHub is still away. */
  replay(delivery: ParkedDelivery, log: Logger): Promise<void>;
  log: Logger;
  /** First retry delay (tests use a short one). */
  backoffMs?: number;
  attempts?: number;
}

export interface ParkedDeliveries {
  /** For the operator dashboard (read only). */
  readonly queue: Queue;
  park(delivery: ParkedDelivery): Promise<void>;
  /** Parked deliveries not yet handled, for /metrics. */
  pending(): Promise<number>;
  close(): Promise<void>;
}

export function createParkedDeliveries(options: ParkedDeliveriesOptions): ParkedDeliveries {
  const backoffMs = options.backoffMs ?? PARKED_BACKOFF_MS;
  const queue = new Queue(PARKED_QUEUE, {
    prefix: options.prefix,
    connection: options.redis,
    defaultJobOptions: {
      attempts: options.attempts ?? PARKED_ATTEMPTS,
      backoff: { type: 'exponential', delay: backoffMs },
      ...FINISHED_JOB_RETENTION,
    },
  });
  queue.on('error', () => {});

  const processor = withJobOutcome(async (job: Job) => {
    const parsed = ParkedDelivery.safeParse(job.data);
    if (!parsed.success) {
      throw new PullwrightError('input_invalid', 'Parked delivery does not match the schema', {
        retryable: false,
      });
    }
    const log = options.log.child({
      deliveryId: parsed.data.deliveryId,
      event: parsed.data.event,
      attempt: job.attemptsMade + 1,
    });
    await options.replay(parsed.data, log);
  });
  const worker = new Worker(PARKED_QUEUE, processor, {
    prefix: options.prefix,
    connection: bullConnection(targetOf(options), { maxRetriesPerRequest: null }),
    concurrency: 4,
  });
  worker.on('error', (err) =>
    options.log.warn({ err: { message: err.message } }, 'Parked-delivery worker error'),
  );
  worker.on('failed', (job, err) => {
    const final = err.name === 'UnrecoverableError' || (job?.attemptsMade ?? 0) >= (job?.opts.attempts ?? 1);
    const fields = {
      deliveryId: job?.data?.deliveryId,
      event: job?.data?.event,
      attempts: job?.attemptsMade,
      err: { message: err.message },
    };
    if (final) options.log.error(fields, 'Parked delivery given up');
    else options.log.warn(fields, 'Parked delivery still failing; retrying later');
  });

  return {
    queue,
    async park(delivery) {
      const entry = ParkedDelivery.parse(delivery);
      // The delivery id as job id: parking the same delivery twice keeps one.
      await queue.add(entry.event, entry, {
        jobId: `delivery~${entry.deliveryId.replace(/[^A-Za-z0-9-]/g, '')}`,
        delay: backoffMs,
      });
    },
    async pending() {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      // Replays are short and a replay cut off is simply run again (idempotent), so
      // shutting down does not wait for them.
      await Promise.all([worker.close(true), queue.close()]);
    },
  };
}
