import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoRef } from '../../src/domain/task.js';
import { createOctokitGitHubForWorker } from '../../src/github/octokit-github-for-worker.js';
import { createSilentLogger } from '../../src/logger.js';
import { createGitWorkspaces } from '../../worker/flows/git-workspaces.js';
import { loadFlowConfig } from '../../worker/flows/load-flow-config.js';
import { startGitHubTwin } from '../twins/github/index.js';
import type { GitHubTwin } from '../twins/github/types.js';

/**
 * The worker's GitHub adapter (Octokit over HTTP) and git workspace adapter
 * (real git, smart HTTP) against the GitHub twin.
 */
describe('worker adapters against the GitHub twin', () => {
  let twin: GitHubTwin;
  let installationId: number;
  let work: string;
  const repo: RepoRef = { owner: 'acme', name: 'widgets' };
  const caps = {
    MAX_NETWORK: 'allowlist',
    ALLOW_WORKFLOW_EDITS: false,
    MAX_TURNS: 50,
    MAX_COST_USD: 2,
    MAX_WALL_MINUTES: 10,
  } as const;
  const bot = { name: 'pullwright[bot]', email: 'pullwright[bot]@users.noreply.github.com' };

  beforeAll(async () => {
    twin = await startGitHubTwin();
    twin.seed.user({ login: 'alice' });
    twin.seed.user({ login: 'eve' });
    await twin.seed.repo({
      owner: 'acme',
      name: 'widgets',
      files: {
        'README.md': '# widgets\n',
        'src/a.js': 'export const a = 1;\n',
        '.github/pullwright.yml': 'verify:\n  - npm test\nlimits:\n  turns: 500\n',
      },
    });
    await twin.seed.repo({ owner: 'acme', name: 'other', files: { 'x.txt': 'x\n' } });
    installationId = twin.seed.installation({ account: 'acme' }).id;
    twin.seed.collaborator('acme/widgets', 'alice', 'write');
    twin.seed.collaborator('acme/widgets', 'eve', 'read');
    work = mkdtempSync(join(tmpdir(), 'pw-adapters-'));
  });

  afterAll(async () => {
    await twin?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A client bound to acme/widgets, as a job gets it (`forRepo` mints the repository's token). */
  const github = () =>
    createOctokitGitHubForWorker({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
      log: createSilentLogger(),
    }).forRepo(installationId, repo);

  it('mints a token scoped to one repository and reads what a run needs', async () => {
    const gh = await github();
    const { token } = gh;
    expect(token).toMatch(/^ghs_/);
    expect(await gh.getDefaultBranch()).toBe('main');
    expect(await gh.getPermission('alice')).toBe('write');
    expect(await gh.getPermission('eve')).toBe('read');
    expect(await gh.getPermission('nobody')).toBe('none');
    expect(await gh.getBranchSha('main')).toMatch(/^[0-9a-f]{40}$/);
    expect(await gh.getBranchSha('nope')).toBeNull();
    // The job token cannot touch another repository of the same installation.
    const other = await fetch(`${twin.url}/repos/acme/other`, {
      headers: { authorization: `token ${token}` },
    });
    expect(other.status).toBe(404);
  });

  it('reads the repo config from the default branch and caps it', async () => {
    const gh = await github();
    const config = await loadFlowConfig(gh, caps);
    expect(config.verifyCommands).toEqual(['npm test']);
    expect(config.limits.maxTurns).toBe(50);
    expect(config.problems.join('\n')).toContain('limits.turns');
  });

  it('creates and edits comments, and opens and updates a PR idempotently', async () => {
    const gh = await github();
    const { token } = gh;
    const { number } = twin.seed.issue({ repo: 'acme/widgets', title: 'Bump a', author: 'alice' });
    const comment = await gh.createComment(number, 'starting');
    await gh.updateComment(comment.id, 'done');
    const comments = await gh.listIssueComments(number);
    expect(comments).toEqual([
      expect.objectContaining({ id: comment.id, body: 'done', author: 'pullwright[bot]', authorIsBot: true }),
    ]);

    const workspaces = createGitWorkspaces({
      cacheDir: join(work, 'cache'),
      runsDir: join(work, 'runs'),
      gitBaseUrl: twin.url,
    });
    const ws = await workspaces.prepare({ repo, token, ref: 'main', jobId: 'job-a' });
    // The working copy holds no credentials anywhere.
    expect(readFileSync(join(ws.workDir, '.git/config'), 'utf8')).not.toContain('ghs_');
    writeFileSync(join(ws.workDir, 'src/a.js'), 'export const a = 2;\n');
    const patch = await ws.extractPatch();
    expect(patch.paths).toEqual(['src/a.js']);
    const { commitSha } = await workspaces.commitAndPush({
      repo,
      token,
      parentSha: ws.baseSha,
      branch: 'pullwright/issue-1-bump-a',
      patch: patch.patch,
      message: 'Bump a\n\nCo-authored-by: alice <alice@users.noreply.github.com>\n',
      author: bot,
    });
    await ws.dispose();
    expect(await gh.getBranchSha('pullwright/issue-1-bump-a')).toBe(commitSha);
    const commits = await twin.inspect.commits('acme/widgets', 'pullwright/issue-1-bump-a');
    expect(commits[0]).toMatchObject({ sha: commitSha });
    expect(twin.inspect.pushes('acme/widgets').at(-1)?.pusher).toMatchObject({
      kind: 'installation',
      installationId,
    });

    const pull = await gh.createPull({
      title: 'Bump a',
      body: 'b1',
      head: 'pullwright/issue-1-bump-a',
      base: 'main',
      draft: false,
    });
    await expect(
      gh.createPull({
        title: 'Bump a',
        body: 'b1',
        head: 'pullwright/issue-1-bump-a',
        base: 'main',
        draft: false,
      }),
    ).rejects.toMatchObject({ code: 'conflict' });
    const [found] = await gh.listPullsByHead('pullwright/issue-1-bump-a', 'open');
    expect(found?.number).toBe(pull.number);
    expect(found?.headRepoFullName).toBe('acme/widgets');
    const updated = await gh.updatePull(pull.number, { body: 'b2' });
    expect(updated.body).toBe('b2');
    await gh.addLabels(pull.number, ['pullwright']);
    expect(twin.inspect.labels('acme/widgets')).toContain('pullwright');
  });

  it('refuses a push over commits a person added, and sees them as foreign', async () => {
    const gh = await github();
    const { token } = gh;
    const workspaces = createGitWorkspaces({
      cacheDir: join(work, 'cache'),
      runsDir: join(work, 'runs'),
      gitBaseUrl: twin.url,
    });
    const ws = await workspaces.prepare({ repo, token, ref: 'pullwright/issue-1-bump-a', jobId: 'job-b' });
    await twin.seed.branch({
      repo: 'acme/widgets',
      branch: 'pullwright/issue-1-bump-a',
      from: 'pullwright/issue-1-bump-a',
      files: { 'NOTES.md': 'by a person\n' },
      author: 'alice',
    });
    writeFileSync(join(ws.workDir, 'README.md'), '# widgets!\n');
    const patch = await ws.extractPatch();
    await expect(
      workspaces.commitAndPush({
        repo,
        token,
        parentSha: ws.baseSha,
        branch: 'pullwright/issue-1-bump-a',
        patch: patch.patch,
        message: 'x',
        author: bot,
      }),
    ).rejects.toMatchObject({ code: 'conflict' });
    await ws.dispose();
    const head = await gh.getBranchSha('pullwright/issue-1-bump-a');
    const main = await gh.getBranchSha('main');
    const foreign = await workspaces.foreignCommits({
      repo,
      token,
      branchSha: head as string,
      sinceSha: main as string,
      botEmail: bot.email,
    });
    expect(foreign).toHaveLength(1);
  });

  it('lists review threads with their diff hunks and replies in them', async () => {
    const gh = await github();
    const [pull] = await gh.listPullsByHead('pullwright/issue-1-bump-a', 'open');
    const number = pull?.number as number;
    const open = twin.seed.reviewThread({
      repo: 'acme/widgets',
      number,
      path: 'src/a.js',
      line: 1,
      comments: [{ author: 'alice', body: 'why 2?' }],
    });
    const closed = twin.seed.reviewThread({
      repo: 'acme/widgets',
      number,
      path: 'src/a.js',
      line: 1,
      comments: [{ author: 'alice', body: 'ok' }],
    });
    twin.seed.resolveThread(closed.threadId);
    twin.seed.review({
      repo: 'acme/widgets',
      number,
      author: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'Please explain',
    });
    const threads = await gh.listReviewThreads(number);
    const mine = threads.find((t) => t.id === open.threadId);
    expect(mine).toMatchObject({ isResolved: false, path: 'src/a.js' });
    expect(mine?.comments[0]).toMatchObject({ author: 'alice', body: 'why 2?' });
    expect(threads.find((t) => t.id === closed.threadId)?.isResolved).toBe(true);
    const reviews = await gh.listReviews(number);
    expect(reviews.at(-1)).toMatchObject({
      author: 'alice',
      body: 'Please explain',
      state: 'CHANGES_REQUESTED',
    });
    await gh.replyToReviewComment(number, open.commentIds[0] as number, 'Done in abc1234');
    const replies = twin.inspect
      .reviewComments('acme/widgets', number)
      .filter((c) => c.body === 'Done in abc1234');
    expect(replies).toHaveLength(1);
  });

  it('survives intermittent 502s and secondary rate limits', async () => {
    const gh = await github();
    twin.faults.add({ kind: 'status', status: 502, path: '/repos/acme/widgets', times: 2 });
    twin.faults.add({
      kind: 'secondary-rate-limit',
      retryAfter: 1,
      path: '/repos/acme/widgets/issues/*',
      times: 1,
    });
    expect(await gh.getDefaultBranch()).toBe('main');
    expect((await gh.getIssue(1)).title).toBe('Bump a');
    twin.faults.clear();
  });
});
