import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MaintenanceTask } from '../../src/domain/task.js';
import { PullwrightError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/logger.js';
import { createMaintenanceRuns, type MaintenanceRun } from '../../src/queue/maintenance-runs.js';
import { createTaskQueue, type TaskQueue } from '../../src/queue/task-queue.js';
import { startTaskWorker, type TaskWorker } from '../../src/queue/task-worker.js';
import { connectRedis, deletePrefix, REDIS_URL, uniquePrefix } from './redis-helpers.js';

const repo = { owner: 'octo', name: 'hello' };

function maintenance(id: string, tickedBy?: string): MaintenanceTask {
  return {
    kind: 'maintenance',
    installationId: 5,
    repo,
    maintenanceTaskId: id,
    trigger: tickedBy
      ? { source: 'follow-up', reason: 'dashboard', actor: tickedBy }
      : { source: 'schedule', actor: 'schedule' },
    requestedAt: new Date().toISOString(),
  };
}

describe('maintenance runs recorded by the task worker (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let tq: TaskQueue;
  let worker: TaskWorker | undefined;

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('mruns');
    tq = createTaskQueue({ prefix, redis });
  });
  afterEach(async () => {
    await worker?.close(1_000);
    worker = undefined;
    await tq.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  async function run(process: () => Promise<unknown>, tasks: MaintenanceTask[]) {
    const finished: MaintenanceRun[] = [];
    const seenRunning: string[] = [];
    const runs = createMaintenanceRuns(redis, prefix);
    worker = await startTaskWorker({
      redisUrl: REDIS_URL,
      prefix,
      redis,
      subscriber: connectRedis(),
      concurrency: 1,
      limits: { perRepo: 1, perInstallation: 1 },
      log: createSilentLogger(),
      process: async (task) => {
        if (task.kind === 'maintenance') {
          seenRunning.push((await runs.lastRuns(5, repo)).get(task.maintenanceTaskId)?.outcome ?? 'none');
        }
        return process();
      },
      afterMaintenanceRun: async (_task, r) => {
        finished.push(r);
      },
    });
    for (const [i, t] of tasks.entries()) await tq.enqueueTask(t, { deliveryId: `d${i}` });
    const until = Date.now() + 10_000;
    while (finished.length < tasks.length && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    return { finished, seenRunning, last: await runs.lastRuns(5, repo) };
  }

  it("records running, then the flow's outcome and PR, and hands the run to afterMaintenanceRun", async () => {
    const { finished, seenRunning, last } = await run(
      async () => ({ status: 'succeeded', prNumber: 9, prUrl: 'https://github.example/octo/hello/pull/9' }),
      [maintenance('deps', 'alice')],
    );
    expect(seenRunning).toEqual(['running']);
    expect(finished).toHaveLength(1);
    expect(last.get('deps')).toMatchObject({
      outcome: 'succeeded',
      prNumber: 9,
      requestedBy: 'alice',
      jobId: expect.stringContaining('maintenance~'),
    });
    expect(last.get('deps')?.finishedAt).toBeDefined();
  });

  it('records a failure by its code only, never the error text', async () => {
    const failed = await run(async () => {
      throw new PullwrightError('forbidden', 'token ghs_secret leaked in a message', { retryable: false });
    }, [maintenance('docs')]);
    expect(failed.last.get('docs')).toMatchObject({ outcome: 'failed', reason: 'forbidden' });
    expect(JSON.stringify(failed.last.get('docs'))).not.toContain('ghs_secret');
  });

  it('records nothing for work on an issue or PR', async () => {
    const runs = createMaintenanceRuns(redis, prefix);
    worker = await startTaskWorker({
      redisUrl: REDIS_URL,
      prefix,
      redis,
      subscriber: connectRedis(),
      concurrency: 1,
      limits: { perRepo: 1, perInstallation: 1 },
      log: createSilentLogger(),
      process: async () => ({ status: 'succeeded' }),
    });
    const { jobId } = await tq.enqueueTask(
      {
        kind: 'implement',
        installationId: 5,
        repo,
        number: 3,
        trigger: { actor: 'alice', source: 'assignment' },
        requestedAt: new Date().toISOString(),
      },
      { deliveryId: 'x' },
    );
    const until = Date.now() + 10_000;
    while ((await tq.queue.getJob(jobId))?.finishedOn === undefined && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await runs.lastRuns(5, repo)).size).toBe(0);
  });
});
