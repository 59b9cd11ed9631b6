import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import type { Logger } from '../logger.js';
import * as checks from './check-ops.js';
import type { GitHubPort, RepoFile } from './github-port.js';
import * as issues from './issue-ops.js';
import { postJson } from './light-request.js';
import { toGitHubError } from './octokit-errors.js';
import { toPermission } from './permission.js';
import * as pulls from './pull-ops.js';
import { getDefaultBranchFile } from './repo-file.js';
import { addResilience } from './resilient-octokit.js';

export interface AppGitHubPortOptions {
  appId: string | number;
  privateKey: string;
  baseUrl: string;
  /** Where retried GitHub reads are reported. */
  log?: Logger;
}

/**
 * The webhook app's GitHub adapter. One Octokit per installation, kept for the
 * life of the process: `createAppAuth` caches and refreshes the installation
 * token itself, so a delivery costs no token request and no client setup.
 * Plain `@octokit/rest` rather than Probot's client: Probot's throttling plugin
 * spaces writes one second apart, which would queue every 👀 reaction of a
 * busy installation behind the previous one.
 */
export function createAppGitHubPort(options: AppGitHubPortOptions): GitHubPort {
  const clients = new Map<number, Octokit>();
  const client = (installationId: number): Octokit => {
    let octokit = clients.get(installationId);
    if (!octokit) {
      // The reads a delivery waits on (permission, config file) ride out a GitHub blip
      // instead of failing the delivery, which GitHub would not send again by itself.
      // Bounded well inside GitHub's 10 s answer limit. Writes are not retried here: a
      // comment whose 502 hid a success would be posted twice.
      octokit = addResilience(
        new Octokit({
          baseUrl: options.baseUrl,
          userAgent: 'pullwright-app',
          authStrategy: createAppAuth,
          auth: { appId: Number(options.appId), privateKey: options.privateKey, installationId },
          log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        }),
        { methods: ['GET'], maxAttempts: 3, baseDelayMs: 200, maxWaitMs: 2_000, log: options.log },
      );
      clients.set(installationId, octokit);
    }
    return octokit;
  };

  // The token for the bare reaction request, reused until 5 minutes before it expires
  // (createAppAuth mints and caches it; this skips its hook on the hot path).
  const tokens = new Map<number, { token: string; refreshAt: number }>();
  const installationToken = async (installationId: number, octokit: Octokit): Promise<string> => {
    const cached = tokens.get(installationId);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    const auth = (await octokit.auth({ type: 'installation' })) as { token: string; expiresAt?: string };
    const expires = auth.expiresAt ? Date.parse(auth.expiresAt) : Date.now() + 10 * 60_000;
    tokens.set(installationId, { token: auth.token, refreshAt: expires - 5 * 60_000 });
    return auth.token;
  };

  return {
    async getPermission(installationId, repo, login) {
      try {
        const { data } = await client(installationId).rest.repos.getCollaboratorPermissionLevel({
          owner: repo.owner,
          repo: repo.name,
          username: login,
        });
        return toPermission(data);
      } catch (err) {
        if ((err as { status?: number }).status === 404) return 'none';
        throw toGitHubError(err, 'get collaborator permission');
      }
    },

    async addReaction(installationId, repo: RepoRef, target, content) {
      const octokit = client(installationId);
      try {
        const token = await installationToken(installationId, octokit);
        const base = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;
        const path =
          target.kind === 'issue'
            ? `${base}/issues/${target.number}/reactions`
            : target.kind === 'issue_comment'
              ? `${base}/issues/comments/${target.commentId}/reactions`
              : `${base}/pulls/comments/${target.commentId}/reactions`;
        await postJson(options.baseUrl, path, token, { content });
      } catch (err) {
        throw toGitHubError(err, 'add reaction');
      }
    },

    async createComment(installationId, repo, number, body) {
      try {
        await client(installationId).rest.issues.createComment({
          owner: repo.owner,
          repo: repo.name,
          issue_number: number,
          body,
        });
      } catch (err) {
        throw toGitHubError(err, 'create comment');
      }
    },

    getDefaultBranchFile(installationId, repo, path): Promise<RepoFile | null> {
      return getDefaultBranchFile(client(installationId), repo, path, 'get repository file');
    },

    getPull: (installationId, repo, number) => pulls.getPull(client(installationId), repo, number),
    getPullMergeability: (installationId, repo, number, options) =>
      pulls.getPullMergeability(client(installationId), repo, number, options?.timeoutMs),
    compareCommits: (installationId, repo, base, head) =>
      pulls.compareCommits(client(installationId), repo, base, head),
    listOpenPulls: (installationId, repo, filter) =>
      pulls.listOpenPulls(client(installationId), repo, filter),
    listPullsForCommit: (installationId, repo, sha) =>
      pulls.listPullsForCommit(client(installationId), repo, sha),
    getIssue: (installationId, repo, number) => issues.getIssue(client(installationId), repo, number),
    createIssue: (installationId, repo, input) => issues.createIssue(client(installationId), repo, input),
    updateIssue: (installationId, repo, number, change) =>
      issues.updateIssue(client(installationId), repo, number, change),
    findIssueByMarker: (installationId, repo, marker, options) =>
      issues.findIssueByMarker(client(installationId), repo, marker, options.creator, options.state),
    getCombinedStatus: (installationId, repo, ref) =>
      checks.getCombinedStatus(client(installationId), repo, ref),
    listCheckSuitesForRef: (installationId, repo, ref) =>
      checks.listCheckSuitesForRef(client(installationId), repo, ref),
  };
}
