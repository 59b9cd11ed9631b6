import type { RunOutcome } from '../../src/domain/run-outcome.js';
import type { RepoRef, Task } from '../../src/domain/task.js';
import type { GitHubForWorker, RepoGitHub } from '../../src/github/github-for-worker.js';
import type { Logger } from '../../src/logger.js';
import type { FollowUpMarks } from '../../src/queue/follow-up-marks.js';
import type { SessionMemoryStore } from '../../src/queue/session-memory-store.js';
import type { CostLedger } from '../../src/runs/cost-ledger.js';
import type { RunStore } from '../../src/runs/run-store.js';
import type { AgentResult } from '../agent/loop/run-agent.js';
import type { RunRecorder } from '../run-record/run-recorder.js';
import type { PhaseTimings } from '../session/phase-timings.js';
import type { AgentSessionDeps, AgentSessionResult } from '../session/run-agent-session.js';
import type { AgentSandboxPool } from './agent-sandbox-pool.js';
import type { CheckRunReporter } from './check-run.js';
import type { FlowRepoConfig } from './flow-config.js';
import type { Identity, MaintenanceCaps, WorkspacePort } from './ports.js';
import type { TrackingComment } from './tracking-comment.js';

/** What a flow is built from; the composition root (create-worker-runtime.ts) binds each to its adapter. */
export interface FlowDeps {
  /** Only `forRepo`: every call a job makes goes through the client bound to its repository. */
  github: Pick<GitHubForWorker, 'forRepo'> & Partial<Pick<GitHubForWorker, 'forkFor'>>;
  /** The operator's fork delivery (env FORK_OWNER, FORCE_FORK_DELIVERY); absent: branch delivery only. */
  delivery?: { forkOwner?: string; forceFork: boolean };
  workspaces: WorkspacePort;
  /** Containers, image and agent runner of the one agent session (worker/session). */
  session: AgentSessionDeps;
  /**
   * Agent containers started ahead of any run on empty run folders (issue 17,
   * agent-sandbox-pool.ts); absent or empty: each run starts its own during the fetch.
   */
  agentPool?: Pick<AgentSandboxPool, 'take'>;
  caps: MaintenanceCaps;
  /** The repository's effective settings, read from its default branch. */
  loadRepoConfig(github: RepoGitHub): Promise<FlowRepoConfig>;
  bot: { login: string; identity: Identity };
  /** Where transcripts are kept. */
  runDir: string;
  /**
   * What Pullwright pushed to each PR, for the app's follow-ups (src/queue/follow-up-marks.ts):
   * every push is recorded, and repair-ci reads its claim ("attempt n of N"). Absent in
   * unit tests without Redis: nothing is recorded and repairs count from 1. With `findPullByHead`,
   * `releaseRepair` and `tasks`, a head already red when recorded is queued for repair at once
   * (worker/flows/reconcile-ci.ts).
   */
  followUps?: Pick<FollowUpMarks, 'recordPush' | 'getPull' | 'getRepair' | 'claimRepair'> &
    Partial<
      Pick<
        FollowUpMarks,
        'findPullByHead' | 'releaseRepair' | 'tasks' | 'startRerun' | 'getRerun' | 'forgetRerun'
      >
    >;
  /** Session memory per issue/PR (issue 18), loaded before the agent and stored after it. */
  memoryStore?: Pick<SessionMemoryStore, 'load' | 'save'>;
  /** The run record (issue 16): what the run pages show. Absent: nothing is recorded. */
  runStore?: RunStore;
  /** Month-to-date cost per installation and repository, for the monthly budget. */
  costLedger?: CostLedger;
  /** PUBLIC_URL (run page links) and MAX_MONTHLY_COST_USD (the installation's monthly budget). */
  runPages?: { publicUrl?: string; maxMonthlyCostUsd?: number };
}

export type FlowStatus = RunOutcome;

export interface FlowOutcome {
  status: FlowStatus;
  prNumber?: number;
  prUrl?: string;
  branch?: string;
  commitSha?: string;
  reason?: string;
  agent?: AgentResult;
}

/** A job's state once the preamble ran: the repository client, its settings and the tracking comment. */
export interface FlowContext<T extends Task = Task> {
  task: T;
  jobId: string;
  deps: FlowDeps;
  signal: AbortSignal;
  log: Logger;
  github: RepoGitHub;
  defaultBranch: string;
  config: FlowRepoConfig;
  tracking: TrackingComment | null;
  /** The run record (a no-op without a store); its `url` is the run page. */
  recorder: RunRecorder;
  /** The run's `Pullwright` check run once the plan named a head (null when off or not started). */
  checkRun: CheckRunReporter | null;
  started: number;
  /** Scrubbed from anything the run reports (the repository token). */
  secrets: string[];
  timings: PhaseTimings;
}

/** What the session produced for a mode to deliver. */
export interface SessionRun extends AgentSessionResult {
  baseSha: string;
}

export function repoName(repo: RepoRef): string {
  return `${repo.owner}/${repo.name}`;
}
