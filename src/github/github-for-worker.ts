import type { RepoRef } from '../domain/task.js';

/**
 * What the worker needs from GitHub, as a port. The Octokit adapter is
 * `createOctokitGitHubForWorker`; the flows see only this interface.
 */

import type { Permission } from './permission.js';

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

export interface GitHubForWorker {
  /** A short-lived token scoped to one repository with the least permissions the job needs. */
  createRepoToken(installationId: number, repo: RepoRef): Promise<{ token: string; expiresAt: string }>;
  getDefaultBranch(repo: RepoRef): Promise<string>;
  /** A file's text on the default branch, or null when it does not exist. Never read from a PR head. */
  getDefaultBranchFile(repo: RepoRef, path: string): Promise<string | null>;
  getIssue(repo: RepoRef, number: number): Promise<IssueData>;
  listIssueComments(repo: RepoRef, number: number): Promise<CommentData[]>;
  getPermission(repo: RepoRef, login: string): Promise<Permission>;
  createComment(repo: RepoRef, number: number, body: string): Promise<{ id: number; htmlUrl: string }>;
  updateComment(repo: RepoRef, commentId: number, body: string): Promise<void>;
  getPull(repo: RepoRef, number: number): Promise<PullData>;
  /** Pull requests whose head is `branch` in this repository, newest first. */
  listPullsByHead(repo: RepoRef, branch: string, state: 'open' | 'closed' | 'all'): Promise<PullData[]>;
  createPull(
    repo: RepoRef,
    input: { title: string; body: string; head: string; base: string; draft: boolean },
  ): Promise<PullData>;
  updatePull(repo: RepoRef, number: number, input: { title?: string; body?: string }): Promise<PullData>;
  addLabels(repo: RepoRef, number: number, labels: string[]): Promise<void>;
  /** Head sha of a branch, or null when it does not exist. */
  getBranchSha(repo: RepoRef, branch: string): Promise<string | null>;
  listReviewThreads(repo: RepoRef, number: number): Promise<ReviewThreadData[]>;
  listReviews(repo: RepoRef, number: number): Promise<ReviewData[]>;
  replyToReviewComment(repo: RepoRef, pullNumber: number, commentId: number, body: string): Promise<void>;
}
