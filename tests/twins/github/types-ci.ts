import type { Delivery } from './types.js';

/** Public contract of the twin's CI (`twin.ci`): the scripted CI and the outcomes tests set directly. */

export type CiConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required';

export interface CiOutcomeInput {
  repo: string;
  /** Exactly this commit; or `branch`: every next run on that branch (until cleared with `outcomes: []`). */
  sha?: string;
  branch?: string;
  /** The job (and check run) name; added to the run when `.twin-ci.json` has no job of that name. */
  job: string;
  /** One per run attempt, the last repeating: `['failure', 'success']` fails, then passes on a re-run (flaky). */
  outcomes: CiConclusion[];
  log?: string;
  annotations?: { path: string; line: number; message: string }[];
}

export interface CiRunInput {
  repo: string;
  sha: string;
  branch?: string;
  /** Default 'push'. */
  event?: string;
  /** Default 'CI'. */
  name?: string;
  /** Who the run's webhooks name as sender; default the repo owner. */
  actor?: string;
  jobs: {
    name: string;
    conclusion: CiConclusion;
    log?: string;
    annotations?: { path: string; line: number; message: string }[];
  }[];
}

export interface InspectedCheckRun {
  id: number;
  name: string;
  headSha: string;
  app: string;
  status: string;
  conclusion: string | null;
  title: string | null;
  summary: string | null;
  text: string | null;
  annotations: { path: string; startLine: number; level: string; message: string }[];
  /** When it completed (ISO time), null while it runs. */
  completedAt: string | null;
}

export interface InspectedWorkflowRun {
  id: number;
  name: string;
  headSha: string;
  headBranch: string | null;
  event: string;
  status: string;
  conclusion: string | null;
  runAttempt: number;
  checkSuiteId: number;
  jobs: { id: number; name: string; runAttempt: number; conclusion: string | null; log: string }[];
}

export interface TwinCi {
  /** Runs CI on every push to `repo` (all repos when omitted). `startGitHubTwin({ ci: true })` = all. */
  enable(repo?: string): void;
  disable(repo?: string): void;
  /** Scripts a job's outcome per attempt, instead of running its command. */
  outcome(input: CiOutcomeInput): void;
  /** Records a completed run on a commit now (with its webhooks), e.g. a check already failing on the base. */
  run(input: CiRunInput): Promise<{ runId: number; checkSuiteId: number; jobIds: number[] }>;
  /** A commit status set by `creator` (default 'ci-bot'), with the `status` webhook. */
  status(input: {
    repo: string;
    sha: string;
    state: 'error' | 'failure' | 'pending' | 'success';
    context: string;
    description?: string;
    targetUrl?: string;
    creator?: string;
  }): Promise<{ id: number; delivery: Delivery }>;
  /** Waits until no CI run is in progress and every webhook they sent was delivered. */
  idle(): Promise<void>;
  workflowRuns(repo: string): InspectedWorkflowRun[];
  checkRuns(repo: string, sha?: string): InspectedCheckRun[];
  /** Waits for the twin's background `mergeable` computation of a pull request's current commits. */
  settleMergeability(repo: string, number: number): Promise<void>;
}
