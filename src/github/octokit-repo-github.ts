import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { CommentData, PullData, RepoGitHub, ReviewData } from './github-for-worker.js';
import { callGitHub as call, callGitHubOr as callOr } from './octokit-errors.js';
import { toPermission } from './permission.js';
import { getDefaultBranchFile, MAX_REPO_FILE_BYTES } from './repo-file.js';
import { listReviewThreads } from './review-threads.js';

/** Octokit's pull request shape, reduced to what the worker reads. */
function toPull(p: {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  merged_at?: string | null;
  draft?: boolean;
  html_url: string;
  head: { ref: string; sha: string; repo: { full_name: string } | null };
  base: { ref: string };
}): PullData {
  return {
    number: p.number,
    title: p.title,
    body: p.body ?? '',
    state: p.state === 'open' ? 'open' : 'closed',
    merged: Boolean(p.merged_at),
    draft: Boolean(p.draft),
    htmlUrl: p.html_url,
    headRef: p.head.ref,
    headSha: p.head.sha,
    headRepoFullName: p.head.repo?.full_name ?? null,
    baseRef: p.base.ref,
  };
}

/**
 * The worker's client for one repository: an Octokit authenticated with a token
 * minted for that repository alone, so every call is scoped by construction and
 * no method takes a repository it could get wrong.
 */
export function createOctokitRepoGitHub(input: {
  octokit: Octokit;
  repo: RepoRef;
  token: string;
  tokenExpiresAt: string;
}): RepoGitHub {
  const { octokit, repo } = input;
  const at = { owner: repo.owner, repo: repo.name };
  return {
    repo,
    token: input.token,
    tokenExpiresAt: input.tokenExpiresAt,

    async getDefaultBranch() {
      const { data } = await call('Reading the repository', () => octokit.rest.repos.get(at));
      return data.default_branch;
    },

    async getDefaultBranchFile(path) {
      const file = await getDefaultBranchFile(octokit, repo, path);
      if (file?.tooLarge) {
        // The same cap as the app's reader; a retry would meet the same file.
        throw new PullwrightError(
          'config_invalid',
          `${path} is larger than ${MAX_REPO_FILE_BYTES / 1024} KiB`,
          {
            retryable: false,
            details: { path, maxBytes: MAX_REPO_FILE_BYTES },
          },
        );
      }
      return file?.text ?? null;
    },

    async getIssue(number) {
      const { data } = await call('Reading the issue', () =>
        octokit.rest.issues.get({ ...at, issue_number: number }),
      );
      return {
        number: data.number,
        title: data.title,
        body: data.body ?? '',
        state: data.state === 'open' ? 'open' : 'closed',
        author: data.user?.login ?? 'ghost',
        isPullRequest: Boolean(data.pull_request),
      };
    },

    async listIssueComments(number) {
      const data = await call('Listing comments', () =>
        octokit.paginate(octokit.rest.issues.listComments, { ...at, issue_number: number, per_page: 100 }),
      );
      return data.map(
        (c): CommentData => ({
          id: c.id,
          author: c.user?.login ?? 'ghost',
          authorIsBot: c.user?.type === 'Bot',
          body: c.body ?? '',
          createdAt: c.created_at,
        }),
      );
    },

    async getPermission(login) {
      return callOr('Reading a permission', 'none' as const, async () => {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...at, username: login });
        return toPermission(data);
      });
    },

    async createComment(number, body) {
      const { data } = await call('Creating a comment', () =>
        octokit.rest.issues.createComment({ ...at, issue_number: number, body }),
      );
      return { id: data.id, htmlUrl: data.html_url };
    },

    async updateComment(commentId, body) {
      await call('Updating a comment', () =>
        octokit.rest.issues.updateComment({ ...at, comment_id: commentId, body }),
      );
    },

    async getPull(number) {
      const { data } = await call('Reading the pull request', () =>
        octokit.rest.pulls.get({ ...at, pull_number: number }),
      );
      return toPull(data);
    },

    async listPullsByHead(branch, state, headOwner = repo.owner) {
      const { data } = await call('Listing pull requests', () =>
        octokit.rest.pulls.list({
          ...at,
          head: `${headOwner}:${branch}`,
          state,
          sort: 'created',
          direction: 'desc',
          per_page: 100,
        }),
      );
      return data.map(toPull);
    },

    async createPull({ headRepo, ...pull }) {
      // A fork's head: GitHub refuses "allow edits by maintainers" for organization-owned forks.
      const fields = headRepo ? { ...pull, head_repo: headRepo } : { ...pull, maintainer_can_modify: true };
      const { data } = await call('Opening the pull request', () =>
        octokit.rest.pulls.create({ ...at, ...fields }),
      );
      return toPull(data);
    },

    async updatePull(number, change) {
      const { data } = await call('Updating the pull request', () =>
        octokit.rest.pulls.update({ ...at, pull_number: number, ...change }),
      );
      return toPull(data);
    },

    async addLabels(number, labels) {
      await call('Adding labels', () =>
        octokit.rest.issues.addLabels({ ...at, issue_number: number, labels }),
      );
    },

    async getBranchSha(branch) {
      return callOr('Reading a branch', null, async () => {
        const { data } = await octokit.rest.repos.getBranch({ ...at, branch });
        return data.commit.sha;
      });
    },

    listReviewThreads(number) {
      return listReviewThreads(octokit, repo, number);
    },

    async listReviews(number) {
      const data = await call('Listing reviews', () =>
        octokit.paginate(octokit.rest.pulls.listReviews, { ...at, pull_number: number, per_page: 100 }),
      );
      return data.map(
        (r): ReviewData => ({
          id: r.id,
          author: r.user?.login ?? 'ghost',
          body: r.body ?? '',
          state: r.state,
          submittedAt: r.submitted_at ?? '',
          commitId: r.commit_id ?? null,
        }),
      );
    },

    async replyToReviewComment(pullNumber, commentId, body) {
      await call('Replying in a review thread', () =>
        octokit.rest.pulls.createReplyForReviewComment({
          ...at,
          pull_number: pullNumber,
          comment_id: commentId,
          body,
        }),
      );
    },
  };
}
