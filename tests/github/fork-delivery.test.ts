import { describe, expect, it } from 'vitest';
import type { NewPull, PullData, RepoFork, RepoGitHub } from '../../src/github/github-for-worker.js';
import { chooseDelivery, ownHeadOf, resolveDeliveryTarget } from '../../worker/delivery/fork-delivery.js';

/**
 * The delivery choice (issue 14 item 2): repository asks, operator forces; the fork target's PR port;
 * which pull request heads are Pullwright's own. (Here rather than tests/delivery, which another
 * owner holds; the code is worker/delivery/fork-delivery.ts.)
 */
describe('chooseDelivery', () => {
  it('keeps branch delivery by default and when the repository asks for it', () => {
    expect(chooseDelivery({ requested: undefined, forceFork: false, forkOwner: 'pw-forks' })).toEqual({
      mode: 'branch',
    });
    expect(chooseDelivery({ requested: 'branch', forceFork: false, forkOwner: undefined })).toEqual({
      mode: 'branch',
    });
  });

  it('delivers through the fork when the repository asks for it or the operator forces it', () => {
    expect(chooseDelivery({ requested: 'fork', forkOwner: 'pw-forks', forceFork: false })).toEqual({
      mode: 'fork',
      forkOwner: 'pw-forks',
    });
    expect(chooseDelivery({ requested: 'branch', forkOwner: 'pw-forks', forceFork: true })).toEqual({
      mode: 'fork',
      forkOwner: 'pw-forks',
    });
  });

  it('refuses (never falls back to a branch) when fork is asked for and there is no fork account', () => {
    expect(() => chooseDelivery({ requested: 'fork', forceFork: false, forkOwner: undefined })).toThrow(
      expect.objectContaining({ code: 'config_invalid', retryable: false }),
    );
  });
});

function fakePulls() {
  const calls: { listed: unknown[][]; created: NewPull[] } = { listed: [], created: [] };
  const pull = { number: 7 } as PullData;
  const repoGitHub = {
    repo: { owner: 'acme', name: 'widgets' },
    token: 'ghs_base',
    listPullsByHead: async (...args: unknown[]) => {
      calls.listed.push(args);
      return [];
    },
    createPull: async (input: NewPull) => {
      calls.created.push(input);
      return pull;
    },
    updatePull: async () => pull,
    addLabels: async () => {},
    getBranchSha: async () => 'base-sha',
  } as unknown as RepoGitHub;
  return { calls, repoGitHub };
}

describe('resolveDeliveryTarget', () => {
  it('branch: pushes to the repository with its own token', async () => {
    const { repoGitHub } = fakePulls();
    const forkFor = async (): Promise<RepoFork> => {
      throw new Error('no fork for branch delivery');
    };
    const target = await resolveDeliveryTarget({
      github: { forkFor },
      repoGitHub,
      choice: { mode: 'branch' },
    });
    expect(target).toMatchObject({
      mode: 'branch',
      pushRepo: { owner: 'acme', name: 'widgets' },
      pushToken: 'ghs_base',
    });
    expect(await target.getBranchSha('x')).toBe('base-sha');
  });

  it('fork: pushes to the fork with the fork token, and the PR head is owner:branch of the fork', async () => {
    const { calls, repoGitHub } = fakePulls();
    const fork: RepoFork = {
      repo: { owner: 'pw-forks', name: 'acme--widgets' },
      token: 'ghs_fork',
      tokenExpiresAt: '',
      defaultBranch: 'main',
      getBranchSha: async () => 'fork-sha',
    };
    const target = await resolveDeliveryTarget({
      github: { forkFor: async () => fork },
      repoGitHub,
      choice: { mode: 'fork', forkOwner: 'pw-forks' },
    });
    expect(target).toMatchObject({ mode: 'fork', pushRepo: fork.repo, pushToken: 'ghs_fork' });
    expect(await target.getBranchSha('x')).toBe('fork-sha');
    await target.pulls.listPullsByHead('pullwright/issue-1', 'open');
    await target.pulls.createPull({
      title: 't',
      body: 'b',
      head: 'pullwright/issue-1',
      base: 'main',
      draft: false,
    });
    expect(calls.listed).toEqual([['pullwright/issue-1', 'open', 'pw-forks']]);
    expect(calls.created[0]).toMatchObject({
      head: 'pw-forks:pullwright/issue-1',
      headRepo: 'pw-forks/acme--widgets',
    });
  });
});

describe('ownHeadOf', () => {
  const repo = { owner: 'acme', name: 'widgets' };
  const input = { forkOwner: 'pw-forks', branchPrefix: 'pullwright/' };
  it('a branch of the repository itself', () => {
    expect(ownHeadOf({ headRepoFullName: 'acme/widgets', headRef: 'feature' }, repo, input)).toEqual({
      mode: 'branch',
    });
  });
  it('a branch Pullwright made in its own fork', () => {
    expect(
      ownHeadOf({ headRepoFullName: 'pw-forks/acme--widgets', headRef: 'pullwright/issue-3-x' }, repo, input),
    ).toEqual({ mode: 'fork', forkOwner: 'pw-forks' });
  });
  it("someone else's fork, another branch of the fork account, or no fork account: not ours", () => {
    expect(
      ownHeadOf({ headRepoFullName: 'mallory/widgets', headRef: 'pullwright/x' }, repo, input),
    ).toBeNull();
    expect(
      ownHeadOf({ headRepoFullName: 'pw-forks/acme--widgets', headRef: 'main' }, repo, input),
    ).toBeNull();
    expect(
      ownHeadOf({ headRepoFullName: 'pw-forks/other--widgets', headRef: 'pullwright/x' }, repo, input),
    ).toBeNull();
    expect(
      ownHeadOf({ headRepoFullName: 'pw-forks/acme--widgets', headRef: 'pullwright/x' }, repo, {
        ...input,
        forkOwner: undefined,
      }),
    ).toBeNull();
    expect(ownHeadOf({ headRepoFullName: null, headRef: 'pullwright/x' }, repo, input)).toBeNull();
  });
});
