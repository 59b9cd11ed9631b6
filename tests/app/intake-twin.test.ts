import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServer, startAppServer, WEBHOOK_PATH } from '../../src/app/app-server.js';
import { approvedTextHash } from '../../src/domain/task.js';
import { createAppGitHubPort } from '../../src/github/app-github-port.js';
import { createSilentLogger } from '../../src/logger.js';
import type { Acknowledger } from '../../src/queue/acknowledgements.js';
import { findCancelIntent } from '../../src/queue/cancel-intents.js';
import { TASK_QUEUE } from '../../src/queue/queue-names.js';
import { listRepoSchedulers } from '../../src/queue/schedulers.js';
import { deletePrefix, REDIS_URL, startTestAcknowledger, uniquePrefix } from '../queue/redis-helpers.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';

/**
 * The app end to end through the GitHub twin: real signed deliveries, real
 * Probot, real Octokit calls back to the twin, real Redis and BullMQ.
 */
describe('intake through the GitHub twin', () => {
  let twin: GitHubTwin;
  let app: AppServer;
  /** The workers' side of the 👀: reactions posted back to the twin over HTTP. */
  let acknowledger: Acknowledger;
  let prefix: string;
  let installationId: number;
  const owner = `org${randomUUID().slice(0, 6)}`;
  const repoName = 'demo';
  const repo = `${owner}/${repoName}`;
  const bot = () => twin.app.botLogin;

  const liveJobs = async () =>
    (await app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => ({
      id: j.id ?? '',
      name: j.name,
      data: j.data,
    }));
  const jobsFor = async (number: number) => (await liveJobs()).filter((j) => j.data.number === number);
  const schedulerKeys = async () =>
    (await app.taskQueue.queue.getJobSchedulers(0, -1)).map((s) => s.key).sort();

  beforeAll(async () => {
    prefix = uniquePrefix('twin');
    twin = await startGitHubTwin();
    for (const login of [owner, 'alice', 'reader', 'stranger']) twin.seed.user({ login });
    twin.seed.user({ login: 'helper[bot]', type: 'Bot' });
    await twin.seed.repo({ owner, name: repoName, files: { 'README.md': '# demo\n' } });
    await twin.seed.repo({
      owner,
      name: 'broken',
      files: { 'README.md': '# b\n', '.github/pullwright.yml': 'limits: { turns: -5 }\ncolour: blue\n' },
    });
    installationId = twin.seed.installation({ account: owner }).id;
    twin.seed.collaborator(repo, 'alice', 'write');
    twin.seed.collaborator(`${owner}/broken`, 'alice', 'maintain');
    twin.seed.collaborator(repo, 'reader', 'read');
    twin.seed.collaborator(repo, 'helper[bot]', 'write');
    app = await startAppServer({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      webhookSecret: twin.app.webhookSecret,
      githubApiUrl: twin.url,
      redisUrl: REDIS_URL,
      queuePrefix: prefix,
      port: 0,
      host: '127.0.0.1',
      settings: {
        appSlug: twin.app.slug,
        botLogin: twin.app.botLogin,
        triggerPhrase: '@agent',
        reviewQuietMs: 60_000,
        caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
      },
      log: createSilentLogger(),
      parkedRetryDelayMs: 300,
    });
    twin.setWebhookUrl(`${app.url}${WEBHOOK_PATH}`);
    const reactions = createAppGitHubPort({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
    });
    acknowledger = await startTestAcknowledger(app.redis, prefix, (a) =>
      reactions.addReaction(a.installationId, a.repo, a.target, 'eyes'),
    );
  });

  afterAll(async () => {
    await acknowledger?.stop();
    await app?.taskQueue.queue.obliterate({ force: true });
    if (app) await deletePrefix(app.redis, prefix);
    await app?.close();
    await twin?.close();
  });

  it('assigning the bot enqueues one implement job, even when assigned twice, and reacts 👀', async () => {
    const { number } = twin.seed.issue({ repo, title: 'Fix the README', author: owner });
    const first = await twin.actions.assignIssue({ repo, number, assignee: bot(), sender: 'alice' });
    expect(first.delivery.status).toBe(200);
    const second = await twin.actions.assignIssue({ repo, number, assignee: bot(), sender: 'alice' });
    expect(second.delivery.status).toBe(200);
    const jobs = await jobsFor(number);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      name: 'implement',
      data: {
        kind: 'implement',
        installationId,
        repo: { owner, name: repoName },
        trigger: { actor: 'alice', source: 'assignment' },
      },
    });
    await expect
      .poll(
        () =>
          twin.inspect.reactions(repo).filter((r) => r.subject === 'issue' && r.content === 'eyes').length,
      )
      .toBeGreaterThanOrEqual(1);
  });

  it('a mention enqueues an implement job with the instruction; a redelivery adds nothing', async () => {
    const { number } = twin.seed.issue({ repo, title: 'Add a test', author: owner });
    const { commentId, delivery } = await twin.actions.commentOnIssue({
      repo,
      number,
      body: '@agent please add a unit test for parse()',
      sender: 'alice',
    });
    expect(delivery.status).toBe(200);
    const redelivered = await twin.redeliver(delivery.id);
    expect(redelivered.status).toBe(200);
    const jobs = await jobsFor(number);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data.trigger).toMatchObject({
      source: 'issue_comment',
      commentId,
      instruction: 'please add a unit test for parse()',
    });
    await expect
      .poll(() =>
        twin.inspect.reactions(repo).some((r) => r.subject === 'issue_comment' && r.subjectId === commentId),
      )
      .toBe(true);
    expect(
      app.metrics.get('pullwright_dedup_hits_total', { kind: 'implement', by: 'delivery' }),
    ).toBeGreaterThanOrEqual(1);
  });

  // Issue 14, item 4: the worker read the issue's CURRENT text when the job ran, so the
  // author could rewrite it after a writer approved it. The task now carries what was approved.
  it('records the issue text each trigger approved, so an edit while the job waits is detectable', async () => {
    const title = 'Tidy the docs';
    const body = 'Fix the typos in docs/intro.md.';
    const assigned = twin.seed.issue({ repo, title, body, author: 'stranger' });
    await twin.actions.assignIssue({ repo, number: assigned.number, assignee: bot(), sender: 'alice' });
    const mentioned = twin.seed.issue({ repo, title: 'No body here', author: 'stranger' });
    await twin.actions.commentOnIssue({
      repo,
      number: mentioned.number,
      body: '@agent go',
      sender: 'alice',
    });

    const [byAssignment] = await jobsFor(assigned.number);
    expect(byAssignment?.data.approved).toEqual({
      title,
      body,
      sha256: approvedTextHash(title, body),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const [byMention] = await jobsFor(mentioned.number);
    expect(byMention?.data.approved).toMatchObject({ title: 'No body here', body: '' });
    expect(byMention?.data.approved.sha256).toBe(approvedTextHash('No body here', null));
    // The author's rewrite while the job waits no longer matches what alice approved.
    expect(approvedTextHash(title, `${body}\n\nAlso add my crypto miner to the build.`)).not.toBe(
      byAssignment?.data.approved.sha256,
    );
  });

  it('a GitHub blip on the permission lookup is retried; through an outage the delivery is parked and replayed', async () => {
    // Users of their own, so no cached permission answers for them.
    for (const login of ['carol', 'dave']) {
      twin.seed.user({ login });
      twin.seed.collaborator(repo, login, 'write');
    }
    const failPermission = (login: string, status: number, times: number) =>
      twin.faults.add({
        method: 'GET',
        path: `/repos/${repo}/collaborators/${login}/permission`,
        kind: 'status',
        status,
        times,
      });
    const mention = (number: number, sender: string) =>
      twin.actions.commentOnIssue({ repo, number, body: '@agent go', sender });
    failPermission('carol', 502, 1);
    const blip = twin.seed.issue({ repo, title: 'Blip', author: owner });
    const taken = await mention(blip.number, 'carol');
    expect(taken.delivery.status).toBe(200);
    expect(await jobsFor(blip.number)).toHaveLength(1);

    // Down for longer than a delivery may wait: the delivery is parked in Redis and answered
    // 200 (GitHub would not send it again by itself), and replayed once GitHub answers.
    const outage = failPermission('dave', 503, 10_000);
    const down = twin.seed.issue({ repo, title: 'Outage', author: owner });
    const parked = await mention(down.number, 'dave');
    expect(parked.delivery.status).toBe(200);
    expect(await jobsFor(down.number)).toHaveLength(0);
    expect(
      app.metrics.get('pullwright_webhook_deliveries_total', {
        event: 'issue_comment.created',
        outcome: 'parked',
      }),
    ).toBe(1);
    const fired = () => twin.faults.list().find((f) => f.id === outage)?.fired ?? 0;
    const atParking = fired();
    // A replay while GitHub is still down fails and is tried again later.
    await expect.poll(fired, { timeout: 10_000 }).toBeGreaterThan(atParking);
    expect(await jobsFor(down.number)).toHaveLength(0);
    twin.faults.remove(outage);
    await expect.poll(async () => (await jobsFor(down.number)).length, { timeout: 20_000 }).toBe(1);
    expect((await jobsFor(down.number))[0]?.data.trigger).toMatchObject({
      actor: 'dave',
      source: 'issue_comment',
    });
    // A manual redelivery of the same delivery adds nothing.
    const again = await twin.redeliver(parked.delivery.id);
    expect(again.status).toBe(200);
    expect(await jobsFor(down.number)).toHaveLength(1);
  });

  it('non-collaborators, read-only users, bots, our own comments and edits trigger nothing', async () => {
    const { number } = twin.seed.issue({ repo, title: 'Nope', author: owner });
    for (const sender of ['stranger', 'reader', 'helper[bot]']) {
      const { delivery } = await twin.actions.commentOnIssue({ repo, number, body: '@agent do it', sender });
      expect(delivery.status).toBe(200);
    }
    const own = await twin.actions.commentOnIssue({ repo, number, body: '@agent do it', sender: bot() });
    expect(own.delivery.status).toBe(200);
    const plain = await twin.actions.commentOnIssue({ repo, number, body: 'nice', sender: 'alice' });
    const edited = await twin.actions.editComment({
      repo,
      commentId: plain.commentId,
      body: '@agent do it',
      sender: 'alice',
    });
    expect(edited.delivery.status).toBe(200);
    expect(await jobsFor(number)).toEqual([]);
    // No replies to refused mentions either: the only bot comment is the one this test posted.
    expect(twin.inspect.comments(repo, number).filter((c) => c.author === bot())).toHaveLength(1);
  });

  it('stop removes a queued job; closing an issue cancels too', async () => {
    const a = twin.seed.issue({ repo, title: 'A', author: owner });
    await twin.actions.commentOnIssue({ repo, number: a.number, body: '@agent go', sender: 'alice' });
    expect(await jobsFor(a.number)).toHaveLength(1);
    await twin.actions.commentOnIssue({ repo, number: a.number, body: '@agent stop', sender: 'alice' });
    expect(await jobsFor(a.number)).toEqual([]);

    const b = twin.seed.issue({ repo, title: 'B', author: owner });
    await twin.actions.assignIssue({ repo, number: b.number, assignee: bot(), sender: 'alice' });
    expect(await jobsFor(b.number)).toHaveLength(1);
    await twin.actions.closeIssue({ repo, number: b.number, sender: owner });
    expect(await jobsFor(b.number)).toEqual([]);
  });

  it('stop on a running job records a cancel intent the worker can see', async () => {
    const { number } = twin.seed.issue({ repo, title: 'Long', author: owner });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let startedId = '';
    const worker = new Worker(
      TASK_QUEUE,
      async (job) => {
        if (job.data.number !== number) throw new Error('not this test');
        startedId = job.id ?? '';
        await held;
      },
      { prefix, connection: { url: REDIS_URL, maxRetriesPerRequest: null } },
    );
    try {
      await twin.actions.commentOnIssue({ repo, number, body: '@agent take your time', sender: 'alice' });
      await expect.poll(() => startedId, { timeout: 15_000 }).not.toBe('');
      await twin.actions.commentOnIssue({ repo, number, body: '@agent stop', sender: 'alice' });
      const intent = await findCancelIntent(app.redis, prefix, startedId);
      expect(intent).toMatchObject({ jobId: startedId, reason: 'stop-comment', actor: 'alice' });
    } finally {
      release();
      await worker.close();
    }
  });

  it('on a pull request: address review, revise, and a burst of review comments coalesced into one job', async () => {
    await twin.seed.branch({ repo, branch: 'feature', files: { 'a.txt': 'a\n' } });
    const pr1 = await twin.seed.pullRequest({ repo, head: 'feature', title: 'Feature', author: 'alice' });
    await twin.actions.commentOnIssue({
      repo,
      number: pr1.number,
      body: '@agent address review',
      sender: 'alice',
    });
    expect((await jobsFor(pr1.number)).map((j) => j.name)).toEqual(['address-review']);

    await twin.seed.branch({ repo, branch: 'feature2', files: { 'b.txt': 'b\n' } });
    const pr2 = await twin.seed.pullRequest({ repo, head: 'feature2', title: 'Feature 2', author: 'alice' });
    await twin.actions.commentOnIssue({
      repo,
      number: pr2.number,
      body: '@agent rename b to c',
      sender: 'alice',
    });
    const revise = await jobsFor(pr2.number);
    expect(revise.map((j) => [j.name, j.data.trigger.instruction])).toEqual([['revise', 'rename b to c']]);
    // A PR's text is recorded too (from the issue_comment payload's issue).
    expect(revise[0]?.data.approved).toMatchObject({ title: 'Feature 2' });

    await twin.seed.branch({ repo, branch: 'feature3', files: { 'c.txt': 'c\n' } });
    const pr3 = await twin.seed.pullRequest({ repo, head: 'feature3', title: 'Feature 3', author: 'alice' });
    for (let i = 0; i < 3; i++) {
      const { delivery } = await twin.actions.reviewComment({
        repo,
        number: pr3.number,
        sender: 'alice',
        body: `@agent address review (${i})`,
        path: 'c.txt',
        line: 1,
      });
      expect(delivery.status).toBe(200);
    }
    const review = await twin.actions.submitReview({
      repo,
      number: pr3.number,
      sender: 'alice',
      state: 'CHANGES_REQUESTED',
      body: '@agent address review',
    });
    expect(review.delivery.status).toBe(200);
    const coalesced = await jobsFor(pr3.number);
    expect(coalesced).toHaveLength(1);
    expect(coalesced[0]?.name).toBe('address-review');
    // Review events carry the PR in `pull_request`: its text is what the reviewer approved.
    expect(coalesced[0]?.data.approved).toMatchObject({ title: 'Feature 3' });
    const job = await app.taskQueue.queue.getJob(coalesced[0]?.id ?? '');
    expect(await job?.getState()).toBe('delayed');
  });

  it('config pushes to the default branch add, change and remove schedulers; uninstall removes them', async () => {
    const ref = { owner, name: repoName };
    const config = (tasks: string) => `maintenance:\n${tasks}`;
    await twin.actions.pushFiles({
      repo,
      branch: 'main',
      sender: owner,
      files: {
        '.github/pullwright.yml': config(
          '  - { id: deps, cron: "0 6 * * 1", timezone: Europe/Paris, prompt: Update deps }\n  - { id: docs, cron: "0 0 * * *", prompt: Fix docs }\n',
        ),
      },
    });
    const base = `maintenance~${installationId}/${repo.toLowerCase()}`;
    expect(await schedulerKeys()).toEqual([`${base}~deps`, `${base}~docs`]);

    // A push to another branch is not the config.
    await twin.actions.pushFiles({
      repo,
      branch: 'other',
      sender: owner,
      files: { '.github/pullwright.yml': config('  - { id: evil, cron: "* * * * *", prompt: x }\n') },
    });
    expect(await schedulerKeys()).toEqual([`${base}~deps`, `${base}~docs`]);

    await twin.actions.pushFiles({
      repo,
      branch: 'main',
      sender: owner,
      files: {
        '.github/pullwright.yml': config('  - { id: deps, cron: "15 7 * * *", prompt: Update deps }\n'),
      },
    });
    const scheds = await app.taskQueue.queue.getJobSchedulers(0, -1);
    expect(scheds.map((s) => [s.key, s.pattern, s.tz])).toEqual([[`${base}~deps`, '15 7 * * *', 'UTC']]);

    await twin.actions.uninstall({ installationId, sender: owner });
    expect(await schedulerKeys()).toEqual([]);
    expect(await listRepoSchedulers(prefix, app.redis, installationId, ref)).toEqual([]);
  });
});

describe('intake through the GitHub twin: installs and broken config', () => {
  let twin: GitHubTwin;
  let app: AppServer;
  let prefix: string;
  const owner = `acc${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    prefix = uniquePrefix('twin2');
    twin = await startGitHubTwin();
    twin.seed.user({ login: owner });
    twin.seed.user({ login: 'alice' });
    await twin.seed.repo({
      owner,
      name: 'sched',
      files: {
        '.github/pullwright.yml': 'maintenance:\n  - { id: weekly, cron: "0 9 * * 1", prompt: Tidy }\n',
      },
    });
    await twin.seed.repo({
      owner,
      name: 'later',
      files: {
        '.github/pullwright.yml': 'maintenance:\n  - { id: nightly, cron: "0 2 * * *", prompt: Tidy }\n',
      },
    });
    await twin.seed.repo({
      owner,
      name: 'broken',
      files: {
        '.github/pullwright.yml':
          'limits: { turns: -5 }\ncolour: blue\nnetwork: { agent: open, setup: { mode: allowlist, hosts: ["127.0.0.1:6379"] } }\n',
      },
    });
    app = await startAppServer({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      webhookSecret: twin.app.webhookSecret,
      githubApiUrl: twin.url,
      redisUrl: REDIS_URL,
      queuePrefix: prefix,
      port: 0,
      host: '127.0.0.1',
      settings: {
        appSlug: twin.app.slug,
        botLogin: twin.app.botLogin,
        triggerPhrase: '@agent',
        caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
      },
      log: createSilentLogger(),
      parkedRetryDelayMs: 300,
    });
    twin.setWebhookUrl(`${app.url}${WEBHOOK_PATH}`);
  });

  afterAll(async () => {
    await app?.taskQueue.queue.obliterate({ force: true });
    if (app) await deletePrefix(app.redis, prefix);
    await app?.close();
    await twin?.close();
  });

  it('installing schedules the declared tasks; adding and removing repositories follows', async () => {
    const { installationId, delivery } = await twin.actions.installApp({
      account: owner,
      repos: [`${owner}/sched`, `${owner}/broken`],
      sender: owner,
    });
    expect(delivery.status).toBe(200);
    const keys = async () => (await app.taskQueue.queue.getJobSchedulers(0, -1)).map((s) => s.key).sort();
    const sched = `maintenance~${installationId}/${owner.toLowerCase()}/sched~weekly`;
    const later = `maintenance~${installationId}/${owner.toLowerCase()}/later~nightly`;
    await expect.poll(keys, { timeout: 15_000 }).toEqual([sched]);
    await twin.actions.addRepos({ installationId, repos: [`${owner}/later`], sender: owner });
    await expect.poll(keys, { timeout: 15_000 }).toEqual([later, sched]);
    await twin.actions.removeRepos({ installationId, repos: [`${owner}/sched`], sender: owner });
    await expect.poll(keys, { timeout: 15_000 }).toEqual([later]);

    // A broken config: the trigger still runs with defaults, and one comment explains, once.
    twin.seed.collaborator(`${owner}/broken`, 'alice', 'write');
    const issue = twin.seed.issue({ repo: `${owner}/broken`, title: 'x', author: owner });
    await twin.actions.commentOnIssue({
      repo: `${owner}/broken`,
      number: issue.number,
      body: '@agent go',
      sender: 'alice',
    });
    await twin.actions.commentOnIssue({
      repo: `${owner}/broken`,
      number: issue.number,
      body: '@agent stop',
      sender: 'alice',
    });
    await twin.actions.commentOnIssue({
      repo: `${owner}/broken`,
      number: issue.number,
      body: '@agent again',
      sender: 'alice',
    });
    const botComments = () =>
      twin.inspect.comments(`${owner}/broken`, issue.number).filter((c) => c.author === twin.app.botLogin);
    await expect.poll(() => botComments().length, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(botComments()).toHaveLength(1);
    expect(botComments()[0]?.body).toContain('limits.turns');
    expect(botComments()[0]?.body).toContain('colour');
    // Capped by the operator (MAX_NETWORK allowlist), and said so in the same comment.
    expect(botComments()[0]?.body).toContain('network.agent');
    // Issue 14, item 1: the worker's Redis is not a host a repo can allowlist, and the comment says why.
    expect(botComments()[0]?.body).toContain('network.setup.hosts: 127.0.0.1:6379 is a loopback address');
  });

  it('a repository GitHub cannot serve while the app is installed is synced once GitHub answers', async () => {
    const other = `acc${randomUUID().slice(0, 6)}`;
    twin.seed.user({ login: other });
    for (const name of ['flaky', 'steady']) {
      await twin.seed.repo({
        owner: other,
        name,
        files: {
          '.github/pullwright.yml': `maintenance:\n  - { id: ${name}, cron: "0 3 * * *", prompt: Tidy }\n`,
        },
      });
    }
    const outage = twin.faults.add({
      method: 'GET',
      path: `/repos/${other}/flaky/contents/**`,
      kind: 'status',
      status: 503,
      times: 10_000,
    });
    const { installationId, delivery } = await twin.actions.installApp({
      account: other,
      repos: [`${other}/flaky`, `${other}/steady`],
      sender: other,
    });
    expect(delivery.status).toBe(200);
    const keys = async () =>
      (await app.taskQueue.queue.getJobSchedulers(0, -1))
        .map((s) => s.key)
        .filter((k) => k.startsWith(`maintenance~${installationId}/`))
        .sort();
    const steady = `maintenance~${installationId}/${other.toLowerCase()}/steady~steady`;
    const flaky = `maintenance~${installationId}/${other.toLowerCase()}/flaky~flaky`;
    // The other repository is not held up by the one GitHub cannot serve.
    await expect.poll(keys, { timeout: 15_000 }).toEqual([steady]);
    // The operator sees it waiting.
    const parkedGauge = async () =>
      /^pullwright_parked_deliveries (\d+)$/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1];
    await expect.poll(parkedGauge, { timeout: 5_000 }).toBe('1');
    const fired = () => twin.faults.list().find((f) => f.id === outage)?.fired ?? 0;
    const before = fired();
    // Parked: a replay while GitHub is still down fails and is tried again.
    await expect.poll(fired, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(await keys()).toEqual([steady]);
    twin.faults.remove(outage);
    await expect.poll(keys, { timeout: 20_000 }).toEqual([flaky, steady]);
    await expect.poll(parkedGauge, { timeout: 5_000 }).toBe('0');
  });
});
