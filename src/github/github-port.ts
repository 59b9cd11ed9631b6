import type { ReactionTarget } from '../domain/reaction-target.js';
import type { RepoRef } from '../domain/task.js';
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
}
