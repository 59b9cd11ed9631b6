import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import * as checks from './check-ops.js';
import type { CommentData, RepoGitHub, ReviewData } from './github-for-worker.js';
import * as issues from './issue-ops.js';
import { downloadJobLog } from './job-log.js';
import { callGitHub as call, callGitHubOr as callOr } from './octokit-errors.js';
import { toPermission } from './permission.js';
import * as pulls from './pull-ops.js';
import { toPull } from './pull-ops.js';
import { getDefaultBranchFile, MAX_REPO_FILE_BYTES } from './repo-file.js';
import { listReviewThreads, resolveReviewThread } from './review-threads.js';

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
  /** What the token was granted (see `JOB_TOKEN_PERMISSIONS` and the optional ones). */
  permissions: Readonly<Record<string, 'read' | 'write'>>;
  /** The app's bot login (`slug[bot]`): whose issues `findIssueByMarker` trusts by default. */
  botLogin?: string;
}): RepoGitHub {
  const { octokit, repo } = input;
  const { permissions } = input;
  const at = { owner: repo.owner, repo: repo.name };
  return {
    repo,
    token: input.token,
    tokenExpiresAt: input.tokenExpiresAt,
    tokenPermissions: permissions,

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

    getIssue(number) {
      return issues.getIssue(octokit, repo, number);
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

    getPull(number) {
      return pulls.getPull(octokit, repo, number);
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

    resolveReviewThread: (threadId) => resolveReviewThread(octokit, threadId),
    getPullMergeability: (number, options) =>
      pulls.getPullMergeability(octokit, repo, number, options?.timeoutMs),
    compareCommits: (base, head) => pulls.compareCommits(octokit, repo, base, head),
    listPullCommits: (number) => pulls.listPullCommits(octokit, repo, number),

    createCheckRun: (run) => checks.createCheckRun(octokit, repo, run),
    updateCheckRun: (id, change) => checks.updateCheckRun(octokit, repo, id, change),
    listCheckRunsForRef: (ref, options) => checks.listCheckRunsForRef(octokit, repo, ref, options),
    listCheckSuitesForRef: (ref) => checks.listCheckSuitesForRef(octokit, repo, ref),
    listWorkflowRunsForSha: (sha) => checks.listWorkflowRunsForSha(octokit, repo, sha),
    getWorkflowRun: (runId) => checks.getWorkflowRun(octokit, repo, runId),
    listJobsForWorkflowRun: (runId, filter) => checks.listJobsForWorkflowRun(octokit, repo, runId, filter),
    downloadJobLog: (jobId, options) => downloadJobLog(octokit, repo, jobId, options?.maxBytes),
    getCombinedStatus: (ref) => checks.getCombinedStatus(octokit, repo, ref),
    rerunFailedJobs: (runId) => checks.rerunFailedJobs(octokit, repo, runId, permissions),

    createIssue: (issue) => issues.createIssue(octokit, repo, issue),
    updateIssue: (number, change) => issues.updateIssue(octokit, repo, number, change),
    findIssueByMarker(marker, options = {}) {
      const creator = options.creator ?? input.botLogin;
      if (!creator) {
        throw new PullwrightError(
          'internal',
          'findIssueByMarker needs a creator: this client has no bot login',
        );
      }
      return issues.findIssueByMarker(octokit, repo, marker, creator, options.state);
    },
  };
}
