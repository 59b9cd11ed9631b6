import type { RepoRef } from '../../src/domain/task.js';
import type { GitIdentity } from '../delivery/git-delivery.js';
import type { CommitAndPush, PushTarget } from '../delivery/push-change.js';
import type { SessionWorkspace } from '../session/run-agent-session.js';
import type { MergeConflict } from '../workspace/merge-branch.js';

/**
 * What the flows need from the outside world, as ports. Adapters bind them to
 * the workspace helpers and the maintenance caps in Redis (GitHub is `RepoGitHub`
 * from src/github; the sandbox and the agent are the session's: worker/session).
 * Tests bind them to fakes. The agent itself sees none of these: only the host
 * pushes and comments.
 */

/** A job's working copy: the session mounts it and reads its diff; the flow disposes it. */
export interface PreparedWorkspace extends SessionWorkspace {
  dispose(): Promise<void>;
}

export type Identity = GitIdentity;

/** An empty working-copy folder inside a new run folder (`WorkspacePort.newRunFolder`). */
export interface RunFolder {
  /** The empty folder a container can mount and `prepare({ workDir })` checks out into. */
  workDir: string;
  /** Removes the whole run folder. */
  dispose(): Promise<void>;
}

/** The host's git: working copies for the session, and commit-and-push for delivery. */
export interface WorkspacePort extends CommitAndPush {
  /** Fetches into the per-repo cache and makes a working copy of `ref` (a branch or sha). */
  prepare(input: {
    repo: RepoRef;
    token: string;
    ref: string;
    jobId: string;
    /** Extra refs to fetch, e.g. `refs/pull/12/head` (a fork's pull request head, kept by the base repository). */
    refs?: string[];
    /**
     * Called once with the working copy's folder, made empty before the fetch and the
     * checkout, so the agent's container can start on it meanwhile (issue 17: startAgentSandbox).
     */
    onWorkDir?: (workDir: string) => void;
    /**
     * An empty folder from `newRunFolder` (a pooled agent container already mounts it):
     * the working copy is made in it instead of in a new run folder, and `onWorkDir` is not called.
     */
    workDir?: string;
  }): Promise<PreparedWorkspace>;
  /**
   * A new run folder holding only an empty `work` folder, for an agent container started
   * before any run (worker/flows/agent-sandbox-pool.ts); `prepare({ workDir })` takes it.
   */
  newRunFolder?(): Promise<RunFolder>;
  /** Commits on `branch` since `baseSha` whose author is not `botEmail` (a person pushed). */
  foreignCommits(input: {
    repo: RepoRef;
    token: string;
    branchSha: string;
    sinceSha: string;
    botEmail: string;
  }): Promise<{ sha: string; author: string }[]>;
  /**
   * Brings `branch` (at `headSha`) up to date with `baseRef` on the host (issue 15 item 2):
   * a rebase with a lease when asked and it applies cleanly, else a merge. A clean result is
   * pushed here, unless `verifyFirst`: then it is kept in the cache (`merged`) for the caller
   * to verify and push with `pushUpdate`. A conflicting merge is kept as a local commit with
   * markers (`mergeSha`, in the cache so `prepare` can start from it) for the agent to resolve.
   */
  updateBranch(input: {
    repo: RepoRef;
    token: string;
    branch: string;
    headSha: string;
    baseRef: string;
    strategy: 'merge' | 'rebase';
    author: GitIdentity;
    jobId: string;
    /** Extra refs to fetch, e.g. `refs/pull/12/head` (the head of a PR from Pullwright's fork). */
    refs?: string[];
    /** Push there instead (Pullwright's fork, `delivery: fork`); the base still comes from `repo`. */
    pushTo?: PushTarget;
    /** Keep a clean result unpushed (`merged`) so the repository's verify commands run on it first. */
    verifyFirst?: boolean;
  }): Promise<BranchUpdate>;
  /**
   * Pushes a `merged` update kept by `updateBranch`: a merge as a fast-forward of the head, a
   * rebase with a lease on `expectedSha` (the head it was rebased from). A person's push
   * meanwhile makes either a `conflict`.
   */
  pushUpdate(input: {
    repo: RepoRef;
    token: string;
    branch: string;
    sha: string;
    expectedSha?: string;
    pushTo?: PushTarget;
  }): Promise<void>;
  /** Commits the agent's resolution of `mergeSha` as a merge of `parents` and pushes it (no force). */
  pushResolution(input: {
    repo: RepoRef;
    token: string;
    branch: string;
    mergeSha: string;
    parents: [string, string];
    conflictPaths: string[];
    patch: string;
    message: string;
    author: GitIdentity;
    pushTo?: PushTarget;
  }): Promise<{ commitSha: string }>;
}

export type BranchUpdate =
  | { kind: 'up-to-date'; baseSha: string }
  | { kind: 'pushed'; sha: string; baseSha: string; rebased: boolean }
  /** Clean, not pushed yet (`verifyFirst`): in the cache for `prepare` and `pushUpdate`. */
  | { kind: 'merged'; sha: string; baseSha: string; rebased: boolean }
  | { kind: 'conflicts'; mergeSha: string; baseSha: string; conflicts: MergeConflict[] };

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
