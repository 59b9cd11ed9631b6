import { createAppAuth } from '@octokit/auth-app';
import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  CommentData,
  GitHubForWorker,
  PullData,
  ReviewData,
  ReviewThreadData,
} from './github-for-worker.js';
import { toGitHubError } from './octokit-errors.js';
import { toPermission } from './permission.js';
import { createResilientOctokit } from './resilient-octokit.js';

/**
 * The worker's GitHub adapter. Each job mints its own installation token, scoped
 * to the one repository it works on and to the permissions a run needs, so a
 * job can never act on another repository of the installation.
 */
export const JOB_TOKEN_PERMISSIONS = {
  contents: 'write',
  issues: 'write',
  pull_requests: 'write',
  metadata: 'read',
} as const;

interface RepoClient {
  octokit: Octokit;
  expiresAt: number;
}

const REVIEW_THREADS_QUERY = `query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100) {
        nodes { id isResolved isOutdated path line comments(first: 100) { nodes { databaseId body author { login } } } }
      }
    }
  }
}`;

interface ReviewThreadsResponse {
  repository: {
    pullRequest: {
      reviewThreads: {
        nodes: {
          id: string;
          isResolved: boolean;
          isOutdated: boolean;
          path: string;
          line: number | null;
          comments: { nodes: { databaseId: number; body: string; author: { login: string } | null }[] };
        }[];
      };
    } | null;
  } | null;
}

const key = (repo: RepoRef) => `${repo.owner}/${repo.name}`.toLowerCase();

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

export function createOctokitGitHubForWorker(options: {
  appId: string | number;
  privateKey: string;
  baseUrl: string;
  log: Logger;
}): GitHubForWorker {
  const appAuth = createAppAuth({
    appId: options.appId,
    privateKey: options.privateKey,
    // App-level requests (token minting) get the same retries as everything else.
    request: createResilientOctokit({ baseUrl: options.baseUrl, log: options.log }).request,
  });
  const clients = new Map<string, RepoClient>();

  function client(repo: RepoRef): Octokit {
    const c = clients.get(key(repo));
    if (!c || c.expiresAt < Date.now() + 60_000) {
      throw new PullwrightError('unauthorized', `No valid token for ${key(repo)}; createRepoToken first.`, {
        retryable: true,
      });
    }
    return c.octokit;
  }

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toGitHubError(err, what);
    }
  }

  /** Like `call`, but a 404 is an answer (`absent`), not an error. */
  async function callOr<T, A>(what: string, absent: A, fn: () => Promise<T>): Promise<T | A> {
    try {
      return await fn();
    } catch (err) {
      const e = toGitHubError(err, what);
      if (e.code === 'not_found') return absent;
      throw e;
    }
  }

  const port: GitHubForWorker = {
    async createRepoToken(installationId, repo) {
      const auth = await call('Minting an installation token', () =>
        appAuth({
          type: 'installation',
          installationId,
          repositoryNames: [repo.name],
          permissions: { ...JOB_TOKEN_PERMISSIONS },
          refresh: true,
        }),
      );
      const octokit = createResilientOctokit({
        auth: auth.token,
        baseUrl: options.baseUrl,
        log: options.log,
      });
      clients.set(key(repo), { octokit, expiresAt: Date.parse(auth.expiresAt) });
      return { token: auth.token, expiresAt: auth.expiresAt };
    },

    async getDefaultBranch(repo) {
      const { data } = await call('Reading the repository', () =>
        client(repo).rest.repos.get({ owner: repo.owner, repo: repo.name }),
      );
      return data.default_branch;
    },

    async getDefaultBranchFile(repo, path) {
      // No ref: the contents API reads the default branch, so a PR cannot supply its own config.
      return callOr('Reading a file', null, async () => {
        const { data } = await client(repo).rest.repos.getContent({
          owner: repo.owner,
          repo: repo.name,
          path,
          mediaType: { format: 'raw' },
        });
        return typeof data === 'string' ? data : null;
      });
    },

    async getIssue(repo, number) {
      const { data } = await call('Reading the issue', () =>
        client(repo).rest.issues.get({ owner: repo.owner, repo: repo.name, issue_number: number }),
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

    async listIssueComments(repo, number) {
      const octokit = client(repo);
      const data = await call('Listing comments', () =>
        octokit.paginate(octokit.rest.issues.listComments, {
          owner: repo.owner,
          repo: repo.name,
          issue_number: number,
          per_page: 100,
        }),
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

    async getPermission(repo, login) {
      return callOr('Reading a permission', 'none' as const, async () => {
        const { data } = await client(repo).rest.repos.getCollaboratorPermissionLevel({
          owner: repo.owner,
          repo: repo.name,
          username: login,
        });
        return toPermission(data);
      });
    },

    async createComment(repo, number, body) {
      const { data } = await call('Creating a comment', () =>
        client(repo).rest.issues.createComment({
          owner: repo.owner,
          repo: repo.name,
          issue_number: number,
          body,
        }),
      );
      return { id: data.id, htmlUrl: data.html_url };
    },

    async updateComment(repo, commentId, body) {
      await call('Updating a comment', () =>
        client(repo).rest.issues.updateComment({
          owner: repo.owner,
          repo: repo.name,
          comment_id: commentId,
          body,
        }),
      );
    },

    async getPull(repo, number) {
      const { data } = await call('Reading the pull request', () =>
        client(repo).rest.pulls.get({ owner: repo.owner, repo: repo.name, pull_number: number }),
      );
      return toPull(data);
    },

    async listPullsByHead(repo, branch, state) {
      const { data } = await call('Listing pull requests', () =>
        client(repo).rest.pulls.list({
          owner: repo.owner,
          repo: repo.name,
          head: `${repo.owner}:${branch}`,
          state,
          sort: 'created',
          direction: 'desc',
          per_page: 100,
        }),
      );
      return data.map(toPull);
    },

    async createPull(repo, input) {
      const { data } = await call('Opening the pull request', () =>
        client(repo).rest.pulls.create({
          owner: repo.owner,
          repo: repo.name,
          ...input,
          maintainer_can_modify: true,
        }),
      );
      return toPull(data);
    },

    async updatePull(repo, number, input) {
      const { data } = await call('Updating the pull request', () =>
        client(repo).rest.pulls.update({ owner: repo.owner, repo: repo.name, pull_number: number, ...input }),
      );
      return toPull(data);
    },

    async addLabels(repo, number, labels) {
      await call('Adding labels', () =>
        client(repo).rest.issues.addLabels({
          owner: repo.owner,
          repo: repo.name,
          issue_number: number,
          labels,
        }),
      );
    },

    async getBranchSha(repo, branch) {
      return callOr('Reading a branch', null, async () => {
        const { data } = await client(repo).rest.repos.getBranch({
          owner: repo.owner,
          repo: repo.name,
          branch,
        });
        return data.commit.sha;
      });
    },

    async listReviewThreads(repo, number) {
      const octokit = client(repo);
      const [threads, restComments] = await Promise.all([
        call('Listing review threads', () =>
          octokit.graphql<ReviewThreadsResponse>(REVIEW_THREADS_QUERY, {
            owner: repo.owner,
            name: repo.name,
            number,
          }),
        ),
        call('Listing review comments', () =>
          octokit.paginate(octokit.rest.pulls.listReviewComments, {
            owner: repo.owner,
            repo: repo.name,
            pull_number: number,
            per_page: 100,
          }),
        ),
      ]);
      // GraphQL knows which threads are resolved; REST carries each comment's diff hunk.
      const byId = new Map(restComments.map((c) => [c.id, c]));
      const nodes = threads.repository?.pullRequest?.reviewThreads.nodes ?? [];
      return nodes.map(
        (t): ReviewThreadData => ({
          id: t.id,
          isResolved: t.isResolved,
          isOutdated: t.isOutdated,
          path: t.path,
          line: t.line,
          diffHunk: byId.get(t.comments.nodes[0]?.databaseId ?? -1)?.diff_hunk ?? '',
          comments: t.comments.nodes.map((c) => ({
            databaseId: c.databaseId,
            author: c.author?.login ?? 'ghost',
            body: c.body,
            createdAt: byId.get(c.databaseId)?.created_at ?? '',
          })),
        }),
      );
    },

    async listReviews(repo, number) {
      const octokit = client(repo);
      const data = await call('Listing reviews', () =>
        octokit.paginate(octokit.rest.pulls.listReviews, {
          owner: repo.owner,
          repo: repo.name,
          pull_number: number,
          per_page: 100,
        }),
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

    async replyToReviewComment(repo, pullNumber, commentId, body) {
      await call('Replying in a review thread', () =>
        client(repo).rest.pulls.createReplyForReviewComment({
          owner: repo.owner,
          repo: repo.name,
          pull_number: pullNumber,
          comment_id: commentId,
          body,
        }),
      );
    },
  };
  return port;
}
