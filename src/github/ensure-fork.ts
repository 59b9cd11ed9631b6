import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { RepoFork } from './github-for-worker.js';
import { callGitHub, callGitHubOr } from './octokit-errors.js';

/**
 * `delivery: fork`: the agent's branch goes to a fork in an account the operator names, so
 * GitHub runs the pull request's workflows as a fork's (no repository secrets, the base
 * repository's approval rules for fork PRs) instead of as a branch of the base repository.
 *
 * Tokens, each for one step and no wider (threat: a job's token reaching the operator's other
 * repositories, or keeping `administration` longer than the fork's creation):
 * - metadata read on the fork account, to see whether the fork exists and whose fork it is;
 * - `administration: write` + `contents: read` only when the fork must be created (what GitHub
 *   requires of an app to create a repository, a fork, in the destination account);
 * - for the job: `contents: write` on the fork alone (host-side git push).
 */

/** Installation tokens of the app's installation on the fork account, as `ensureFork` asks for them. */
export interface ForkAccountAuth {
  /** A client with a token of the fork account's installation holding these permissions (no repository narrowing). */
  client(permissions: Record<string, 'read' | 'write'>): Promise<Octokit>;
  /** A token limited to `repo` (in the fork account) with `contents: write`, and a client using it. */
  pushToken(repo: string): Promise<{ token: string; expiresAt: string; client: Octokit }>;
  /** Whether the fork account is an organization (forks into a user account are made by that user). */
  isOrganization: boolean;
}

/**
 * The fork's name: `<owner>--<name>` of the base repository. A login never contains `--`, so two
 * base repositories never share a fork name (`acme/web` and `other/web` both forked into one account).
 */
export function forkNameOf(base: RepoRef): string {
  return `${base.owner}--${base.name}`.slice(0, 100);
}

export interface EnsureForkOptions {
  /** How long to wait for GitHub's asynchronous fork to appear (default 120 s). */
  waitMs?: number;
  /** First poll interval, doubled up to 5 s (default 500 ms). */
  pollMs?: number;
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export async function ensureFork(
  auth: ForkAccountAuth,
  base: RepoRef,
  forkOwner: string,
  options: EnsureForkOptions = {},
): Promise<RepoFork> {
  const name = forkNameOf(base);
  const baseFullName = `${base.owner}/${base.name}`;
  const reader = await auth.client({ metadata: 'read' });
  const read = () =>
    callGitHubOr('Reading the fork', null, async () => {
      const { data } = await reader.rest.repos.get({ owner: forkOwner, repo: name });
      return data;
    });
  let fork = await read();
  if (!fork) {
    if (!auth.isOrganization) {
      throw new PullwrightError(
        'config_invalid',
        `There is no fork ${forkOwner}/${name} of ${baseFullName}. Forks are created automatically only in an organization; create this one by hand (fork ${baseFullName} into ${forkOwner} with the name ${name}).`,
        { retryable: false },
      );
    }
    const admin = await auth.client({ administration: 'write', contents: 'read' });
    await callGitHub('Creating the fork', () =>
      admin.rest.repos.createFork({
        owner: base.owner,
        repo: base.name,
        organization: forkOwner,
        name,
        default_branch_only: true,
      }),
    );
    fork = await waitForFork(read, options);
  }
  // Never push to a repository that merely has the name: it must be a fork of this base repository.
  if (!fork.fork || !fork.parent || !sameName(fork.parent.full_name, baseFullName)) {
    throw new PullwrightError(
      'config_invalid',
      `${forkOwner}/${name} exists but is not a fork of ${baseFullName}; rename or remove it so Pullwright can fork there.`,
      { retryable: false },
    );
  }
  const { token, expiresAt, client } = await auth.pushToken(name);
  const repo = { owner: fork.owner.login, name: fork.name };
  return {
    repo,
    token,
    tokenExpiresAt: expiresAt,
    defaultBranch: fork.default_branch,
    getBranchSha: (branch) =>
      callGitHubOr('Reading a branch of the fork', null, async () => {
        const { data } = await client.rest.repos.getBranch({ owner: repo.owner, repo: repo.name, branch });
        return data.commit.sha;
      }),
  };
}

/** GitHub forks asynchronously: the 202 comes first, the repository and its git objects a little later. */
async function waitForFork<T>(read: () => Promise<T | null>, options: EnsureForkOptions): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  let pause = options.pollMs ?? 500;
  for (;;) {
    const fork = await read();
    if (fork) return fork;
    if (Date.now() > deadline) {
      throw new PullwrightError(
        'upstream_unavailable',
        'The fork did not appear in time; it is still being made.',
        {
          retryable: true,
        },
      );
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 5_000);
  }
}
