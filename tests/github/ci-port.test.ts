import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RepoRef } from '../../src/domain/task.js';
import { createAppGitHubPort } from '../../src/github/app-github-port.js';
import type { RepoGitHub } from '../../src/github/github-for-worker.js';
import { HeadTailBuffer } from '../../src/github/job-log.js';
import {
  createOctokitGitHubForWorker,
  jobTokenPermissions,
} from '../../src/github/octokit-github-for-worker.js';
import { createOctokitRepoGitHub } from '../../src/github/octokit-repo-github.js';
import { createSilentLogger } from '../../src/logger.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';

/** The CI, mergeability, review-thread and issue methods of both GitHub ports, against the twin's scripted CI. */
describe('GitHub ports: CI, mergeability, threads, issues (against the twin)', () => {
  let twin: GitHubTwin;
  let gh: RepoGitHub;
  let installationId: number;
  let pr: number;
  let headSha: string;
  let baseSha: string;
  const repo: RepoRef = { owner: 'acme', name: 'ci' };
  const worker = () =>
    createOctokitGitHubForWorker({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
      log: createSilentLogger(),
    });

  beforeAll(async () => {
    twin = await startGitHubTwin();
    for (const login of ['acme', 'alice', 'mallory']) twin.seed.user({ login });
    baseSha = (
      await twin.seed.repo({
        owner: 'acme',
        name: 'ci',
        files: {
          'a.txt': 'one\ntwo\n',
          // The repo's own CI: fails while b.txt lacks "ok", printing an annotation and a long log.
          '.twin-ci.json': JSON.stringify({
            name: 'test',
            command:
              'seq 1 3000; grep -q ok b.txt || { echo "::error file=b.txt,line=1::b.txt is not ok"; exit 1; }',
          }),
        },
      })
    ).headSha;
    installationId = twin.seed.installation({
      account: 'acme',
      permissions: {
        contents: 'write',
        issues: 'write',
        pull_requests: 'write',
        metadata: 'read',
        checks: 'write',
        actions: 'write',
        statuses: 'read',
      },
    }).id;
    twin.seed.collaborator('acme/ci', 'alice', 'write');
    await twin.seed.branch({ repo: 'acme/ci', branch: 'fix', files: { 'b.txt': 'not yet\n' } });
    pr = (await twin.seed.pullRequest({ repo: 'acme/ci', head: 'fix', title: 'Fix', author: 'alice' }))
      .number;
    twin.ci.enable('acme/ci');
    headSha = (
      await twin.actions.pushFiles({
        repo: 'acme/ci',
        branch: 'fix',
        files: { 'c.txt': 'c\n' },
        sender: 'alice',
      })
    ).sha;
    await twin.ci.idle();
    gh = await worker().forRepo(installationId, repo);
  }, 60_000);

  afterAll(async () => {
    await twin?.close();
  });

  it('asks for the optional permissions only when the installation has them', async () => {
    expect(gh.tokenPermissions).toMatchObject({
      checks: 'write',
      actions: 'write',
      statuses: 'read',
      contents: 'write',
    });
    expect(jobTokenPermissions({ checks: 'write' })).toEqual({
      contents: 'write',
      issues: 'write',
      pull_requests: 'write',
      metadata: 'read',
      checks: 'write',
    });
    // statuses: write is never needed by a job, so it is asked for as read.
    expect(jobTokenPermissions({ statuses: 'write', actions: 'read' })).toMatchObject({
      statuses: 'read',
      actions: 'read',
    });
    await expect(gh.rerunFailedJobs(1)).rejects.toMatchObject({ code: 'not_found' });
    // Without actions: write the call is refused before it is made (not retryable).
    const noActions = createOctokitRepoGitHub({
      octokit: new Octokit({ baseUrl: twin.url, auth: gh.token }),
      repo,
      token: gh.token,
      tokenExpiresAt: gh.tokenExpiresAt,
      permissions: { contents: 'write', actions: 'read' },
    });
    await expect(noActions.rerunFailedJobs(1)).rejects.toMatchObject({ code: 'forbidden', retryable: false });
  });

  it('reads what failed: check runs with annotations, suites, runs, jobs and the capped job log', async () => {
    const runs = await gh.listCheckRunsForRef(headSha, { annotations: true });
    const test = runs.find((r) => r.name === 'test')!;
    expect(test).toMatchObject({ conclusion: 'failure', appSlug: 'github-actions', status: 'completed' });
    expect(test.detailsUrl).toMatch(/\/acme\/ci\/actions\/runs\/\d+\/job\/\d+$/);
    expect(test.annotations).toEqual([
      { path: 'b.txt', startLine: 1, endLine: 1, level: 'failure', message: 'b.txt is not ok', title: null },
    ]);
    const suites = await gh.listCheckSuitesForRef(headSha);
    expect(suites.find((s) => s.appSlug === 'github-actions')).toMatchObject({
      conclusion: 'failure',
      latestCheckRunsCount: 1,
    });
    const [run] = await gh.listWorkflowRunsForSha(headSha);
    expect(run).toMatchObject({
      conclusion: 'failure',
      pullNumbers: [pr],
      event: 'pull_request',
      headBranch: 'fix',
    });
    expect(await gh.getWorkflowRun(run!.id)).toMatchObject({ id: run!.id, runAttempt: 1 });
    const [job] = await gh.listJobsForWorkflowRun(run!.id);
    expect(job).toMatchObject({ name: 'test', conclusion: 'failure' });

    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const log = await gh.downloadJobLog(job!.id, { maxBytes: 4096 });
    // The download link is its own credential: the installation token never travels to it.
    const download = fetchSpy.mock.calls.find(([u]) => String(u).includes('/_twin/job-logs/'));
    fetchSpy.mockRestore();
    expect(download).toBeDefined();
    expect(JSON.stringify(download?.[1] ?? {})).not.toContain(gh.token);
    expect(log!.truncated).toBe(true);
    expect(log!.totalBytes).toBeGreaterThan(10_000);
    expect(Buffer.byteLength(log!.text)).toBeLessThan(4096 + 100);
    // Head and tail kept: the start of the output and the error at its end.
    expect(log!.text).toMatch(/Run seq 1 3000/);
    expect(log!.text).toMatch(/bytes omitted/);
    expect(log!.text).toMatch(/::error file=b.txt,line=1::b.txt is not ok[\s\S]*exit code 1/);
    expect(await gh.downloadJobLog(999_999)).toBeNull();

    const status = await gh.getCombinedStatus(headSha);
    expect(status).toMatchObject({ state: 'failure', statuses: [{ context: 'ci/test', state: 'failure' }] });
  });

  it('re-runs failed jobs and sees the new attempt', async () => {
    const [run] = await gh.listWorkflowRunsForSha(headSha);
    twin.ci.outcome({ repo: 'acme/ci', sha: headSha, job: 'test', outcomes: ['failure', 'success'] });
    await gh.rerunFailedJobs(run!.id);
    await twin.ci.idle();
    expect(await gh.getWorkflowRun(run!.id)).toMatchObject({ runAttempt: 2, conclusion: 'success' });
    expect(
      (await gh.listJobsForWorkflowRun(run!.id, 'all')).map((j) => [j.runAttempt, j.conclusion]),
    ).toEqual([
      [1, 'failure'],
      [2, 'success'],
    ]);
    const latest = await gh.listCheckRunsForRef(headSha);
    expect(latest.filter((r) => r.name === 'test').map((r) => r.conclusion)).toEqual(['success']);
  });

  it('creates and completes its own check run, sending annotations past 50 in further requests', async () => {
    const created = await gh.createCheckRun({
      name: 'Pullwright',
      headSha,
      status: 'in_progress',
      output: { title: 'Working', summary: 'Plan step 1' },
    });
    expect(created).toMatchObject({ status: 'in_progress', conclusion: null, appSlug: 'pullwright' });
    const annotations = Array.from({ length: 120 }, (_, i) => ({
      path: 'a.txt',
      startLine: i + 1,
      endLine: i + 1,
      level: 'warning' as const,
      message: `note ${i}`,
    }));
    const done = await gh.updateCheckRun(created.id, {
      conclusion: 'failure',
      output: { title: 'Failed', summary: 'Verification failed', annotations },
    });
    expect(done).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { annotationsCount: 120 },
    });
    // A summary over GitHub's 65535 characters is cut (with a note) instead of refused.
    const long = await gh.updateCheckRun(created.id, {
      output: { title: 'Long', summary: 'y'.repeat(70_000) },
    });
    expect(long.output.summary).toHaveLength(65_535);
    expect(long.output.summary).toMatch(/cut: GitHub keeps at most 65535 characters\)$/);
    const read = (await gh.listCheckRunsForRef(headSha, { annotations: true })).find(
      (r) => r.id === created.id,
    )!;
    expect(read.annotations.map((a) => a.message)).toEqual(annotations.map((a) => a.message));
  });

  it('compares, lists PR commits with their authors, and waits for mergeable computed from git', async () => {
    expect(await gh.compareCommits('main', 'fix')).toEqual({
      status: 'ahead',
      aheadBy: 2,
      behindBy: 0,
      mergeBaseSha: baseSha,
    });
    const commits = await gh.listPullCommits(pr);
    expect(commits.map((c) => c.authorLogin)).toEqual(['acme', 'alice']);
    expect(commits[1]).toMatchObject({ sha: headSha, parents: [commits[0]!.sha] });
    expect(await gh.getPullMergeability(pr)).toMatchObject({ mergeable: true, baseSha });
    await twin.actions.pushFiles({
      repo: 'acme/ci',
      branch: 'main',
      files: { 'b.txt': 'conflict\n' },
      sender: 'acme',
    });
    const conflicted = await gh.getPullMergeability(pr);
    expect(conflicted).toMatchObject({ mergeable: false, mergeableState: 'dirty' });
    expect(await gh.compareCommits('main', 'fix')).toMatchObject({
      status: 'diverged',
      aheadBy: 2,
      behindBy: 1,
    });
    await twin.ci.idle();
  });

  it('resolves a review thread (GraphQL)', async () => {
    const { threadId } = twin.seed.reviewThread({
      repo: 'acme/ci',
      number: pr,
      path: 'a.txt',
      line: 1,
      comments: [{ author: 'alice', body: 'fix' }],
    });
    await gh.resolveReviewThread(threadId);
    expect((await gh.listReviewThreads(pr)).find((t) => t.id === threadId)?.isResolved).toBe(true);
    await expect(gh.resolveReviewThread('nope')).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });

  it('finds the dashboard issue by its marker among the app’s own issues only', async () => {
    const marker = '<!-- pullwright:dashboard -->';
    expect(await gh.findIssueByMarker(marker)).toBeNull();
    // A stranger pasting the marker into their issue must not be adopted.
    twin.seed.issue({
      repo: 'acme/ci',
      title: 'Fake dashboard',
      body: `${marker}\n- [x] run now`,
      author: 'mallory',
    });
    expect(await gh.findIssueByMarker(marker)).toBeNull();
    const created = await gh.createIssue({
      title: 'Pullwright dashboard',
      body: `${marker}\n- [ ] run now`,
      labels: ['pullwright'],
    });
    expect(created).toMatchObject({
      author: twin.app.botLogin,
      labels: ['pullwright'],
      isPullRequest: false,
    });
    expect((await gh.findIssueByMarker(marker))?.number).toBe(created.number);
    const closed = await gh.updateIssue(created.number, { body: `${marker}\n(no tasks)`, state: 'closed' });
    expect(closed).toMatchObject({ state: 'closed', body: `${marker}\n(no tasks)` });
    expect(await gh.findIssueByMarker(marker, { state: 'open' })).toBeNull();
    expect((await gh.findIssueByMarker(marker, { state: 'all' }))?.number).toBe(created.number);

    const app = createAppGitHubPort({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
    });
    expect(
      (await app.findIssueByMarker(installationId, repo, marker, { creator: twin.app.botLogin }))?.number,
    ).toBe(created.number);
    expect((await app.listPullsForCommit(installationId, repo, headSha)).map((p) => p.number)).toEqual([pr]);
    expect((await app.listOpenPulls(installationId, repo, { base: 'main' })).map((p) => p.number)).toEqual([
      pr,
    ]);
    expect((await app.getCombinedStatus(installationId, repo, headSha)).state).toBe('success');
    expect((await app.listCheckSuitesForRef(installationId, repo, headSha)).length).toBe(2);
    expect(await app.getPullMergeability(installationId, repo, pr)).toMatchObject({ mergeable: false });
  });

  it('keeps the head and the tail of a stream within the cap', () => {
    const b = new HeadTailBuffer(10);
    for (const s of ['abc', 'defgh', 'ijklmnop', 'qrstuvwxyz']) b.push(Buffer.from(s));
    expect(b.result()).toEqual({
      text: 'abcde\n[… 16 bytes omitted …]\nvwxyz',
      truncated: true,
      totalBytes: 26,
    });
    const small = new HeadTailBuffer(10);
    small.push(Buffer.from('short'));
    expect(small.result()).toEqual({ text: 'short', truncated: false, totalBytes: 5 });
  });
});
