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

import type { AgentEvent, AgentTask, PlanItem } from '../agent/tool.js';
import type { NetworkPolicy, Sandbox } from '../sandbox/sandbox.js';

/**
 * What the flows need from the outside world, as ports. Adapters bind them to
 * Octokit (src/github), the workspace helpers, the Docker sandbox and the agent
 * harness; tests can bind them to fakes. The agent itself sees none of these:
 * only the host pushes and comments.
 */

export interface PreparedWorkspace {
  /** Host path of the credential-free working copy the sandbox mounts. */
  workDir: string;
  /** The commit the working copy starts from. */
  baseSha: string;
  dispose(): Promise<void>;
}

export interface PatchResult {
  patch: string;
  paths: string[];
  stats: { files: number; additions: number; deletions: number; bytes: number };
}

export interface Identity {
  name: string;
  email: string;
}

export interface WorkspacePort {
  /** Fetches into the per-repo cache and makes a working copy of `ref` (a branch or sha). */
  prepare(input: { repo: RepoRef; token: string; ref: string; jobId: string }): Promise<PreparedWorkspace>;
  /** Reads the agent-writable tree as data and returns its change against `baseSha`. */
  extractPatch(workspace: PreparedWorkspace): Promise<PatchResult>;
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

export interface AgentLimits {
  maxTurns: number;
  maxCostUsd: number;
  maxWallMs: number;
}

export interface AgentRunResult {
  outcome: 'completed' | 'no-changes' | 'limit' | 'error' | 'cancelled';
  summary: string;
  limit?: string;
  error?: { code: string; message: string };
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number; costUsd: number };
  turns: number;
  durationMs: number;
  plan: PlanItem[];
  /** The agent's reply per review thread, by the thread's number in the task (1-based). */
  threadReplies?: { thread: number; reply: string }[];
}

export interface AgentRunnerPort {
  run(input: {
    sandbox: Sandbox;
    task: AgentTask;
    verifyCommands: string[];
    limits: AgentLimits;
    signal: AbortSignal;
    transcriptPath: string;
    onEvent: (event: AgentEvent) => void;
    /** Called with 'context' once the context is built, just before the first model request. */
    onMark?: (phase: string) => void;
  }): Promise<AgentRunResult>;
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

export interface SandboxFactory {
  create(input: {
    workDir: string;
    network: NetworkPolicy;
    labels: Record<string, string>;
  }): Promise<Sandbox>;
}
