import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUE, type LocalStack } from '../../scripts/local-stack.js';
import { parseConfig } from '../../src/config/env.js';
import { createRedis, redisTargetFromConfig } from '../../src/queue/redis-connection.js';
import { jobsOf, stack, trackingComment, waitFor } from '../e2e/e2e-helpers.js';
import type { Scenario } from '../twins/model/index.js';
import { type SentinelCluster, startSentinelCluster } from './sentinel-cluster.js';

/**
 * Redis behind Sentinel (issue 14, "The deployment as users run it"): the real app,
 * worker, GitHub twin and model twin on a primary + replica + three sentinels. The
 * primary is SIGKILLed while the agent is mid-run, and a trigger arrives while no
 * primary exists. Afterwards: every job completed once, one PR and one tracking
 * comment per issue, one 👀 per trigger, and the refused delivery ran after GitHub
 * redelivered it. The stack's REDIS_URL points at a dead port, so nothing can
 * quietly fall back to the shared Redis.
 */
describe('Redis Sentinel failover during a run', { timeout: 240_000 }, () => {
  let cluster: SentinelCluster;
  let s: LocalStack;
  let reachGate!: () => void;
  const gateReached = new Promise<void>((r) => {
    reachGate = r;
  });
  let openGate!: () => void;
  const gateOpen = new Promise<void>((r) => {
    openGate = r;
  });

  beforeAll(async () => {
    cluster = await startSentinelCluster();
    s = await stack({
      scenario: 'implement-issue',
      env: { ...cluster.env, REDIS_URL: 'redis://127.0.0.1:1' },
    });
    // The demo agent, held once at its third turn (after it ran the tests) until the primary is dead.
    const base = s.model?.scenarios['implement-issue'];
    if (!base) throw new Error('The model twin has no implement-issue scenario');
    let held = false;
    const gated: Scenario = {
      name: 'implement-issue-held-for-failover',
      description: 'implement-issue, paused once mid-run',
      async respond(request, ctx) {
        if (ctx.turn === 3 && !held) {
          held = true;
          reachGate();
          await gateOpen;
        }
        return base.respond(request, ctx);
      },
    };
    s.model?.setScenario(gated);
  });

  afterAll(async () => {
    openGate?.();
    await s?.close();
    await cluster?.close();
  });

  it('kills the primary mid-run: the job completes once, no PR duplicated, no 👀 or comment lost', async () => {
    const { github, repo } = s;
    const startedAt = Date.now();
    const first = github.seed.issue({
      repo,
      title: DEMO_ISSUE.title,
      body: DEMO_ISSUE.body,
      author: 'alice',
    });
    const second = github.seed.issue({
      repo,
      title: 'average() of an empty list',
      body: DEMO_ISSUE.body,
      author: 'alice',
    });
    const assign = (number: number) =>
      github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const assigned = await assign(first.number);
    expect(assigned.delivery.status).toBe(200);
    let reached = false;
    void gateReached.then(() => {
      reached = true;
    });
    await waitFor('the agent to be mid-run', () => reached, 120_000);
    const primaryBefore = await cluster.primaryPort();

    const killed = await cluster.killPrimary();
    expect(killed).toBe(primaryBefore);
    // A trigger while no primary exists: the app answers 5xx at once (fail-fast connection) ...
    const during = await assign(second.number);
    expect(during.delivery.status).toBeGreaterThanOrEqual(500);
    // ... and the running job goes on talking to Redis through the failover.
    openGate();
    const primaryAfter = await cluster.waitForFailover(killed);
    expect(primaryAfter).not.toBe(killed);
    const failoverMs = Date.now() - startedAt;

    // GitHub shows the failed delivery; redelivering it (as an operator or a redelivery job does) works now.
    const redelivered = await waitFor(
      'a redelivery the app accepts',
      async () => {
        const again = await github.redeliver(during.delivery.id);
        return again.status === 200 ? again : null;
      },
      30_000,
    );
    expect(redelivered.status).toBe(200);

    for (const number of [first.number, second.number]) {
      const done = await waitFor(`a finished tracking comment on #${number}`, () => {
        const c = trackingComment(s, number);
        return c && /Done|Failed|refused|without changes/.test(c.body) ? c : null;
      });
      expect(done.body).toContain('✅ Done');
    }

    const pulls = github.inspect.pulls(repo);
    expect(pulls).toHaveLength(2);
    expect(new Set(pulls.map((p) => p.head)).size).toBe(2);
    for (const number of [first.number, second.number]) {
      expect(pulls.filter((p) => p.body.includes(`Fixes #${number}`))).toHaveLength(1);
      expect(
        github.inspect.comments(repo, number).filter((c) => c.body.includes('pullwright:tracking')),
      ).toHaveLength(1);
    }
    const eyes = github.inspect.reactions(repo).filter((r) => r.content === 'eyes');
    expect(
      eyes
        .filter((r) => r.subject === 'issue')
        .map((r) => r.subjectId)
        .sort(),
    ).toEqual([first.id, second.id].sort());

    const jobs = (await jobsOf(s)).filter((j) => j.name === 'implement');
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      expect(await job.getState()).toBe('completed');
      // One completed attempt (a job that waited for the repo's slot was started, not run, more often).
      expect(job.attemptsMade).toBe(1);
    }
    // Each agent ran once: one first turn per issue at the model (a rerun after a lost lock would add one).
    // The self-review before delivery is its own conversation (one `submit_review` tool), not a rerun.
    const isReview = (body: unknown) => JSON.stringify(body).includes('"name":"submit_review"');
    for (const title of [DEMO_ISSUE.title, 'average() of an empty list']) {
      const firstTurns = (s.model?.requests ?? []).filter(
        (r) =>
          r.path === '/v1/messages' &&
          r.turn === 1 &&
          JSON.stringify(r.body).includes(title) &&
          !isReview(r.body),
      );
      expect(firstTurns).toHaveLength(1);
    }
    // The queue lives on the promoted replica: nothing went to another Redis.
    const keys = (await cluster.command(primaryAfter, 'KEYS', `${s.config.QUEUE_PREFIX}:*`)) as string[];
    expect(keys.length).toBeGreaterThan(0);
    console.info(`[ha] failover after ${failoverMs} ms of the test; whole test ${Date.now() - startedAt} ms`);
  });
});

/**
 * Every Redis client the processes make through Sentinel comes back after the primary
 * dies. ioredis's optional `+switch-master` listener (`failoverDetector`) could end a client
 * for good: a failover announced while that client was between sentinels on a reconnect
 * stopped the attempt and left it "Connection is closed." forever (the worker above then
 * failed every job). Many clients, all busy through the failover, make that race likely.
 */
describe('Redis Sentinel failover: every client reconnects', { timeout: 120_000 }, () => {
  // With `failoverDetector` on, 150 clients left 1 or 2 of them ended in each of two runs here.
  const CLIENTS = 150;
  let cluster: SentinelCluster;
  const clients: Redis[] = [];
  let stop = false;

  beforeAll(async () => {
    cluster = await startSentinelCluster();
  });
  afterAll(async () => {
    stop = true;
    for (const c of clients) c.disconnect();
    await cluster?.close();
  });

  it(`${CLIENTS} clients, writing through the failover, all answer afterwards and none has ended`, async () => {
    const target = redisTargetFromConfig(parseConfig('cli', cluster.env));
    for (let i = 0; i < CLIENTS; i++) {
      const client = createRedis(target, { maxRetriesPerRequest: 3 });
      client.on('error', () => {});
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.ping()));
    // Each keeps writing (as the acknowledger and the queue do), so each is reconnecting when the failover ends.
    const writers = clients.map(async (c, i) => {
      while (!stop) {
        await c.set(`ha-clients:${i}`, String(Date.now())).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const killed = await cluster.killPrimary();
    const primaryAfter = await cluster.waitForFailover(killed);
    const deadline = Date.now() + 30_000;
    const pending = new Set(clients);
    while (pending.size > 0 && Date.now() < deadline) {
      for (const c of [...pending]) if ((await c.ping().catch(() => null)) === 'PONG') pending.delete(c);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(clients.map((c) => c.status).filter((s) => s !== 'ready')).toEqual([]);
    expect(pending.size).toBe(0);
    // The writes land on the promoted replica.
    stop = true;
    await Promise.all(writers);
    const keys = (await cluster.command(primaryAfter, 'KEYS', 'ha-clients:*')) as string[];
    expect(keys).toHaveLength(CLIENTS);
  });
});
