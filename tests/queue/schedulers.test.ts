import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  listRepoSchedulers,
  removeInstallationSchedulers,
  removeRepoSchedulers,
  syncRepoSchedulers,
} from '../../src/queue/schedulers.js';
import { createTaskQueue, type TaskQueue } from '../../src/queue/task-queue.js';
import type { MaintenanceTaskConfig } from '../../src/repo-config/repo-config.js';
import { connectRedis, deletePrefix, uniquePrefix } from './redis-helpers.js';

const repo = { owner: 'octo', name: 'hello' };
const other = { owner: 'octo', name: 'world' };

function mt(id: string, cron = '0 6 * * 1', timezone = 'UTC'): MaintenanceTaskConfig {
  return { id, cron, timezone, prompt: `run ${id}`, maxOpenPrs: 1, maxNewPrsPerHour: 1 };
}

describe('maintenance schedulers (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let tq: TaskQueue;

  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('sched');
    tq = createTaskQueue({ prefix, redis });
  });
  afterEach(async () => {
    await tq.close();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const schedulers = async () =>
    (await tq.queue.getJobSchedulers(0, -1))
      .map((s) => ({ key: s.key, pattern: s.pattern, tz: s.tz }))
      .sort((a, b) => a.key.localeCompare(b.key));

  it('adds, changes and removes schedulers as the config changes', async () => {
    await syncRepoSchedulers(tq, redis, {
      installationId: 5,
      repo,
      tasks: [mt('deps'), mt('docs', '0 0 * * *')],
    });
    expect(await schedulers()).toEqual([
      { key: 'maintenance~5/octo/hello~deps', pattern: '0 6 * * 1', tz: 'UTC' },
      { key: 'maintenance~5/octo/hello~docs', pattern: '0 0 * * *', tz: 'UTC' },
    ]);
    const sched = await tq.queue.getJobScheduler('maintenance~5/octo/hello~deps');
    expect(sched?.template?.data).toMatchObject({
      kind: 'maintenance',
      maintenanceTaskId: 'deps',
      installationId: 5,
    });

    const changed = await syncRepoSchedulers(tq, redis, {
      installationId: 5,
      repo,
      tasks: [mt('deps', '30 7 * * *', 'Europe/Paris')],
    });
    expect(changed.removed).toEqual(['maintenance~5/octo/hello~docs']);
    expect(await schedulers()).toEqual([
      { key: 'maintenance~5/octo/hello~deps', pattern: '30 7 * * *', tz: 'Europe/Paris' },
    ]);

    await removeRepoSchedulers(tq, redis, 5, repo);
    expect(await schedulers()).toEqual([]);
    expect(await listRepoSchedulers(prefix, redis, 5, repo)).toEqual([]);
  });

  it('reports a cron BullMQ refuses and keeps the others', async () => {
    const result = await syncRepoSchedulers(tq, redis, {
      installationId: 5,
      repo,
      tasks: [mt('bad', '99 99 * * *'), mt('good')],
    });
    expect(result.upserted).toEqual(['maintenance~5/octo/hello~good']);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toContain('"bad"');
  });

  it('removes every scheduler of an installation on uninstall', async () => {
    await syncRepoSchedulers(tq, redis, { installationId: 5, repo, tasks: [mt('deps')] });
    await syncRepoSchedulers(tq, redis, { installationId: 5, repo: other, tasks: [mt('deps'), mt('x')] });
    await syncRepoSchedulers(tq, redis, { installationId: 6, repo, tasks: [mt('keep')] });
    const removed = await removeInstallationSchedulers(tq, redis, 5);
    expect(removed.sort()).toEqual([
      'maintenance~5/octo/hello~deps',
      'maintenance~5/octo/world~deps',
      'maintenance~5/octo/world~x',
    ]);
    expect((await schedulers()).map((s) => s.key)).toEqual(['maintenance~6/octo/hello~keep']);
  });
});
