import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoRef } from '../../src/domain/task.js';
import { createAppGitHubPort } from '../../src/github/app-github-port.js';
import type { GitHubForWorker } from '../../src/github/github-for-worker.js';
import { createOctokitGitHubForWorker } from '../../src/github/octokit-github-for-worker.js';
import { MAX_REPO_FILE_BYTES } from '../../src/github/repo-file.js';
import { createSilentLogger } from '../../src/logger.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';

/** The worker's repository-scoped GitHub client against the GitHub twin. */
describe('createOctokitGitHubForWorker against the GitHub twin', () => {
  let twin: GitHubTwin;
  let github: GitHubForWorker;
  let installationId: number;
  const repo: RepoRef = { owner: 'acme', name: 'widgets' };
  const other: RepoRef = { owner: 'acme', name: 'other' };
  let pullNumber: number;
  const newClient = () =>
    createOctokitGitHubForWorker({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
      log: createSilentLogger(),
    });

  beforeAll(async () => {
    twin = await startGitHubTwin();
    for (const login of ['acme', 'alice']) twin.seed.user({ login });
    await twin.seed.repo({
      owner: 'acme',
      name: 'widgets',
      files: {
        'README.md': '# widgets\n',
        'src/a.js': 'export const a = 1;\n',
        // Exactly at the cap: still a config file.
        'at-cap.yml': `#${'x'.repeat(MAX_REPO_FILE_BYTES - 2)}\n`,
        // One byte over: refused like the app refuses it.
        '.github/pullwright.yml': `#${'x'.repeat(MAX_REPO_FILE_BYTES - 1)}\n`,
      },
    });
    await twin.seed.repo({ owner: 'acme', name: 'other', files: { 'x.txt': 'x\n' } });
    installationId = twin.seed.installation({ account: 'acme' }).id;
    twin.seed.collaborator('acme/widgets', 'alice', 'write');
    await twin.seed.branch({ repo: 'acme/widgets', branch: 'feature', files: { 'src/a.js': 'a = 2\n' } });
    pullNumber = (
      await twin.seed.pullRequest({
        repo: 'acme/widgets',
        head: 'feature',
        title: 'Feature',
        author: 'alice',
      })
    ).number;
    github = newClient();
  });

  afterAll(async () => {
    await twin?.close();
  });

  it('binds a client to one repository and its own freshly minted token', async () => {
    const gh = await github.forRepo(installationId, repo);
    expect(gh.repo).toEqual(repo);
    expect(gh.token).toMatch(/^ghs_/);
    expect(Date.parse(gh.tokenExpiresAt)).toBeGreaterThan(Date.now());
    expect(await gh.getDefaultBranch()).toBe('main');
    expect(await gh.getPermission('alice')).toBe('write');
    expect(await gh.getBranchSha('main')).toMatch(/^[0-9a-f]{40}$/);
    expect(await gh.getBranchSha('nope')).toBeNull();
    // Two jobs on the same repository never share a token.
    const again = await github.forRepo(installationId, repo);
    expect(again.token).not.toBe(gh.token);
    // The token reaches only its repository, with the job's permissions.
    const foreign = await fetch(`${twin.url}/repos/acme/other`, {
      headers: { authorization: `token ${gh.token}` },
    });
    expect(foreign.status).toBe(404);
    const mint = twin.inspect.requests().filter((r) => r.path.endsWith('/access_tokens'));
    expect(mint.length).toBeGreaterThanOrEqual(2);
    const otherClient = await github.forRepo(installationId, other);
    expect(await otherClient.getDefaultBranch()).toBe('main');
  });

  it('needs no call order: a client works without any earlier call', async () => {
    const fresh = newClient();
    const gh = await fresh.forRepo(installationId, repo);
    const { id } = await gh.createComment(pullNumber, 'starting');
    await gh.updateComment(id, 'done');
    expect((await gh.listIssueComments(pullNumber)).map((c) => c.body)).toContain('done');
  });

  it('reads a default-branch file up to the app reader cap and refuses a larger one (bug 5)', async () => {
    const gh = await github.forRepo(installationId, repo);
    expect((await gh.getDefaultBranchFile('at-cap.yml'))?.length).toBe(MAX_REPO_FILE_BYTES);
    expect(await gh.getDefaultBranchFile('missing.yml')).toBeNull();
    await expect(gh.getDefaultBranchFile('.github/pullwright.yml')).rejects.toMatchObject({
      code: 'config_invalid',
      retryable: false,
    });
    // The app's reader uses the same cap on the same file.
    const app = createAppGitHubPort({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
    });
    expect(await app.getDefaultBranchFile(installationId, repo, '.github/pullwright.yml')).toMatchObject({
      tooLarge: true,
      text: '',
    });
    expect((await app.getDefaultBranchFile(installationId, repo, 'at-cap.yml'))?.tooLarge).toBeUndefined();
  });

  it('lists every review thread and every comment past GitHub’s 100-node pages (bug 4)', async () => {
    await twin.seed.branch({ repo: 'acme/widgets', branch: 'many', files: { 'm.txt': 'm\n' } });
    const { number } = await twin.seed.pullRequest({
      repo: 'acme/widgets',
      head: 'many',
      title: 'Many threads',
      author: 'alice',
    });
    const long = twin.seed.reviewThread({
      repo: 'acme/widgets',
      number,
      path: 'src/a.js',
      line: 1,
      comments: Array.from({ length: 230 }, (_, i) => ({ author: 'alice', body: `note ${i}` })),
    });
    const short: string[] = [];
    for (let i = 0; i < 140; i++) {
      short.push(
        twin.seed.reviewThread({
          repo: 'acme/widgets',
          number,
          path: 'src/a.js',
          line: 1,
          comments: [{ author: 'alice', body: `thread ${i}` }],
        }).threadId,
      );
    }
    twin.seed.resolveThread(short.at(-1) as string);
    const gh = await github.forRepo(installationId, repo);
    const threads = await gh.listReviewThreads(number);
    expect(threads).toHaveLength(141);
    expect(new Set(threads.map((t) => t.id)).size).toBe(141);
    const first = threads.find((t) => t.id === long.threadId);
    expect(first?.comments.map((c) => c.body)).toEqual(Array.from({ length: 230 }, (_, i) => `note ${i}`));
    expect(first?.comments.map((c) => c.databaseId)).toEqual(long.commentIds);
    expect(first?.diffHunk).not.toBe('');
    expect(first?.comments.every((c) => c.createdAt !== '')).toBe(true);
    const last = threads.find((t) => t.id === short.at(-1));
    expect(last).toMatchObject({ isResolved: true, comments: [{ body: 'thread 139', author: 'alice' }] });
  });
});
