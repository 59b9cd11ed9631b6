import type { RepoRef } from '../domain/task.js';
import type { Permission } from './permission.js';

/**
 * What the worker needs from GitHub, as a port. The Octokit adapter is
 * `createOctokitGitHubForWorker`; the flows see only these interfaces.
 *
 * `forRepo` mints a token scoped to one repository and returns a client bound
 * to it, so there is no call order to get right and no per-repository state to
 * clean up: a job holds its `RepoGitHub` and drops it when it ends.
 */

export type { Permission };

export interface IssueData {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  author: string;
  isPullRequest: boolean;
}

export interface CommentData {
  id: number;
  author: string;
  authorIsBot: boolean;
  body: string;
  createdAt: string;
}

export interface PullData {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  htmlUrl: string;
  headRef: string;
  headSha: string;
  /** `owner/name` of the head repository; differs from the base repo for forks. */
  headRepoFullName: string | null;
  baseRef: string;
}

export interface ReviewThreadData {
  id: string;
  isResolved: boolean;
  isOutdated: boolean;
  path: string;
  line: number | null;
  diffHunk: string;
  comments: { databaseId: number; author: string; body: string; createdAt: string }[];
}

export interface ReviewData {
  id: number;
  author: string;
  body: string;
  state: string;
  submittedAt: string;
  commitId: string | null;
}

export interface NewPull {
  title: string;
  body: string;
  /** A branch of this repository, or `owner:branch` for a branch of `owner`'s fork. */
  head: string;
  base: string;
  draft: boolean;
  /** `owner/name` of the fork holding `head` (GitHub needs it when both are in one organization). */
  headRepo?: string;
}

/**
 * The fork the agent's branch is pushed to under `delivery: fork`, with a token of the app's
 * installation on the fork's account limited to `contents: write` on that fork.
 */
export interface RepoFork {
  readonly repo: RepoRef;
  /** For host-side git over HTTPS only (never into a sandbox). */
  readonly token: string;
  readonly tokenExpiresAt: string;
  readonly defaultBranch: string;
  /** Head sha of a branch of the fork, or null when it does not exist. */
  getBranchSha(branch: string): Promise<string | null>;
}

/** A client bound to one repository and to the short-lived token minted for it. */
export interface RepoGitHub {
  readonly repo: RepoRef;
  /** Installation token for host-side git over HTTPS only (never into a sandbox). */
  readonly token: string;
  readonly tokenExpiresAt: string;
  getDefaultBranch(): Promise<string>;
  /**
   * A file's text on the default branch, or null when it does not exist. Never read
   * from a PR head. A file over `MAX_REPO_FILE_BYTES` (256 KiB, the app's cap too)
   * is refused with a non-retryable `config_invalid` error instead of being read.
   */
  getDefaultBranchFile(path: string): Promise<string | null>;
  getIssue(number: number): Promise<IssueData>;
  listIssueComments(number: number): Promise<CommentData[]>;
  getPermission(login: string): Promise<Permission>;
  createComment(number: number, body: string): Promise<{ id: number; htmlUrl: string }>;
  updateComment(commentId: number, body: string): Promise<void>;
  getPull(number: number): Promise<PullData>;
  /**
   * Pull requests whose head is `branch` in this repository (or in `headOwner`'s fork of it),
   * newest first.
   */
  listPullsByHead(branch: string, state: 'open' | 'closed' | 'all', headOwner?: string): Promise<PullData[]>;
  createPull(input: NewPull): Promise<PullData>;
  updatePull(number: number, input: { title?: string; body?: string }): Promise<PullData>;
  addLabels(number: number, labels: string[]): Promise<void>;
  /** Head sha of a branch, or null when it does not exist. */
  getBranchSha(branch: string): Promise<string | null>;
  /** Every review thread of the pull request with every comment (GraphQL, fully paginated). */
  listReviewThreads(number: number): Promise<ReviewThreadData[]>;
  listReviews(number: number): Promise<ReviewData[]>;
  replyToReviewComment(pullNumber: number, commentId: number, body: string): Promise<void>;
}

export interface GitHubForWorker {
  /**
   * Mints a short-lived token scoped to this one repository, with the least
   * permissions a job needs, and returns a client bound to it.
   */
  forRepo(installationId: number, repo: RepoRef): Promise<RepoGitHub>;
  /**
   * The fork of `base` in `forkOwner`'s account (where the app must be installed), created when
   * missing (an organization only; GitHub forks asynchronously, so this waits for it), with a
   * token for that fork alone. See `ensure-fork.ts` for the tokens it mints and why.
   */
  forkFor(base: RepoRef, forkOwner: string): Promise<RepoFork>;
}
