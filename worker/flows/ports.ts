import type { RepoRef } from '../../src/domain/task.js';

export type {
  CommentData,
  GitHubForWorker,
  IssueData,
  Permission,
  PullData,
  ReviewData,
  ReviewThreadData,
} from '../../src/github/github-for-worker.js';

import type { SessionWorkspace } from '../session/run-agent-session.js';

/**
 * What the flows need from the outside world, as ports. Adapters bind them to
 * Octokit (src/github) and the workspace helpers (the sandbox and the agent are
 * the session's: worker/session); tests can bind them to fakes. The agent itself sees none of these:
 * only the host pushes and comments.
 */

/** A job's working copy: the session mounts it and reads its diff; the flow disposes it. */
export interface PreparedWorkspace extends SessionWorkspace {
  dispose(): Promise<void>;
}

export interface Identity {
  name: string;
  email: string;
}

export interface WorkspacePort {
  /** Fetches into the per-repo cache and makes a working copy of `ref` (a branch or sha). */
  prepare(input: { repo: RepoRef; token: string; ref: string; jobId: string }): Promise<PreparedWorkspace>;
  /**
   * Applies the patch to a clean, host-controlled checkout of `parentSha`, commits it and
   * pushes `branch` without force; a push that is not a fast-forward fails with code `conflict`.
   */
  commitAndPush(input: {
    repo: RepoRef;
    token: string;
    parentSha: string;
    branch: string;
    patch: string;
    message: string;
    author: Identity;
    /**
     * Replace the branch (force-with-lease) only when it still points at this sha.
     * Used to regenerate a maintenance branch that holds nothing but our own commits.
     */
    replaceSha?: string;
  }): Promise<{ commitSha: string }>;
  /** Commits on `branch` since `baseSha` whose author is not `botEmail` (a person pushed). */
  foreignCommits(input: {
    repo: RepoRef;
    token: string;
    branchSha: string;
    sinceSha: string;
    botEmail: string;
  }): Promise<{ sha: string; author: string }[]>;
}

export interface MaintenanceCaps {
  /** Renovate-style limits: open PRs per repo and new PRs per hour, shared by every worker. */
  check(
    repo: RepoRef,
    task: { id: string; maxOpenPrs: number; maxNewPrsPerHour: number },
  ): Promise<{
    ok: boolean;
    reason?: string;
  }>;
  recordOpened(repo: RepoRef, taskId: string, prNumber?: number): Promise<void>;
}
