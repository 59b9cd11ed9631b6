/**
 * What Pullwright reads and writes about CI on GitHub: check runs and suites, Actions runs, jobs and
 * their logs, commit statuses, and comparisons. Shapes are reduced to what the flows use; all text in
 * them (names, summaries, annotations, logs) was written by the repository's code or its CI and is
 * untrusted: fence it before it reaches a model, render it inert before it reaches a comment.
 */

export type CheckStatus = 'queued' | 'in_progress' | 'completed';
export type CheckConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required'
  | 'stale';

export interface CheckAnnotation {
  path: string;
  startLine: number;
  endLine: number;
  level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string | null;
}

export interface CheckRunOutput {
  title: string;
  summary: string;
  text?: string;
  /** GitHub accepts at most 50 per request; more are sent in further updates. */
  annotations?: CheckAnnotation[];
}

export interface NewCheckRun {
  name: string;
  headSha: string;
  status?: CheckStatus;
  conclusion?: CheckConclusion;
  detailsUrl?: string;
  externalId?: string;
  startedAt?: string;
  completedAt?: string;
  output?: CheckRunOutput;
}

export type CheckRunChange = Partial<Omit<NewCheckRun, 'headSha'>>;

export interface CheckRunData {
  id: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  detailsUrl: string | null;
  htmlUrl: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotationsCount: number };
  /** Filled only by `listCheckRunsForRef(ref, { annotations: true })`, for runs that did not succeed. */
  annotations: CheckAnnotation[];
  /** Slug of the app that made it (`github-actions` for Actions' own runs). */
  appSlug: string | null;
  checkSuiteId: number | null;
}

export interface CheckSuiteData {
  id: number;
  headSha: string;
  headBranch: string | null;
  status: CheckStatus | null;
  conclusion: CheckConclusion | null;
  appSlug: string | null;
  latestCheckRunsCount: number;
}

export interface WorkflowRunData {
  id: number;
  name: string;
  headSha: string;
  headBranch: string | null;
  event: string;
  status: string | null;
  conclusion: string | null;
  runAttempt: number;
  htmlUrl: string;
  checkSuiteId: number | null;
  pullNumbers: number[];
  createdAt: string;
}

export interface WorkflowJobData {
  id: number;
  runId: number;
  runAttempt: number;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  htmlUrl: string | null;
  startedAt: string;
  completedAt: string | null;
  steps: { number: number; name: string; status: string; conclusion: string | null }[];
}

export interface JobLog {
  /** UTF-8 text; over the cap, the head and the tail are kept with an omission line between. */
  text: string;
  truncated: boolean;
  totalBytes: number;
}

export interface CommitStatusData {
  context: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  description: string | null;
  targetUrl: string | null;
  createdAt: string;
}

export interface CombinedStatusData {
  sha: string;
  state: 'failure' | 'pending' | 'success';
  totalCount: number;
  /** The latest status per context, as GitHub combines them. */
  statuses: CommitStatusData[];
}

export interface CompareData {
  status: 'ahead' | 'behind' | 'diverged' | 'identical';
  aheadBy: number;
  behindBy: number;
  mergeBaseSha: string;
}

export interface PullCommitData {
  sha: string;
  message: string;
  parents: string[];
  /** GitHub logins (null when the email maps to no account); an app's bot is `slug[bot]`. */
  authorLogin: string | null;
  committerLogin: string | null;
  authorEmail: string;
  committerEmail: string;
}

export interface NewIssue {
  title: string;
  body: string;
  labels?: string[];
}

export interface IssueChange {
  title?: string;
  body?: string;
  state?: 'open' | 'closed';
}
