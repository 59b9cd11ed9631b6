import { createAppAuth } from '@octokit/auth-app';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GitHubForWorker, LegacyGitHubForWorker, RepoGitHub } from './github-for-worker.js';
import { callGitHub } from './octokit-errors.js';
import { createOctokitRepoGitHub } from './octokit-repo-github.js';
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

export interface OctokitGitHubForWorkerOptions {
  appId: string | number;
  privateKey: string;
  baseUrl: string;
  log: Logger;
}

export function createOctokitGitHubForWorker(options: OctokitGitHubForWorkerOptions): GitHubForWorker {
  const appAuth = createAppAuth({
    appId: options.appId,
    privateKey: options.privateKey,
    // App-level requests (token minting) get the same retries as everything else.
    request: createResilientOctokit({ baseUrl: options.baseUrl, log: options.log }).request,
  });

  async function forRepo(installationId: number, repo: RepoRef): Promise<RepoGitHub> {
    const auth = await callGitHub('Minting an installation token', () =>
      appAuth({
        type: 'installation',
        installationId,
        repositoryNames: [repo.name],
        permissions: { ...JOB_TOKEN_PERMISSIONS },
        // A job's token is its own: never one cached for another job of the same repository.
        refresh: true,
      }),
    );
    const octokit = createResilientOctokit({ auth: auth.token, baseUrl: options.baseUrl, log: options.log });
    return createOctokitRepoGitHub({ octokit, repo, token: auth.token, tokenExpiresAt: auth.expiresAt });
  }

  return { forRepo, ...createLegacyMethods(forRepo) };
}

/**
 * The repo-taking methods from before `forRepo`, for the flows until they have
 * switched: `createRepoToken` keeps a client per repository for the others.
 * @deprecated removed once the flows use `forRepo`.
 */
function createLegacyMethods(
  forRepo: (installationId: number, repo: RepoRef) => Promise<RepoGitHub>,
): LegacyGitHubForWorker {
  const clients = new Map<string, RepoGitHub>();
  const key = (repo: RepoRef) => `${repo.owner}/${repo.name}`.toLowerCase();
  const client = (repo: RepoRef): RepoGitHub => {
    const c = clients.get(key(repo));
    if (!c || Date.parse(c.tokenExpiresAt) < Date.now() + 60_000) {
      throw new PullwrightError('unauthorized', `No valid token for ${key(repo)}; createRepoToken first.`, {
        retryable: true,
      });
    }
    return c;
  };
  return {
    async createRepoToken(installationId, repo) {
      const c = await forRepo(installationId, repo);
      clients.set(key(repo), c);
      return { token: c.token, expiresAt: c.tokenExpiresAt };
    },
    getDefaultBranch: async (repo) => client(repo).getDefaultBranch(),
    getDefaultBranchFile: async (repo, path) => client(repo).getDefaultBranchFile(path),
    getIssue: async (repo, number) => client(repo).getIssue(number),
    listIssueComments: async (repo, number) => client(repo).listIssueComments(number),
    getPermission: async (repo, login) => client(repo).getPermission(login),
    createComment: async (repo, number, body) => client(repo).createComment(number, body),
    updateComment: async (repo, commentId, body) => client(repo).updateComment(commentId, body),
    getPull: async (repo, number) => client(repo).getPull(number),
    listPullsByHead: async (repo, branch, state) => client(repo).listPullsByHead(branch, state),
    createPull: async (repo, input) => client(repo).createPull(input),
    updatePull: async (repo, number, input) => client(repo).updatePull(number, input),
    addLabels: async (repo, number, labels) => client(repo).addLabels(number, labels),
    getBranchSha: async (repo, branch) => client(repo).getBranchSha(branch),
    listReviewThreads: async (repo, number) => client(repo).listReviewThreads(number),
    listReviews: async (repo, number) => client(repo).listReviews(number),
    replyToReviewComment: async (repo, pullNumber, commentId, body) =>
      client(repo).replyToReviewComment(pullNumber, commentId, body),
  };
}
