/** The twin's CI records: check suites and runs, Actions workflow runs and jobs, commit statuses. */

export type CheckStatus = 'queued' | 'in_progress' | 'completed';
export type Conclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required'
  | 'stale';
export type StatusState = 'error' | 'failure' | 'pending' | 'success';

/** Actions' own app: its suites and check runs are not the installed app's. */
export const ACTIONS_APP = { id: 15368, slug: 'github-actions', name: 'GitHub Actions', owner: 'github' };

export interface AnnotationRec {
  path: string;
  startLine: number;
  endLine: number;
  level: 'notice' | 'warning' | 'failure';
  message: string;
  title: string | null;
  rawDetails: string | null;
}

export interface CheckSuiteRec {
  id: number;
  repoId: number;
  headSha: string;
  headBranch: string | null;
  /** 'app' = the twin's installed app; 'actions' = GitHub Actions. */
  app: 'app' | 'actions';
  before: string | null;
  after: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CheckRunRec {
  id: number;
  repoId: number;
  suiteId: number;
  headSha: string;
  name: string;
  app: 'app' | 'actions';
  status: CheckStatus;
  conclusion: Conclusion | null;
  detailsUrl: string | null;
  externalId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: AnnotationRec[];
}

export interface JobRec {
  id: number;
  runId: number;
  runAttempt: number;
  name: string;
  status: CheckStatus;
  conclusion: Conclusion | null;
  createdAt: string;
  startedAt: string;
  completedAt: string | null;
  log: string;
  checkRunId: number;
}

export interface WorkflowRunRec {
  id: number;
  repoId: number;
  workflowId: number;
  name: string;
  headSha: string;
  headBranch: string | null;
  event: string;
  status: CheckStatus;
  conclusion: Conclusion | null;
  runNumber: number;
  runAttempt: number;
  suiteId: number;
  createdAt: string;
  updatedAt: string;
  runStartedAt: string;
  /** Who pushed: the sender of the run's webhooks. */
  actor: string;
  jobs: JobRec[];
}

export interface StatusRec {
  id: number;
  repoId: number;
  sha: string;
  state: StatusState;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
}

/** A scripted outcome for the next CI runs of a commit or branch (see ScriptedCi). */
export interface CiOutcomeRec {
  repoId: number;
  sha?: string;
  branch?: string;
  job: string;
  /** One per attempt; the last one repeats. */
  outcomes: Conclusion[];
  log?: string;
  annotations?: { path: string; line: number; message: string }[];
}

export class CiRecords {
  suites = new Map<number, CheckSuiteRec>();
  checkRuns = new Map<number, CheckRunRec>();
  workflowRuns = new Map<number, WorkflowRunRec>();
  statuses: StatusRec[] = [];
  outcomes: CiOutcomeRec[] = [];
  /** Repos (ids) whose pushes run the scripted CI; 'all' = every repo. */
  enabled: Set<number> | 'all' = new Set();
  /** Short-lived log download tokens → job, like GitHub's signed log URLs. */
  logLinks = new Map<string, { runId: number; jobId: number; expiresAt: number }>();
  runNumbers = new Map<number, number>();

  job(jobId: number): { run: WorkflowRunRec; job: JobRec } | undefined {
    for (const run of this.workflowRuns.values()) {
      const job = run.jobs.find((j) => j.id === jobId);
      if (job) return { run, job };
    }
    return undefined;
  }

  suiteFor(repoId: number, sha: string, app: 'app' | 'actions'): CheckSuiteRec | undefined {
    for (const s of this.suites.values())
      if (s.repoId === repoId && s.headSha === sha && s.app === app) return s;
    return undefined;
  }
}
