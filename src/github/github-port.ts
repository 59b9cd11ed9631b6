import type { ReactionTarget } from '../domain/reaction-target.js';
import type { RepoRef } from '../domain/task.js';
import type { CheckSuiteData, CombinedStatusData, CompareData, IssueChange, NewIssue } from './ci-data.js';
import type { IssueData, PullData } from './github-for-worker.js';
import type { Permission } from './permission.js';

export type { Permission, ReactionTarget };

export interface RepoFile {
  text: string;
  /** Blob sha: identifies this exact version of the file. */
  sha: string;
  /** Set when the file is too large to be a config file; `text` is then empty. */
  tooLarge?: boolean;
}

/**
 * What the webhook app needs from GitHub, as a port. The Octokit adapter is
 * `createAppGitHubPort`; handlers and tests see only this interface.
 */
export interface GitHubPort {
  /** The user's permission on the repository; 'none' for a non-collaborator. */
  getPermission(installationId: number, repo: RepoRef, login: string): Promise<Permission>;
  addReaction(installationId: number, repo: RepoRef, target: ReactionTarget, content: 'eyes'): Promise<void>;
  createComment(installationId: number, repo: RepoRef, number: number, body: string): Promise<void>;
  /**
   * A file from the repository's default branch, or null when absent. There is
   * deliberately no `ref` parameter: repo config must never come from a PR head.
   */
  getDefaultBranchFile(installationId: number, repo: RepoRef, path: string): Promise<RepoFile | null>;

  getPull(installationId: number, repo: RepoRef, number: number): Promise<PullData>;
  /** `getPull`, polled while GitHub is still computing `mergeable` (null), up to `timeoutMs` (default 10 s). */
  getPullMergeability(
    installationId: number,
    repo: RepoRef,
    number: number,
    options?: { timeoutMs?: number },
  ): Promise<PullData>;
  compareCommits(installationId: number, repo: RepoRef, base: string, head: string): Promise<CompareData>;
  /** Open pull requests, newest first, every page; `head` is `owner:branch`. */
  listOpenPulls(
    installationId: number,
    repo: RepoRef,
    filter?: { base?: string; head?: string },
  ): Promise<PullData[]>;
  /** Pull requests whose head contains `sha`: maps a `status` event (which names no PR) to its PRs. */
  listPullsForCommit(installationId: number, repo: RepoRef, sha: string): Promise<PullData[]>;
  getIssue(installationId: number, repo: RepoRef, number: number): Promise<IssueData>;
  createIssue(installationId: number, repo: RepoRef, input: NewIssue): Promise<IssueData>;
  updateIssue(installationId: number, repo: RepoRef, number: number, change: IssueChange): Promise<IssueData>;
  /**
   * The newest issue by `creator` (pass the app's bot login, `slug[bot]`) whose body contains `marker`.
   * Only the creator's issues count: a stranger's issue carrying the marker is never adopted.
   */
  findIssueByMarker(
    installationId: number,
    repo: RepoRef,
    marker: string,
    options: { creator: string; state?: 'open' | 'closed' | 'all' },
  ): Promise<IssueData | null>;
  getCombinedStatus(installationId: number, repo: RepoRef, ref: string): Promise<CombinedStatusData>;
  listCheckSuitesForRef(installationId: number, repo: RepoRef, ref: string): Promise<CheckSuiteData[]>;
}
