import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoRef } from '../../src/domain/task.js';
import { forkNameOf } from '../../src/github/ensure-fork.js';
import type { GitHubForWorker } from '../../src/github/github-for-worker.js';
import { createOctokitGitHubForWorker } from '../../src/github/octokit-github-for-worker.js';
import { createSilentLogger } from '../../src/logger.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';
import { isolatedGitEnv } from '../twins/github/isolated-git-env.js';

const run = promisify(execFile);

/** `forkFor` (delivery: fork) against the GitHub twin: create, wait, reuse, refuse. */
describe('forkFor against the GitHub twin', () => {
  let twin: GitHubTwin;
  let github: GitHubForWorker;
  let work: string;
  let baseInstallation: number;
  const base: RepoRef = { owner: 'acme', name: 'widgets' };

  const git = (args: string[], cwd?: string) =>
    run('git', args, {
      cwd,
      env: isolatedGitEnv(work),
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ensure-fork-'));
    twin = await startGitHubTwin({ forkDelayMs: 400 });
    twin.seed.user({ login: 'acme' });
    twin.seed.user({ login: 'pw-forks', type: 'Organization' });
    twin.seed.user({ login: 'solo' });
    await twin.seed.repo({ owner: 'acme', name: 'widgets', files: { 'a.txt': 'a\n' } });
    await twin.seed.repo({ owner: 'acme', name: 'gadgets', files: { 'g.txt': 'g\n' } });
    await twin.seed.repo({ owner: 'pw-forks', name: 'acme--gadgets', files: { 'x.txt': 'not a fork\n' } });
    baseInstallation = twin.seed.installation({ account: 'acme' }).id;
    twin.seed.installation({
      account: 'pw-forks',
      permissions: { metadata: 'read', contents: 'write', administration: 'write' },
    });
    twin.seed.installation({ account: 'solo', permissions: { metadata: 'read', contents: 'write' } });
    github = createOctokitGitHubForWorker({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      baseUrl: twin.url,
      log: createSilentLogger(),
    });
  });

  afterAll(async () => {
    await twin?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('creates the fork in the organization, waits for it, and hands out a push token for it alone', async () => {
    const fork = await github.forkFor(base, 'pw-forks');
    expect(fork.repo).toEqual({ owner: 'pw-forks', name: forkNameOf(base) });
    expect(fork.repo.name).toBe('acme--widgets');
    expect(fork.defaultBranch).toBe('main');
    const forks = twin.inspect.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/forks'));
    expect(forks.map((r) => r.status)).toEqual([202]);

    // The push token reaches the fork and nothing else: not the base repository, not other repos.
    const dir = join(work, 'clone');
    await git(['clone', '-q', twin.gitUrl('pw-forks/acme--widgets', fork.token), dir]);
    await writeFile(join(dir, 'a.txt'), 'b\n');
    await git(['commit', '-qam', 'change'], dir);
    await git(['push', '-q', 'origin', 'HEAD:refs/heads/pullwright/x'], dir);
    await expect(
      git(['push', '-q', twin.gitUrl('acme/widgets', fork.token), 'HEAD:refs/heads/x'], dir),
    ).rejects.toThrow();
    await expect(
      git(['push', '-q', twin.gitUrl('pw-forks/acme--gadgets', fork.token), 'HEAD:refs/heads/x'], dir),
    ).rejects.toThrow();
    expect(Object.keys(await twin.inspect.branches('acme/widgets'))).toEqual(['main']);
    expect(await fork.getBranchSha('pullwright/x')).toMatch(/^[0-9a-f]{40}$/);
    expect(await fork.getBranchSha('ghost')).toBeNull();

    // The base repository's client opens the pull request from the fork, and finds it by the fork's owner.
    const repoGitHub = await github.forRepo(baseInstallation, base);
    const pull = await repoGitHub.createPull({
      title: 'From the fork',
      body: 'b',
      head: 'pw-forks:pullwright/x',
      headRepo: 'pw-forks/acme--widgets',
      base: 'main',
      draft: false,
    });
    expect(pull.headRepoFullName).toBe('pw-forks/acme--widgets');
    expect(
      (await repoGitHub.listPullsByHead('pullwright/x', 'open', 'pw-forks')).map((p) => p.number),
    ).toEqual([pull.number]);
    expect(await repoGitHub.listPullsByHead('pullwright/x', 'open')).toEqual([]);
  });

  it('reuses the fork it made, without asking to create it again', async () => {
    const again = await github.forkFor(base, 'pw-forks');
    expect(again.repo.name).toBe('acme--widgets');
    const forks = twin.inspect.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/forks'));
    expect(forks).toHaveLength(1);
  });

  it('refuses a repository that has the name but is not a fork of the base repository', async () => {
    await expect(github.forkFor({ owner: 'acme', name: 'gadgets' }, 'pw-forks')).rejects.toMatchObject({
      code: 'config_invalid',
      retryable: false,
    });
  });

  it('does not try to create a fork in a user account (GitHub makes an app fork only into an organization)', async () => {
    await expect(github.forkFor(base, 'solo')).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('fails without an installation on the fork account', async () => {
    await expect(github.forkFor(base, 'nobody')).rejects.toMatchObject({ code: 'not_found' });
  });
});
