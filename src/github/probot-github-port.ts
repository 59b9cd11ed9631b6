import type { Probot } from 'probot';
import type { RepoRef } from '../domain/task.js';
import type { GitHubPort, Permission, RepoFile } from './github-port.js';
import { toGitHubError } from './octokit-errors.js';

const PERMISSIONS: ReadonlySet<string> = new Set(['admin', 'maintain', 'write', 'triage', 'read', 'none']);

/** Files larger than this are not config files; refusing them bounds memory per delivery. */
const MAX_FILE_BYTES = 256 * 1024;

/**
 * The app's GitHub adapter over Probot's installation-authenticated Octokit
 * (Probot caches installation tokens, so a delivery costs no token request).
 */
export function createProbotGitHubPort(app: Pick<Probot, 'auth'>): GitHubPort {
  return {
    async getPermission(installationId, repo, login) {
      const octokit = await app.auth(installationId);
      try {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
          owner: repo.owner,
          repo: repo.name,
          username: login,
        });
        // `permission` folds maintain into write and triage into read; `role_name` keeps them.
        const role = (data as { role_name?: string }).role_name ?? data.permission;
        return (PERMISSIONS.has(role) ? role : data.permission) as Permission;
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 404) return 'none';
        throw toGitHubError(err, 'get collaborator permission');
      }
    },

    async addReaction(installationId, repo: RepoRef, target, content) {
      const octokit = await app.auth(installationId);
      const base = { owner: repo.owner, repo: repo.name, content };
      try {
        if (target.kind === 'issue') {
          await octokit.rest.reactions.createForIssue({ ...base, issue_number: target.number });
        } else if (target.kind === 'issue_comment') {
          await octokit.rest.reactions.createForIssueComment({ ...base, comment_id: target.commentId });
        } else {
          await octokit.rest.reactions.createForPullRequestReviewComment({
            ...base,
            comment_id: target.commentId,
          });
        }
      } catch (err) {
        throw toGitHubError(err, 'add reaction');
      }
    },

    async createComment(installationId, repo, number, body) {
      const octokit = await app.auth(installationId);
      try {
        await octokit.rest.issues.createComment({
          owner: repo.owner,
          repo: repo.name,
          issue_number: number,
          body,
        });
      } catch (err) {
        throw toGitHubError(err, 'create comment');
      }
    },

    async getDefaultBranchFile(installationId, repo, path): Promise<RepoFile | null> {
      const octokit = await app.auth(installationId);
      try {
        // No `ref`: GitHub then reads the default branch.
        const { data } = await octokit.rest.repos.getContent({ owner: repo.owner, repo: repo.name, path });
        if (Array.isArray(data) || data.type !== 'file') return null;
        if (data.size > MAX_FILE_BYTES) return { text: '', sha: data.sha };
        const encoded = 'content' in data && typeof data.content === 'string' ? data.content : '';
        return { text: Buffer.from(encoded, 'base64').toString('utf8'), sha: data.sha };
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw toGitHubError(err, 'get repository file');
      }
    },
  };
}
