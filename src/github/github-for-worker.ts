import type { RepoRef } from '../domain/task.js';
import type {
  CheckRunChange,
  CheckRunData,
  CheckSuiteData,
  CombinedStatusData,
  CompareData,
  IssueChange,
  JobLog,
  NewCheckRun,
  NewIssue,
  PullCommitData,
  WorkflowJobData,
  WorkflowRunData,
} from './ci-data.js';
import type { Permission } from './permission.js';

export type * from './ci-data.js';

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
  htmlUrl: string;
  labels: string[];
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
  baseSha: string;
  /**
   * Whether the head merges cleanly into the base. GitHub computes it in the background after the head
   * or base moves and answers null meanwhile (and always null from list endpoints):
   * `getPullMergeability` polls until it is known.
   */
  mergeable: boolean | null;
  /** GitHub's `mergeable_state`: 'clean', 'dirty' (conflicts), 'behind', 'blocked', 'unstable', 'unknown', … */
  mergeableState: string;
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
  /** GraphQL `resolveReviewThread`; resolving a resolved thread is not an error. */
  resolveReviewThread(threadId: string): Promise<void>;

  /**
   * Permissions the job token holds. Beyond the required ones (contents, issues, pull requests), checks,
   * actions and statuses are granted only when the installation has them: check before relying on one
   * (`tokenPermissions.actions === "write"` for re-runs, `tokenPermissions.checks === "write"` for a check run).
   */
  readonly tokenPermissions: Readonly<Record<string, 'read' | 'write'>>;
  /** `getPull`, polled while GitHub is still computing `mergeable` (null), up to `timeoutMs` (default 10 s). */
  getPullMergeability(number: number, options?: { timeoutMs?: number }): Promise<PullData>;
  compareCommits(base: string, head: string): Promise<CompareData>;
  /** Every commit of the pull request, oldest first (GitHub lists at most 250). */
  listPullCommits(number: number): Promise<PullCommitData[]>;

  createCheckRun(input: NewCheckRun): Promise<CheckRunData>;
  updateCheckRun(id: number, change: CheckRunChange): Promise<CheckRunData>;
  /** Check runs on a ref (sha or branch), all pages; annotations read for runs that did not succeed. */
  listCheckRunsForRef(
    ref: string,
    options?: { annotations?: boolean; filter?: 'latest' | 'all' },
  ): Promise<CheckRunData[]>;
  listCheckSuitesForRef(ref: string): Promise<CheckSuiteData[]>;
  /** Actions workflow runs on a commit. */
  listWorkflowRunsForSha(headSha: string): Promise<WorkflowRunData[]>;
  getWorkflowRun(runId: number): Promise<WorkflowRunData>;
  listJobsForWorkflowRun(runId: number, filter?: 'latest' | 'all'): Promise<WorkflowJobData[]>;
  /**
   * A job's log as text (GitHub answers with a redirect to a short-lived download URL, followed here),
   * capped at `maxBytes` (default 64 KiB) with its head and tail kept; null when the log is gone.
   */
  downloadJobLog(jobId: number, options?: { maxBytes?: number }): Promise<JobLog | null>;
  /** The combined commit status of a ref (latest status per context). */
  getCombinedStatus(ref: string): Promise<CombinedStatusData>;
  /** Re-runs a workflow run's failed jobs; needs `actions: write` (else a non-retryable `forbidden`). */
  rerunFailedJobs(runId: number): Promise<void>;

  createIssue(input: NewIssue): Promise<IssueData>;
  updateIssue(number: number, change: IssueChange): Promise<IssueData>;
  /**
   * The newest issue (never a pull request) opened by `creator` (default: this app's bot) whose body
   * contains `marker`; null when there is none. Only the creator's issues are considered, so a person
   * pasting the marker into their own issue cannot hijack it.
   */
  findIssueByMarker(
    marker: string,
    options?: { creator?: string; state?: 'open' | 'closed' | 'all' },
  ): Promise<IssueData | null>;
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
