import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortReason, abortReasonOf } from '../../src/domain/abort-reason.js';
import type { TargetTask } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/logger.js';
import { keyPrefix } from '../../src/queue/queue-names.js';
import { createTaskQueue, type TaskQueue } from '../../src/queue/task-queue.js';
import { startTaskWorker, type TaskContext, type TaskWorker } from '../../src/queue/task-worker.js';
import { connectRedis, deletePrefix, REDIS_URL, uniquePrefix } from './redis-helpers.js';

const repo = { owner: 'octo', name: 'hello' };

function task(number: number): TargetTask {
  return {
    kind: 'implement',
    installationId: 42,
    repo,
    number,
    trigger: { actor: 'alice', source: 'assignment' },
    requestedAt: new Date().toISOString(),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 5_000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A run that holds its job until its signal fires, and records why. */
function blockingRun() {
  const started: TaskContext[] = [];
  const reasons = new Map<string, string | undefined>();
  const process = (_task: unknown, ctx: TaskContext) => {
    started.push(ctx);
    return new Promise<never>((_, reject) => {
      ctx.signal.addEventListener('abort', () => {
        reasons.set(ctx.jobId, abortReasonOf(ctx.signal));
        reject(new Error('aborted'));
      });
    });
  };
  return { started, reasons, process };
}

describe('task worker (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let tq: TaskQueue;
  let worker: TaskWorker | undefined;

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('tw');
    tq = createTaskQueue({ prefix, redis });
  });
  afterEach(async () => {
    await worker?.close(0);
    worker = undefined;
    await tq.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const start = async (
    process: (task: unknown, ctx: TaskContext) => Promise<unknown>,
    extra: { lockDurationMs?: number; slotTtlMs?: number } = {},
  ) => {
    worker = await startTaskWorker({
      redisUrl: REDIS_URL,
      prefix,
      redis,
      subscriber: connectRedis(),
      concurrency: 2,
      limits: { perRepo: 1, perInstallation: 5 },
      log: createSilentLogger(),
      process,
      ...extra,
    });
    return worker;
  };

  it('aborts a running job with AbortReason.cancel when someone asks to stop it', async () => {
    const run = blockingRun();
    await start(run.process);
    const { jobId } = await tq.enqueueTask(task(1), { deliveryId: 'd-1' });
    await waitFor('the job to start', () => run.started.length === 1);
    expect(worker?.running).toBe(1);
    expect(await tq.cancelTarget({ installationId: 42, repo, number: 1 }, 'stop-comment', 'alice')).toEqual({
      status: 'signalled',
      jobId,
    });
    expect(await waitFor('the abort', () => run.reasons.get(jobId))).toBe(AbortReason.cancel);
    // A person's stop is final: the job fails for good instead of running again.
    await waitFor('the job to fail', async () => (await tq.queue.getJob(jobId))?.finishedOn);
    expect(await (await tq.queue.getJob(jobId))?.getState()).toBe('failed');
    expect(worker?.running).toBe(0);
  });

  it('aborts running jobs with AbortReason.shutdown after the grace period and leaves them for a retry', async () => {
    const run = blockingRun();
    const w = await start(run.process);
    const { jobId } = await tq.enqueueTask(task(2), { deliveryId: 'd-2' });
    await waitFor('the job to start', () => run.started.length === 1);
    await w.close(100);
    worker = undefined;
    expect(run.reasons.get(jobId)).toBe(AbortReason.shutdown);
    const job = await tq.queue.getJob(jobId);
    expect(['delayed', 'waiting', 'wait']).toContain(await job?.getState());
  });

  // Bug (issue 13): renewSlot returning false was ignored, so a job whose slot had expired
  // went on running while another job of the same repo took the slot.
  it('aborts a job with AbortReason.lockLost when its concurrency slot cannot be renewed', async () => {
    const run = blockingRun();
    await start(run.process, { slotTtlMs: 400 });
    const { jobId } = await tq.enqueueTask(task(3), { deliveryId: 'd-3' });
    await waitFor('the job to start', () => run.started.length === 1);
    // The lease is gone (it expired during a stall, or a Redis failover lost it).
    await redis.del(
      `${keyPrefix(prefix)}:slots:repo:octo/hello`,
      `${keyPrefix(prefix)}:slots:installation:42`,
    );
    expect(await waitFor('the abort', () => run.reasons.get(jobId), 3_000)).toBe(AbortReason.lockLost);
    // Not the job's fault: it is retried rather than failed for good.
    await waitFor('the job to leave active', async () => {
      const state = await (await tq.queue.getJob(jobId))?.getState();
      return state !== 'active' ? state : undefined;
    });
    expect(await (await tq.queue.getJob(jobId))?.getState()).toBe('delayed');
  });

  it("aborts a job with AbortReason.lockLost when BullMQ cannot renew the job's lock", async () => {
    const run = blockingRun();
    await start(run.process, { lockDurationMs: 600 });
    const { jobId } = await tq.enqueueTask(task(4), { deliveryId: 'd-4' });
    await waitFor('the job to start', () => run.started.length === 1);
    // Another worker took the job over (a stall past the lock's life): our lock is gone.
    await redis.del(`${prefix}:tasks:${jobId}:lock`);
    expect(await waitFor('the abort', () => run.reasons.get(jobId), 3_000)).toBe(AbortReason.lockLost);
  });
});
