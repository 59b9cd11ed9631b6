import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetTask, Task } from '../../src/domain/task.js';
import { PullwrightError } from '../../src/errors.js';
import { cancelChannel, findCancelIntent, subscribeToCancels } from '../../src/queue/cancel-intents.js';
import { parseJobData } from '../../src/queue/job-data.js';
import { toJobFailure } from '../../src/queue/job-outcome.js';
import { createProducerConnection } from '../../src/queue/producer-connection.js';
import { TASK_QUEUE } from '../../src/queue/queue-names.js';
import { createTaskQueue, type TaskQueue } from '../../src/queue/task-queue.js';
import { connectRedis, deletePrefix, REDIS_URL, uniquePrefix } from './redis-helpers.js';

const repo = { owner: 'Octo', name: 'Hello' };

function task(overrides: Partial<TargetTask> = {}): TargetTask {
  return {
    kind: 'implement',
    installationId: 42,
    repo,
    number: 7,
    trigger: { actor: 'alice', source: 'issue_comment', commentId: 1, instruction: 'do it' },
    requestedAt: new Date().toISOString(),
    ...overrides,
  };
}

describe('task queue (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let tq: TaskQueue;
  const workers: Worker[] = [];

  beforeEach(async () => {
    // The app's own connection (fail-fast, coalesced writes), so BullMQ runs over it here too.
    redis = createProducerConnection(REDIS_URL);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    prefix = uniquePrefix('tq');
    tq = createTaskQueue({ prefix, redis });
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close(true);
    await tq.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('enqueues a parsed task with a deterministic id and no colon', async () => {
    const result = await tq.enqueueTask(task(), { deliveryId: 'd-1' });
    expect(result).toEqual({ status: 'enqueued', jobId: 'implement~42/octo/hello#7~d-1' });
    const job = await tq.queue.getJob(result.jobId);
    expect(job?.name).toBe('implement');
    expect(parseJobData(job?.data)).toEqual(task({ requestedAt: job?.data.requestedAt }));
    expect(await job?.getState()).toBe('waiting');
  });

  it('keeps one live job per issue: redelivery, double assignment and quick re-asks are duplicates', async () => {
    const first = await tq.enqueueTask(task(), { deliveryId: 'd-1' });
    const redelivered = await tq.enqueueTask(task(), { deliveryId: 'd-1' });
    const again = await tq.enqueueTask(task({ trigger: { actor: 'bob', source: 'assignment' } }), {
      deliveryId: 'd-2',
    });
    expect(first.status).toBe('enqueued');
    expect(redelivered.jobId).toBe(first.jobId);
    expect(again).toEqual({ status: 'duplicate', jobId: first.jobId });
    expect(await tq.queue.getJobCountByTypes('waiting')).toBe(1);
    // Another issue is independent.
    expect((await tq.enqueueTask(task({ number: 8 }), { deliveryId: 'd-3' })).status).toBe('enqueued');
  });

  it('lets a later re-ask through once the earlier job finished', async () => {
    const done = new Promise<void>((resolve) => {
      const worker = new Worker(TASK_QUEUE, async () => 'ok', {
        prefix,
        connection: { url: REDIS_URL, maxRetriesPerRequest: null },
      });
      worker.on('completed', () => resolve());
      workers.push(worker);
    });
    await tq.enqueueTask(task(), { deliveryId: 'd-1' });
    await done;
    const later = await tq.enqueueTask(task(), { deliveryId: 'd-2' });
    expect(later).toEqual({ status: 'enqueued', jobId: 'implement~42/octo/hello#7~d-2' });
  });

  it('debounces: each new call restarts the delay of the one delayed job', async () => {
    const review = task({ kind: 'address-review', trigger: { actor: 'alice', source: 'review_comment' } });
    const first = await tq.enqueueTask(review, { deliveryId: 'r-1', debounceMs: 60_000 });
    const job1 = await tq.queue.getJob(first.jobId);
    const firstRun = (job1?.timestamp ?? 0) + (job1?.delay ?? 0);
    await new Promise((r) => setTimeout(r, 30));
    const second = await tq.enqueueTask(review, { deliveryId: 'r-2', debounceMs: 60_000 });
    expect(second).toEqual({ status: 'duplicate', jobId: first.jobId });
    expect(await tq.queue.getJobCountByTypes('delayed')).toBe(1);
    const score = Number(await redis.zscore(`${prefix}:${TASK_QUEUE}:delayed`, first.jobId));
    // BullMQ stores the run time in the score's high bits (ms * 4096).
    expect(Math.floor(score / 4096)).toBeGreaterThan(firstRun);
  });

  it('cancels a waiting job by removing it and frees the target', async () => {
    const first = await tq.enqueueTask(task(), { deliveryId: 'd-1' });
    expect(await tq.cancelTarget({ installationId: 42, repo, number: 7 }, 'stop-comment', 'alice')).toEqual({
      status: 'removed',
      jobId: first.jobId,
    });
    expect(await tq.queue.getJob(first.jobId)).toBeUndefined();
    expect(await tq.cancelTarget({ installationId: 42, repo, number: 7 }, 'closed')).toEqual({
      status: 'none',
    });
    expect((await tq.enqueueTask(task(), { deliveryId: 'd-2' })).status).toBe('enqueued');
  });

  it('records a cancel intent (key and pub/sub) for a running job', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const started = new Promise<void>((resolve) => {
      const worker = new Worker(
        TASK_QUEUE,
        async () => {
          resolve();
          await held;
        },
        { prefix, connection: { url: REDIS_URL, maxRetriesPerRequest: null } },
      );
      workers.push(worker);
    });
    const subscriber = connectRedis();
    const heard: string[] = [];
    const unsubscribe = await subscribeToCancels(subscriber, prefix, (intent) => heard.push(intent.jobId));
    try {
      const { jobId } = await tq.enqueueTask(task(), { deliveryId: 'd-1' });
      await started;
      const result = await tq.cancelTarget({ installationId: 42, repo, number: 7 }, 'unassigned', 'alice');
      expect(result).toEqual({ status: 'signalled', jobId });
      const intent = await findCancelIntent(redis, prefix, jobId);
      expect(intent).toMatchObject({
        jobId,
        reason: 'unassigned',
        actor: 'alice',
        target: '42/octo/hello#7',
      });
      await expect.poll(() => heard).toEqual([jobId]);
      expect(cancelChannel(prefix)).toBe(`${prefix}:pw:cancel`);
    } finally {
      release();
      await unsubscribe();
      subscriber.disconnect();
    }
  });

  it('refuses task data that does not match the schema, on enqueue and on dequeue', async () => {
    await expect(
      tq.enqueueTask({ ...task(), installationId: -1 } as Task, { deliveryId: 'd-1' }),
    ).rejects.toMatchObject({ code: 'input_invalid' });
    expect(() => parseJobData({ kind: 'implement' })).toThrow(PullwrightError);
  });

  // Issue 14: a job written straight into Redis with `source: schedule` must not pass as
  // a scheduled run (the worker re-checks the requester of every other kind).
  it('refuses a forged job: a schedule trigger on a person kind, or a maintenance job without a schedule', async () => {
    const forged = { ...task(), trigger: { actor: 'schedule', source: 'schedule' } };
    expect(() => parseJobData(forged)).toThrow(PullwrightError);
    await expect(tq.enqueueTask(forged as unknown as Task, { deliveryId: 'd-f' })).rejects.toMatchObject({
      code: 'input_invalid',
    });
    // The same forged data put on the queue directly is refused when a worker takes it off.
    const job = await tq.queue.add('implement', forged, { jobId: 'forged' });
    const stored = (await tq.queue.getJob(job.id ?? ''))?.data;
    expect(stored).toMatchObject({ trigger: { source: 'schedule' } });
    expect(() => parseJobData(stored)).toThrow(PullwrightError);

    const maintenance = {
      kind: 'maintenance',
      installationId: 42,
      repo,
      maintenanceTaskId: 'deps',
      trigger: { actor: 'schedule', source: 'schedule' },
      requestedAt: new Date().toISOString(),
    };
    expect(parseJobData(maintenance)).toMatchObject({ kind: 'maintenance', maintenanceTaskId: 'deps' });
    for (const bad of [
      { ...maintenance, trigger: { actor: 'alice', source: 'issue_comment' } },
      { ...maintenance, maintenanceTaskId: undefined },
      { ...maintenance, number: 7 },
      { ...task(), number: undefined },
      { ...task(), maintenanceTaskId: 'deps' },
    ]) {
      expect(() => parseJobData(bad)).toThrow(PullwrightError);
    }
  });
});

describe('toJobFailure', () => {
  it('retries only retryable errors', () => {
    const retryable = toJobFailure(new PullwrightError('rate_limited', 'slow down'));
    expect(retryable).toBeInstanceOf(PullwrightError);
    const fatal = toJobFailure(new PullwrightError('forbidden', 'no'));
    expect(fatal.name).toBe('UnrecoverableError');
    expect(fatal.message).toBe('forbidden: no');
    expect(toJobFailure(new Error('boom')).name).toBe('UnrecoverableError');
  });
});
