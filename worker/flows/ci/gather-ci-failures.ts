import type { CheckRunData, WorkflowRunData } from '../../../src/github/ci-data.js';
import type { RepoGitHub } from '../../../src/github/github-for-worker.js';
import type { CiFailure } from '../../agent/tool.js';
import { capLog } from './cap-log.js';

/**
 * What failed on a commit, gathered for a `repair-ci` run (issue 15 item 1): the failed
 * check runs with their output and annotations, the failed Actions jobs' logs (head and
 * tail kept), and failing legacy commit statuses. Every text here was written by the code
 * under test or by a CI tool: it is untrusted and the context builder fences it.
 */

export type CiReader = Pick<
  RepoGitHub,
  | 'listCheckRunsForRef'
  | 'listWorkflowRunsForSha'
  | 'listJobsForWorkflowRun'
  | 'downloadJobLog'
  | 'getCombinedStatus'
>;

/** Pullwright's own check run (item 4) never counts as CI. */
export const OWN_CHECK_NAME = 'Pullwright';

const FAILED = new Set(['failure', 'timed_out', 'startup_failure']);
export const MAX_FAILURES = 10;
/** Bytes asked of the log download; capLog then keeps a head and tail of what came. */
const LOG_DOWNLOAD_BYTES = 64 * 1024;
const SUMMARY_CHARS = 2_000;
const MAX_ANNOTATIONS = 30;

export interface CiState {
  failures: CiFailure[];
  /** Checks or statuses not finished yet (a repair waits for the whole suite). */
  pending: string[];
  /** Names of the checks that passed. */
  passed: string[];
  /** Failed Actions runs on the commit (what a re-run would retry). */
  failedRuns: WorkflowRunData[];
}

function isOwn(run: CheckRunData, botLogin: string): boolean {
  return run.name === OWN_CHECK_NAME && (run.appSlug === null || botLogin.startsWith(`${run.appSlug}[bot]`));
}

function cut(text: string | null | undefined, max: number): string {
  const t = (text ?? '').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

export async function gatherCiState(
  github: CiReader,
  sha: string,
  options: { botLogin: string; logs?: boolean },
): Promise<CiState> {
  const runs = (await github.listCheckRunsForRef(sha, { annotations: true })).filter(
    (r) => !isOwn(r, options.botLogin),
  );
  const failures: CiFailure[] = [];
  const pending: string[] = [];
  const passed: string[] = [];
  const failedChecks: CheckRunData[] = [];
  for (const run of runs) {
    if (run.status !== 'completed') pending.push(run.name);
    else if (run.conclusion !== null && FAILED.has(run.conclusion)) failedChecks.push(run);
    else passed.push(run.name);
  }

  // Actions: the failed jobs of the failed runs on this commit, whose logs say which command failed.
  const logs = new Map<string, string>();
  let failedRuns: WorkflowRunData[] = [];
  const fromActions = failedChecks.some((r) => r.appSlug === 'github-actions');
  if (fromActions) {
    const all = await github.listWorkflowRunsForSha(sha).catch(() => [] as WorkflowRunData[]);
    failedRuns = all.filter(
      (r) => r.status === 'completed' && r.conclusion !== null && FAILED.has(r.conclusion),
    );
    if (options.logs !== false) {
      for (const run of failedRuns) {
        const jobs = await github.listJobsForWorkflowRun(run.id);
        for (const job of jobs) {
          if (job.conclusion === null || !FAILED.has(job.conclusion) || logs.has(job.name)) continue;
          const log = await github.downloadJobLog(job.id, { maxBytes: LOG_DOWNLOAD_BYTES }).catch(() => null);
          if (log) logs.set(job.name, capLog(log.text));
        }
      }
    }
  }

  for (const run of failedChecks.slice(0, MAX_FAILURES)) {
    const summary = [run.output.title, run.output.summary, run.output.text].filter(Boolean).join('\n\n');
    failures.push({
      name: run.name,
      conclusion: run.conclusion ?? 'failure',
      summary: cut(summary, SUMMARY_CHARS),
      log: logs.get(run.name) ?? '',
      annotations: run.annotations
        .filter((a) => a.level === 'failure' || a.level === 'warning')
        .slice(0, MAX_ANNOTATIONS)
        .map((a) => ({ path: a.path, line: a.startLine ?? null, message: cut(a.message, 500) })),
    });
  }

  // Legacy statuses (other CI services). Actions-style twins report a status per job too:
  // one whose context names a failed check already listed is the same failure.
  const combined = await github.getCombinedStatus(sha).catch(() => null);
  const listed = new Set(failures.map((f) => f.name));
  const known = new Set([...listed, ...passed]);
  for (const status of combined?.statuses ?? []) {
    const sameAsCheck = [...known].some((n) => status.context === n || status.context.endsWith(`/${n}`));
    if (status.state === 'pending' && !sameAsCheck) pending.push(status.context);
    if (
      (status.state === 'failure' || status.state === 'error') &&
      !sameAsCheck &&
      failures.length < MAX_FAILURES
    )
      failures.push({
        name: status.context,
        conclusion: status.state,
        summary: cut(status.description, SUMMARY_CHARS),
        log: '',
        annotations: [],
      });
  }
  return { failures, pending, passed, failedRuns };
}
