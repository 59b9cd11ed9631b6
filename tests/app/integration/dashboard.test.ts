import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServer, startAppServer, WEBHOOK_PATH } from '../../../src/app/app-server.js';
import { createDashboardRefresher, DASHBOARD_MARKER } from '../../../src/app/maintenance-dashboard.js';
import type { Task } from '../../../src/domain/task.js';
import { createAppGitHubPort } from '../../../src/github/app-github-port.js';
import { createSilentLogger } from '../../../src/logger.js';
import { startTaskWorker, type TaskWorker } from '../../../src/queue/task-worker.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../queue/redis-helpers.js';
import { type GitHubTwin, startGitHubTwin } from '../../twins/github/index.js';

const CONFIG = `maintenance:
  - id: deps
    cron: "0 6 * * 1"
    timezone: Europe/Paris
    prompt: Update outdated dev dependencies.
  - id: docs
    cron: "30 2 * * *"
    prompt: Fix broken links in the docs.
`;

/**
 * The maintenance dashboard end to end at the intake: the GitHub twin, the real app,
 * real Redis and BullMQ, and the real task worker recording a maintenance run.
 */
describe('maintenance dashboard through the GitHub twin (real Redis)', () => {
  let twin: GitHubTwin;
  let app: AppServer;
  let prefix: string;
  let installationId: number;
  const owner = `org${randomUUID().slice(0, 6)}`;
  const repo = `${owner}/demo`;

  const dashboard = () =>
    twin.inspect
      .issues(repo)
      .find((i) => i.author === twin.app.botLogin && i.body.includes(DASHBOARD_MARKER) && !i.isPullRequest);
  const maintenanceJobs = async () =>
    (await app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active', 'prioritized']))
      .map((j) => j.data as Task)
      // The schedules' own delayed jobs are not what a tick adds.
      .filter((t) => t.kind === 'maintenance' && t.repo.name === 'demo' && t.trigger.source === 'follow-up');
  const tick = (body: string, id: string) =>
    body.replace(`- [ ] <!-- pullwright:run-now:${id} -->`, `- [x] <!-- pullwright:run-now:${id} -->`);

  beforeAll(async () => {
    prefix = uniquePrefix('dashboard');
    twin = await startGitHubTwin();
    for (const login of [owner, 'alice', 'reader', 'mallory']) twin.seed.user({ login });
    await twin.seed.repo({
      owner,
      name: 'demo',
      files: { 'README.md': '# demo\n', '.github/pullwright.yml': CONFIG },
    });
    twin.seed.collaborator(repo, 'alice', 'write');
    twin.seed.collaborator(repo, 'reader', 'read');
    // A stranger's issue carrying the marker: never taken for the dashboard.
    twin.seed.issue({
      repo,
      title: 'fake dashboard',
      body: `${DASHBOARD_MARKER}\n- [x] run now`,
      author: 'mallory',
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
        reviewQuietMs: 60_000,
        caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
      },
      log: createSilentLogger(),
    });
    twin.setWebhookUrl(`${app.url}${WEBHOOK_PATH}`);
    const installed = await twin.actions.installApp({ account: owner, repos: [repo], sender: owner });
    installationId = installed.installationId;
  });

  afterAll(async () => {
    await app?.taskQueue.queue.obliterate({ force: true });
    if (app) await deletePrefix(app.redis, prefix);
    await app?.close();
    await twin?.close();
  });

  it('installing the app opens one dashboard issue listing each task with its next run', async () => {
    await expect.poll(() => dashboard(), { timeout: 10_000 }).toBeDefined();
    const body = dashboard()?.body ?? '';
    expect(body).toContain('### `deps`');
    expect(body).toContain('`0 6 * * 1` (Europe/Paris)');
    expect(body).toContain('`30 2 * * *` (UTC)');
    expect(body).toMatch(/\| `30 2 \* \* \*` \(UTC\) \| \d{4}-\d\d-\d\d 02:30 UTC \| never \| — \|/);
    expect(body).toContain('- [ ] <!-- pullwright:run-now:deps --> run now');
    // The stranger's look-alike is left alone.
    expect(twin.inspect.issues(repo).find((i) => i.author === 'mallory')?.body).toContain('[x] run now');
  });

  it("a writer's tick queues the task on the writer's behalf, and the box is unticked again", async () => {
    const issue = dashboard();
    if (!issue) throw new Error('no dashboard');
    const { delivery } = await twin.actions.editIssue({
      repo,
      number: issue.number,
      body: tick(issue.body, 'deps'),
      sender: 'alice',
    });
    expect(delivery.status).toBe(200);
    const jobs = await maintenanceJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      kind: 'maintenance',
      maintenanceTaskId: 'deps',
      trigger: {
        source: 'follow-up',
        reason: 'dashboard',
        actor: 'alice',
        instruction: 'Update outdated dev dependencies.',
      },
    });
    await expect.poll(() => dashboard()?.body ?? '', { timeout: 10_000 }).toContain('⏳ queued');
    expect(dashboard()?.body).toContain('- [ ] <!-- pullwright:run-now:deps --> run now');
    // Redelivered: still one job.
    await twin.redeliver(delivery.id);
    expect(await maintenanceJobs()).toHaveLength(1);
  });

  it('ticks by a reader, a bot or an edit that changes more than a box queue nothing', async () => {
    for (const j of await app.taskQueue.queue.getJobs(['waiting', 'delayed', 'prioritized'])) {
      // The schedules' own delayed jobs stay (BullMQ refuses to remove them one by one).
      if ((j.data as Task).trigger.source === 'follow-up') await j.remove();
    }
    const issue = dashboard();
    if (!issue) throw new Error('no dashboard');
    const ticked = tick(issue.body, 'docs');
    await twin.actions.editIssue({ repo, number: issue.number, body: ticked, sender: 'reader' });
    await twin.actions.editIssue({ repo, number: issue.number, body: issue.body, sender: 'alice' });
    await twin.actions.editIssue({ repo, number: issue.number, body: ticked, sender: twin.app.botLogin });
    await twin.actions.editIssue({ repo, number: issue.number, body: issue.body, sender: 'alice' });
    await twin.actions.editIssue({
      repo,
      number: issue.number,
      body: `${ticked}\nAlso bump React.`,
      sender: 'alice',
    });
    // A writer ticking a box in a stranger's look-alike issue: not the dashboard.
    const fake = twin.inspect.issues(repo).find((i) => i.author === 'mallory');
    if (!fake) throw new Error('no look-alike issue');
    const fakeBody = `${DASHBOARD_MARKER}\n- [ ] <!-- pullwright:run-now:docs --> run now\n`;
    await twin.actions.editIssue({ repo, number: fake.number, body: fakeBody, sender: 'mallory' });
    await twin.actions.editIssue({
      repo,
      number: fake.number,
      body: tick(fakeBody, 'docs'),
      sender: 'alice',
    });
    // Putting the text back is one more edit that is not a tick.
    await twin.actions.editIssue({ repo, number: issue.number, body: issue.body, sender: 'alice' });
    await twin.settled();
    expect(await maintenanceJobs()).toHaveLength(0);
  });

  it('the task worker records the run; the refresh shows its outcome and PR', async () => {
    const worker: TaskWorker = await startTaskWorker({
      redisUrl: REDIS_URL,
      prefix,
      redis: app.redis,
      subscriber: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
      concurrency: 1,
      limits: { perRepo: 1, perInstallation: 2 },
      log: createSilentLogger(),
      // What runFlow returns for a maintenance run that opened PR #77.
      process: async () => ({ status: 'succeeded', prNumber: 77, prUrl: `${twin.url}/${repo}/pull/77` }),
      afterMaintenanceRun: async (task) => {
        const github = createAppGitHubPort({
          appId: twin.app.id,
          privateKey: twin.app.privateKey,
          baseUrl: twin.url,
        });
        const refresher = createDashboardRefresher({ redis: app.redis, prefix, botLogin: twin.app.botLogin });
        await refresher.refresh({
          issues: {
            findIssueByMarker: (m, o) => github.findIssueByMarker(task.installationId, task.repo, m, o),
            createIssue: (i) => github.createIssue(task.installationId, task.repo, i),
            updateIssue: (n, c) => github.updateIssue(task.installationId, task.repo, n, c),
          },
          installationId: task.installationId,
          repo: task.repo,
          config: {
            dashboard: true,
            maintenance: [
              { id: 'deps', prompt: 'Update outdated dev dependencies.' },
              { id: 'docs', prompt: 'Fix broken links in the docs.' },
            ],
          },
        });
      },
    });
    try {
      const issue = dashboard();
      if (!issue) throw new Error('no dashboard');
      await twin.actions.editIssue({
        repo,
        number: issue.number,
        body: tick(issue.body, 'docs'),
        sender: 'alice',
      });
      await expect
        .poll(() => dashboard()?.body ?? '', { timeout: 15_000 })
        .toMatch(/✅ succeeded, [^|]*, #77 \(run now by `alice`\)/);
    } finally {
      await worker.close(1_000);
    }
    expect(installationId).toBeGreaterThan(0);
  });

  it('a config push without tasks closes the dashboard', async () => {
    await twin.actions.pushFiles({
      repo,
      branch: 'main',
      files: { '.github/pullwright.yml': 'maintenance: []\n' },
      sender: owner,
    });
    await expect.poll(() => dashboard()?.state, { timeout: 10_000 }).toBe('closed');
  });
});
