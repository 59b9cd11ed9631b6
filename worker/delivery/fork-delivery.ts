import type { RepoRef } from '../../src/domain/task.js';
import { PullwrightError } from '../../src/errors.js';
import { forkNameOf } from '../../src/github/ensure-fork.js';
import type { GitHubForWorker, PullData, RepoGitHub } from '../../src/github/github-for-worker.js';

/**
 * Where an agent's change is delivered (issue 14, item 2).
 *
 * - `branch` (default): pushed as a branch of the repository. GitHub then runs its `push` and
 *   `pull_request` workflows with the repository's secrets on code the agent wrote, before anyone
 *   reviewed it (package scripts, tests, Makefiles: protected paths cannot cover everything CI runs).
 * - `fork`: pushed to a fork in the operator's `FORK_OWNER` organization and proposed from there, so
 *   GitHub treats its runs as a fork's pull request: no repository secrets, a read-only
 *   `GITHUB_TOKEN`, and the repository's approval rules for fork pull requests.
 */
export type DeliveryMode = 'branch' | 'fork';

export type DeliveryChoice = { mode: 'branch' } | { mode: 'fork'; forkOwner: string };

/**
 * The repository asks (`delivery` in its config, default `branch`); the operator can force `fork`
 * for every repository. A repository that asks for `fork` where the operator has no fork account is
 * refused rather than delivered as a branch: it asked to keep its secrets away from agent code.
 */
export function chooseDelivery(input: {
  requested: DeliveryMode | undefined;
  forceFork: boolean;
  forkOwner: string | undefined;
}): DeliveryChoice {
  if (!input.forceFork && input.requested !== 'fork') return { mode: 'branch' };
  if (!input.forkOwner) {
    throw new PullwrightError(
      'config_invalid',
      'This repository asks for `delivery: fork`, but this Pullwright has no fork account (FORK_OWNER); nothing was pushed. Ask its operator, or use `delivery: branch`.',
      { retryable: false },
    );
  }
  return { mode: 'fork', forkOwner: input.forkOwner };
}

/** The pull-request calls `ensurePullRequest` makes, bound to where the head branch lives. */
export type PullPort = Pick<RepoGitHub, 'listPullsByHead' | 'updatePull' | 'createPull' | 'addLabels'>;

export interface DeliveryTarget {
  mode: DeliveryMode;
  /** The repository the branch is pushed to: the repository itself, or the fork. */
  pushRepo: RepoRef;
  /** Its token, for host-side git only (the fork's allows `contents: write` on the fork alone). */
  pushToken: string;
  /** `ensurePullRequest`'s port: heads are `branch` of `pushRepo`. */
  pulls: PullPort;
  /** Head sha of `branch` where this delivery pushes it, or null. */
  getBranchSha(branch: string): Promise<string | null>;
}

/** Pull requests opened on the base repository from `owner:branch` of the fork. */
export function forkPullPort(github: PullPort, fork: RepoRef): PullPort {
  return {
    listPullsByHead: (branch, state) => github.listPullsByHead(branch, state, fork.owner),
    updatePull: (number, change) => github.updatePull(number, change),
    addLabels: (number, labels) => github.addLabels(number, labels),
    createPull: (pull) =>
      github.createPull({
        ...pull,
        head: `${fork.owner}:${pull.head}`,
        headRepo: `${fork.owner}/${fork.name}`,
      }),
  };
}

/** Resolves the choice to a push target; for `fork`, the fork is created (and waited for) if missing. */
export async function resolveDeliveryTarget(input: {
  github: Pick<GitHubForWorker, 'forkFor'>;
  repoGitHub: RepoGitHub;
  choice: DeliveryChoice;
}): Promise<DeliveryTarget> {
  const { repoGitHub, choice } = input;
  if (choice.mode === 'branch') {
    return {
      mode: 'branch',
      pushRepo: repoGitHub.repo,
      pushToken: repoGitHub.token,
      pulls: repoGitHub,
      getBranchSha: (branch) => repoGitHub.getBranchSha(branch),
    };
  }
  const fork = await input.github.forkFor(repoGitHub.repo, choice.forkOwner);
  return {
    mode: 'fork',
    pushRepo: fork.repo,
    pushToken: fork.token,
    pulls: forkPullPort(repoGitHub, fork.repo),
    getBranchSha: (branch) => fork.getBranchSha(branch),
  };
}

/**
 * Whose head a pull request has, for the follow-up modes (address review, revise): a branch of the
 * repository itself (`branch`), a branch Pullwright made in its own fork (`fork`: the head repository
 * is `FORK_OWNER`'s fork of this repository and the branch carries the repository's branch prefix),
 * or someone else's fork (null: refused as before; Pullwright neither pushes there nor runs on it).
 */
export function ownHeadOf(
  pull: Pick<PullData, 'headRepoFullName' | 'headRef'>,
  repo: RepoRef,
  input: { forkOwner: string | undefined; branchPrefix: string },
): DeliveryChoice | null {
  const head = pull.headRepoFullName?.toLowerCase();
  if (head === `${repo.owner}/${repo.name}`.toLowerCase()) return { mode: 'branch' };
  if (!input.forkOwner || !head) return null;
  const ownFork = `${input.forkOwner}/${forkNameOf(repo)}`.toLowerCase();
  if (head !== ownFork || !pull.headRef.startsWith(input.branchPrefix)) return null;
  return { mode: 'fork', forkOwner: input.forkOwner };
}
