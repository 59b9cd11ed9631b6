import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServer, startAppServer, WEBHOOK_PATH } from '../../../src/app/app-server.js';
import type { Task } from '../../../src/domain/task.js';
import { createOctokitGitHubForWorker } from '../../../src/github/octokit-github-for-worker.js';
import { createSilentLogger } from '../../../src/logger.js';
import {
  createFollowUpMarks,
  type FollowUpMarks,
  type RecordedPush,
} from '../../../src/queue/follow-up-marks.js';
import { TASK_QUEUE } from '../../../src/queue/queue-names.js';
import { DEFAULT_FLOW_CONFIG } from '../../../worker/flows/flow-config.js';
import type { FlowContext } from '../../../worker/flows/flow-context.js';
import { repairIfAlreadyRed } from '../../../worker/flows/reconcile-ci.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../queue/redis-helpers.js';
import { type GitHubTwin, signBody, startGitHubTwin } from '../../twins/github/index.js';

/**
 * Follow-ups end to end at the intake: the GitHub twin sends real signed CI and push
 * webhooks, the app decides with the follow-up marks a worker would have written, and
 * the jobs land in real Redis. (The worker's side, repairing and updating, is in tests/e2e.)
 */
describe('follow-ups through the GitHub twin (real Redis)', () => {
  let twin: GitHubTwin;
  let app: AppServer;
  let marks: FollowUpMarks;
  let prefix: string;
  let installationId: number;
  const owner = `org${randomUUID().slice(0, 6)}`;
  const repo = `${owner}/demo`;
  const repoRef = () => ({ owner, name: 'demo' });

  const liveJobs = async () =>
    (await app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => ({
      id: j.id ?? '',
      data: j.data as Task,
    }));
  const jobsFor = async (number: number, repoName = 'demo') =>
    (await liveJobs()).filter((j) => j.data.number === number && j.data.repo.name === repoName);
  const clearJobs = async () => {
    for (const j of await app.taskQueue.queue.getJobs(['waiting', 'delayed', 'prioritized']))
      await j.remove();
  };

  /** What the worker records after pushing `sha` to a PR (api-intake.md §2). */
  const recordPush = (
    number: number,
    headSha: string,
    overrides: Partial<RecordedPush> = {},
    name = 'demo',
  ) =>
    marks.recordPush(
      { installationId, repo: { owner, name }, number },
      {
        headSha,
        headRef: `pullwright/issue-${number}`,
        baseRef: 'main',
        origin: { requester: 'alice', requesterId: 42, kind: 'implement' },
        openedByPullwright: true,
        pushedBy: 'implement',
        ...overrides,
      },
    );

  /** A Pullwright-style PR: a branch with one commit, opened by the app's bot. */
  async function pullwrightPr(
    name: string,
    branch: string,
    files: Record<string, string>,
    repoName = 'demo',
  ) {
    const full = `${owner}/${repoName}`;
    const { sha } = await twin.seed.branch({ repo: full, branch, files, author: twin.app.botLogin });
    const { number } = await twin.seed.pullRequest({
      repo: full,
      head: branch,
      title: name,
      author: twin.app.botLogin,
    });
    return { number, sha };
  }

  const redCi = (sha: string, repoName = 'demo') =>
    twin.ci.run({
      repo: `${owner}/${repoName}`,
      sha,
      jobs: [{ name: 'test', conclusion: 'failure', log: 'FAIL x' }],
    });

  beforeAll(async () => {
    prefix = uniquePrefix('followups');
    twin = await startGitHubTwin();
    for (const login of [owner, 'alice', 'bob', 'reader']) twin.seed.user({ login });
    await twin.seed.repo({ owner, name: 'demo', files: { 'README.md': '# demo\nline two\n' } });
    await twin.seed.repo({
      owner,
      name: 'norepair',
      files: { 'README.md': '# n\n', '.github/pullwright.yml': 'ci: { repair: false }\nupdateBranch: off\n' },
    });
    await twin.seed.repo({
      owner,
      name: 'behind',
      files: { 'README.md': '# b\n', '.github/pullwright.yml': 'updateBranch: always-behind\n' },
    });
    installationId = twin.seed.installation({ account: owner }).id;
    twin.seed.collaborator(repo, 'alice', 'write');
    twin.seed.collaborator(repo, 'bob', 'write');
    twin.seed.collaborator(repo, 'reader', 'read');
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
        ciSettleMs: 0,
        mergeabilityTimeoutMs: 5_000,
        caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false, MAX_CI_REPAIRS: 2 },
      },
      log: createSilentLogger(),
    });
    twin.setWebhookUrl(`${app.url}${WEBHOOK_PATH}`);
    marks = createFollowUpMarks(app.redis, prefix);
  });

  afterAll(async () => {
    await app?.taskQueue.queue.obliterate({ force: true });
    if (app) await deletePrefix(app.redis, prefix);
    await app?.close();
    await twin?.close();
  });

  it('red CI on the head Pullwright pushed queues one repair-ci for that head, on behalf of the requester', async () => {
    const { number, sha } = await pullwrightPr('repair me', 'pullwright/issue-1', { 'a.txt': 'a\n' });
    await recordPush(number, sha);
    await redCi(sha);
    await twin.settled();
    const jobs = await jobsFor(number);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data).toMatchObject({
      kind: 'repair-ci',
      number,
      trigger: { source: 'follow-up', actor: 'alice', actorId: 42, reason: 'ci-failed', headSha: sha },
    });
    // check_suite, workflow_run and any status of one push, and their redeliveries: still one job, attempt 1.
    for (const d of twin.deliveries.filter((d) =>
      ['check_suite', 'workflow_run', 'status'].includes(d.event),
    )) {
      await twin.redeliver(d.id);
    }
    expect(await jobsFor(number)).toHaveLength(1);
    expect(await marks.getRepair({ installationId, repo: repoRef(), number }, sha)).toEqual({
      attempt: 1,
      maxAttempts: 2,
      exhausted: false,
    });
  });

  it('counts repairs across heads, then queues one final report when the limit is reached', async () => {
    const { number, sha } = await pullwrightPr('limit', 'pullwright/issue-2', { 'b.txt': 'b\n' });
    const target = { installationId, repo: repoRef(), number };
    await recordPush(number, sha);
    await redCi(sha);
    await twin.settled();
    await clearJobs(); // the worker ran the repair and pushed a new head:
    const second = await twin.seed.branch({ repo, branch: 'pullwright/issue-2', files: { 'b.txt': 'b2\n' } });
    await recordPush(number, second.sha, { pushedBy: 'repair-ci' });
    await redCi(second.sha);
    await twin.settled();
    expect(await marks.getRepair(target, second.sha)).toMatchObject({
      attempt: 2,
      maxAttempts: 2,
      exhausted: false,
    });
    await clearJobs();
    const third = await twin.seed.branch({ repo, branch: 'pullwright/issue-2', files: { 'b.txt': 'b3\n' } });
    await recordPush(number, third.sha, { pushedBy: 'repair-ci' });
    await redCi(third.sha);
    await twin.settled();
    // The limit is reached: one job, which reports what still fails and stops (the worker reads `exhausted`).
    expect(await jobsFor(number)).toHaveLength(1);
    expect(await marks.getRepair(target, third.sha)).toEqual({ attempt: 2, maxAttempts: 2, exhausted: true });
    expect((await marks.getPull(target))?.repairs).toBe(2);
  });

  it('never repairs a head a person pushed, a green head, or a PR Pullwright did not open', async () => {
    const { number, sha } = await pullwrightPr('person pushes', 'pullwright/issue-3', { 'c.txt': 'c\n' });
    await recordPush(number, sha);
    const pushed = await twin.actions.pushFiles({
      repo,
      branch: 'pullwright/issue-3',
      files: { 'c.txt': 'mine\n' },
      sender: 'alice',
    });
    await redCi(pushed.sha);
    await twin.ci.run({ repo, sha, jobs: [{ name: 'test', conclusion: 'success' }] });
    await twin.settled();
    expect(await jobsFor(number)).toHaveLength(0);

    // A person's PR Pullwright once pushed to (a revise): recorded, but not opened by Pullwright.
    const theirs = await twin.seed.branch({
      repo,
      branch: 'alice/feature',
      files: { 'd.txt': 'd\n' },
      author: 'alice',
    });
    const pr = await twin.seed.pullRequest({ repo, head: 'alice/feature', title: 'mine', author: 'alice' });
    await recordPush(pr.number, theirs.sha, { openedByPullwright: false, pushedBy: 'revise' });
    await redCi(theirs.sha);
    await twin.settled();
    expect(await jobsFor(pr.number)).toHaveLength(0);

    // …unless a writer asks; a reader cannot.
    await twin.actions.commentOnIssue({ repo, number: pr.number, body: '@agent fix ci', sender: 'reader' });
    expect(await jobsFor(pr.number)).toHaveLength(0);
    await twin.actions.commentOnIssue({
      repo,
      number: pr.number,
      body: '@agent fix ci please',
      sender: 'bob',
    });
    const asked = await jobsFor(pr.number);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.data).toMatchObject({
      kind: 'repair-ci',
      trigger: { source: 'issue_comment', actor: 'bob' },
    });
  });

  it('ci.repair: false turns automatic repairs off', async () => {
    const { number, sha } = await pullwrightPr('off', 'pullwright/issue-4', { 'e.txt': 'e\n' }, 'norepair');
    await recordPush(number, sha, {}, 'norepair');
    await redCi(sha, 'norepair');
    await twin.settled();
    expect(await jobsFor(number, 'norepair')).toHaveLength(0);
  });

  it('a repair for a PR whose job is still running is queued after that job ends, not dropped', async () => {
    const { number, sha } = await pullwrightPr('busy', 'pullwright/issue-5', { 'f.txt': 'f\n' });
    await recordPush(number, sha);
    await clearJobs(); // other tests' queued jobs are not this worker's business
    // The run that pushed this head is still reporting when CI comes back red.
    await twin.actions.commentOnIssue({ repo, number, body: '@agent tidy the wording', sender: 'alice' });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const started: string[] = [];
    const worker = new Worker(
      TASK_QUEUE,
      async (job) => {
        if ((job.data as Task).number !== number) return;
        started.push(job.name);
        if (job.name === 'revise') await gate;
      },
      { prefix, connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }) },
    );
    try {
      await expect.poll(() => started).toContain('revise');
      await redCi(sha);
      await twin.settled();
      expect(started).not.toContain('repair-ci');
      release();
      await expect.poll(() => started, { timeout: 10_000 }).toContain('repair-ci');
    } finally {
      release();
      await worker.close();
    }
  });

  it('a base push queues update-branch for Pullwright PRs that now conflict, once per base head', async () => {
    const { number, sha } = await pullwrightPr('conflicts', 'pullwright/issue-6', {
      'README.md': '# demo\nours\n',
    });
    const clean = await pullwrightPr('clean', 'pullwright/issue-7', { 'g.txt': 'g\n' });
    await recordPush(number, sha);
    await recordPush(clean.number, clean.sha);
    const push = await twin.actions.pushFiles({
      repo,
      branch: 'main',
      files: { 'README.md': '# demo\ntheirs\n' },
      sender: 'bob',
    });
    expect(push.delivery.status).toBe(200);
    await expect.poll(async () => (await jobsFor(number)).length, { timeout: 10_000 }).toBe(1);
    const [job] = await jobsFor(number);
    expect(job?.data).toMatchObject({
      kind: 'update-branch',
      trigger: { source: 'follow-up', actor: 'alice', reason: 'conflict' },
    });
    // The clean PR merges fine: nothing for it with the default `updateBranch: conflicts`.
    expect(await jobsFor(clean.number)).toHaveLength(0);
    // The same push delivered again changes nothing.
    await clearJobs();
    await twin.redeliver(push.delivery.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(await jobsFor(number)).toHaveLength(0);
  });

  it("always-behind updates a PR the base moved past; off never does; a person's push to base is only a state change", async () => {
    const behind = await pullwrightPr('behind', 'pullwright/issue-8', { 'h.txt': 'h\n' }, 'behind');
    await recordPush(behind.number, behind.sha, {}, 'behind');
    await twin.actions.pushFiles({
      repo: `${owner}/behind`,
      branch: 'main',
      files: { 'z.txt': 'z\n' },
      sender: owner,
    });
    await expect
      .poll(async () => (await jobsFor(behind.number, 'behind')).length, { timeout: 10_000 })
      .toBe(1);
    expect((await jobsFor(behind.number, 'behind'))[0]?.data).toMatchObject({
      kind: 'update-branch',
      trigger: { reason: 'behind', actor: 'alice' },
    });

    const off = await pullwrightPr(
      'off',
      'pullwright/issue-9',
      { 'README.md': '# n\nconflict\n' },
      'norepair',
    );
    await recordPush(off.number, off.sha, {}, 'norepair');
    await twin.actions.pushFiles({
      repo: `${owner}/norepair`,
      branch: 'main',
      files: { 'README.md': '# n\nother\n' },
      sender: owner,
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await jobsFor(off.number, 'norepair')).toHaveLength(0);
  });

  it('a maintenance PR follow-up carries its task id as authority, not a person', async () => {
    const { number, sha } = await pullwrightPr('deps', 'pullwright/maintenance-deps', { 'i.txt': 'i\n' });
    await recordPush(number, sha, {
      origin: { requester: 'schedule', kind: 'maintenance', maintenanceTaskId: 'deps' },
      pushedBy: 'maintenance',
    });
    await redCi(sha);
    await twin.settled();
    expect((await jobsFor(number))[0]?.data).toMatchObject({
      kind: 'repair-ci',
      maintenanceTaskId: 'deps',
      trigger: { source: 'follow-up', actor: 'schedule', reason: 'ci-failed', headSha: sha },
    });
  });

  it("a legacy commit status alone is enough; Pullwright's own failing check suite is not CI", async () => {
    const { number, sha } = await pullwrightPr('status', 'pullwright/issue-11', { 'k.txt': 'k\n' });
    await recordPush(number, sha);
    // Pullwright's own check run (a failed run of its own) completes its suite red: not a CI failure.
    const body = JSON.stringify({
      action: 'completed',
      installation: { id: installationId },
      repository: { id: 1, name: 'demo', owner: { login: owner } },
      sender: { login: twin.app.botLogin, id: twin.app.botId, type: 'Bot' },
      check_suite: {
        id: 99,
        head_sha: sha,
        head_branch: 'pullwright/issue-11',
        status: 'completed',
        conclusion: 'failure',
        app: { id: Number(twin.app.id), slug: twin.app.slug },
        pull_requests: [{ number, head: { sha, ref: 'pullwright/issue-11' }, base: { ref: 'main' } }],
      },
    });
    const own = await fetch(`${app.url}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'check_suite',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signBody(twin.app.webhookSecret, body),
      },
      body,
    });
    expect(own.status).toBe(200);
    expect(await jobsFor(number)).toHaveLength(0);
    // An external CI reporting through commit statuses only.
    const { delivery } = await twin.ci.status({ repo, sha, state: 'failure', context: 'ci/external' });
    expect(delivery.status).toBe(200);
    expect((await jobsFor(number))[0]?.data).toMatchObject({ kind: 'repair-ci', trigger: { headSha: sha } });
  });

  it("a writer's answer to the agent's question starts the next run like any mention", async () => {
    const { number, sha } = await pullwrightPr('question', 'pullwright/issue-12', { 'q.txt': 'q\n' });
    await recordPush(number, sha);
    await twin.actions.commentOnIssue({ repo, number, body: '@agent add a flag for this', sender: 'alice' });
    const [asking] = await jobsFor(number);
    expect(asking?.data).toMatchObject({ kind: 'revise', trigger: { actor: 'alice' } });
    // The run stopped with a question (needs_input) and its job finished.
    const job = await app.taskQueue.queue.getJob(asking?.id ?? '');
    await job?.remove();
    await twin.actions.commentOnIssue({
      repo,
      number,
      body: '> Should the flag default to on?\n\n@agent off by default, please',
      sender: 'bob',
    });
    const next = await jobsFor(number);
    expect(next).toHaveLength(1);
    expect(next[0]?.data).toMatchObject({
      kind: 'revise',
      trigger: { actor: 'bob', source: 'issue_comment', instruction: 'off by default, please' },
    });
  });

  it('closing the PR forgets it: later CI results queue nothing', async () => {
    const { number, sha } = await pullwrightPr('closed', 'pullwright/issue-10', { 'j.txt': 'j\n' });
    await recordPush(number, sha);
    const body = JSON.stringify({
      action: 'closed',
      installation: { id: installationId },
      repository: { id: 1, name: 'demo', owner: { login: owner } },
      sender: { login: 'alice', id: 42, type: 'User' },
      pull_request: { number },
    });
    const res = await fetch(`${app.url}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signBody(twin.app.webhookSecret, body),
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(await marks.getPull({ installationId, repo: repoRef(), number })).toBeNull();
    await redCi(sha);
    await twin.settled();
    expect(await jobsFor(number)).toHaveLength(0);
  });

  /** The worker's reconcile right after it records `sha` on PR `number`, with a real client to the twin. */
  async function reconcile(number: number, sha: string) {
    const log = createSilentLogger();
    const github = await createOctokitGitHubForWorker({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
      log,
    }).forRepo(installationId, repoRef());
    const ctx = {
      task: {
        kind: 'implement',
        installationId,
        repo: repoRef(),
        number: 1,
        trigger: { source: 'assignment', actor: 'alice', actorId: 42 },
        requestedAt: new Date().toISOString(),
      },
      deps: { followUps: marks, bot: { login: twin.app.botLogin } },
      config: DEFAULT_FLOW_CONFIG,
      github,
      log,
    } as unknown as FlowContext;
    return repairIfAlreadyRed(ctx, { number, headSha: sha });
  }

  it('CI red before the head was recorded: the webhook is ignored, the reconcile at record time queues one repair', async () => {
    const { number, sha } = await pullwrightPr('early red', 'pullwright/issue-20', { 'e.txt': 'e\n' });
    await redCi(sha);
    await twin.settled();
    expect(await jobsFor(number)).toHaveLength(0);
    await recordPush(number, sha);
    expect(await reconcile(number, sha)).toBe('enqueued');
    const jobs = await jobsFor(number);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data).toMatchObject({
      kind: 'repair-ci',
      trigger: { source: 'follow-up', actor: 'alice', actorId: 42, reason: 'ci-failed', headSha: sha },
    });
    // Every webhook of that red head, delivered again now that the mark exists: still one repair.
    for (const d of twin.deliveries.filter((d) =>
      ['check_suite', 'workflow_run', 'status'].includes(d.event),
    ))
      await twin.redeliver(d.id);
    expect(await reconcile(number, sha)).toBe('duplicate');
    expect(await jobsFor(number)).toHaveLength(1);
    expect(await marks.getRepair({ installationId, repo: repoRef(), number }, sha)).toMatchObject({
      attempt: 1,
    });
  });

  it('webhook first, reconcile second (both saw the red result): one repair; a green or approval-pending head: none', async () => {
    const { number, sha } = await pullwrightPr('both see it', 'pullwright/issue-21', { 'f.txt': 'f\n' });
    await recordPush(number, sha);
    await redCi(sha);
    await twin.settled();
    expect(await jobsFor(number)).toHaveLength(1);
    expect(await reconcile(number, sha)).toBe('duplicate');
    expect(await jobsFor(number)).toHaveLength(1);

    const green = await pullwrightPr('green', 'pullwright/issue-22', { 'g.txt': 'g\n' });
    await twin.ci.run({ repo, sha: green.sha, jobs: [{ name: 'test', conclusion: 'success' }] });
    await twin.settled();
    await recordPush(green.number, green.sha);
    expect(await reconcile(green.number, green.sha)).toBe('not red');
    // A fork PR's workflow run awaiting a maintainer's approval is `action_required`: not red.
    const pending = await pullwrightPr('approval', 'pullwright/issue-23', { 'h.txt': 'h\n' });
    await recordPush(pending.number, pending.sha);
    await twin.ci.run({ repo, sha: pending.sha, jobs: [{ name: 'test', conclusion: 'action_required' }] });
    await twin.settled();
    expect(await reconcile(pending.number, pending.sha)).toBe('not red');
    expect(await jobsFor(green.number)).toHaveLength(0);
    expect(await jobsFor(pending.number)).toHaveLength(0);
    // A person's PR Pullwright pushed to (a revise): red, but never repaired by itself.
    const theirs = await pullwrightPr('theirs', 'feature/theirs', { 'i.txt': 'i\n' });
    await redCi(theirs.sha);
    await twin.settled();
    await recordPush(theirs.number, theirs.sha, { openedByPullwright: false, pushedBy: 'revise' });
    expect(await reconcile(theirs.number, theirs.sha)).toBe('ignored');
    expect(await jobsFor(theirs.number)).toHaveLength(0);
  });
});
