import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type {
  CheckAnnotation,
  CheckConclusion,
  CheckRunChange,
  CheckRunData,
  CheckStatus,
  CheckSuiteData,
  CombinedStatusData,
  NewCheckRun,
  WorkflowJobData,
  WorkflowRunData,
} from './ci-data.js';
import { callGitHub } from './octokit-errors.js';

/** Checks, Actions runs and jobs, and commit statuses: what CI reported on a commit, and our own check run. */

/** GitHub takes at most 50 annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;

const at = (repo: RepoRef) => ({ owner: repo.owner, repo: repo.name });

/** GitHub refuses (422) a check run summary or text over 65535 characters; the end is cut with a note instead. */
export const MAX_OUTPUT_CHARS = 65_535;
export function capOutput(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  const note = '\n\n… (cut: GitHub keeps at most 65535 characters)';
  return text.slice(0, MAX_OUTPUT_CHARS - note.length) + note;
}

interface OctokitCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  details_url: string | null;
  html_url: string | null;
  started_at: string | null;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations_count: number };
  app: { slug?: string } | null;
  check_suite: { id: number } | null;
}

const STATUSES: CheckStatus[] = ['queued', 'in_progress', 'completed'];
// 'waiting', 'requested' and 'pending' are queued states of Actions' deployment gates.
const toStatus = (s: string | null): CheckStatus =>
  STATUSES.includes(s as CheckStatus) ? (s as CheckStatus) : 'queued';

function toCheckRun(r: OctokitCheckRun, annotations: CheckAnnotation[] = []): CheckRunData {
  return {
    id: r.id,
    name: r.name,
    headSha: r.head_sha,
    status: toStatus(r.status),
    conclusion: (r.conclusion as CheckConclusion | null) ?? null,
    detailsUrl: r.details_url,
    htmlUrl: r.html_url,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    output: {
      title: r.output.title,
      summary: r.output.summary,
      text: r.output.text,
      annotationsCount: r.output.annotations_count,
    },
    annotations,
    appSlug: r.app?.slug ?? null,
    checkSuiteId: r.check_suite?.id ?? null,
  };
}

function toWire(input: CheckRunChange, annotations?: CheckAnnotation[]) {
  return {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.status !== undefined ? { status: input.status } : {}),
    ...(input.conclusion !== undefined ? { conclusion: input.conclusion } : {}),
    ...(input.detailsUrl !== undefined ? { details_url: input.detailsUrl } : {}),
    ...(input.externalId !== undefined ? { external_id: input.externalId } : {}),
    ...(input.startedAt !== undefined ? { started_at: input.startedAt } : {}),
    ...(input.completedAt !== undefined ? { completed_at: input.completedAt } : {}),
    ...(input.output
      ? {
          output: {
            title: input.output.title,
            summary: capOutput(input.output.summary),
            ...(input.output.text !== undefined ? { text: capOutput(input.output.text) } : {}),
            ...(annotations?.length
              ? {
                  annotations: annotations.map((a) => ({
                    path: a.path,
                    start_line: a.startLine,
                    end_line: a.endLine,
                    annotation_level: a.level,
                    message: a.message,
                    ...(a.title ? { title: a.title } : {}),
                  })),
                }
              : {}),
          },
        }
      : {}),
  };
}

/** Sends the annotations past the first 50 in further updates of the same output, as GitHub requires. */
async function sendRemainingAnnotations(
  octokit: Octokit,
  repo: RepoRef,
  id: number,
  input: CheckRunChange,
  last: OctokitCheckRun,
): Promise<OctokitCheckRun> {
  const all = input.output?.annotations ?? [];
  let data = last;
  for (let i = ANNOTATIONS_PER_REQUEST; i < all.length; i += ANNOTATIONS_PER_REQUEST) {
    const chunk = all.slice(i, i + ANNOTATIONS_PER_REQUEST);
    ({ data } = await callGitHub('Adding check run annotations', () =>
      octokit.rest.checks.update({
        ...at(repo),
        check_run_id: id,
        ...toWire({ output: { ...input.output!, annotations: chunk } }, chunk),
      }),
    ));
  }
  return data;
}

export async function createCheckRun(
  octokit: Octokit,
  repo: RepoRef,
  input: NewCheckRun,
): Promise<CheckRunData> {
  const first = input.output?.annotations?.slice(0, ANNOTATIONS_PER_REQUEST);
  const { data } = await callGitHub('Creating a check run', () =>
    octokit.rest.checks.create({
      ...at(repo),
      head_sha: input.headSha,
      name: input.name,
      ...toWire(input, first),
    }),
  );
  return toCheckRun(await sendRemainingAnnotations(octokit, repo, data.id, input, data));
}

export async function updateCheckRun(
  octokit: Octokit,
  repo: RepoRef,
  id: number,
  change: CheckRunChange,
): Promise<CheckRunData> {
  const first = change.output?.annotations?.slice(0, ANNOTATIONS_PER_REQUEST);
  const { data } = await callGitHub('Updating a check run', () =>
    octokit.rest.checks.update({ ...at(repo), check_run_id: id, ...toWire(change, first) }),
  );
  return toCheckRun(await sendRemainingAnnotations(octokit, repo, id, change, data));
}

const PASSED = new Set(['success', 'neutral', 'skipped']);

export async function listCheckRunsForRef(
  octokit: Octokit,
  repo: RepoRef,
  ref: string,
  options: { annotations?: boolean; filter?: 'latest' | 'all' } = {},
): Promise<CheckRunData[]> {
  const runs = await callGitHub('Listing check runs', () =>
    octokit.paginate(octokit.rest.checks.listForRef, {
      ...at(repo),
      ref,
      filter: options.filter ?? 'latest',
      per_page: 100,
    }),
  );
  const out: CheckRunData[] = [];
  for (const r of runs) {
    let annotations: CheckAnnotation[] = [];
    if (options.annotations && r.output.annotations_count > 0 && !PASSED.has(r.conclusion ?? '')) {
      const list = await callGitHub('Listing check run annotations', () =>
        octokit.paginate(octokit.rest.checks.listAnnotations, {
          ...at(repo),
          check_run_id: r.id,
          per_page: 100,
        }),
      );
      annotations = list.map((a) => ({
        path: a.path,
        startLine: a.start_line,
        endLine: a.end_line,
        level: (a.annotation_level ?? 'failure') as CheckAnnotation['level'],
        message: a.message ?? '',
        title: a.title,
      }));
    }
    out.push(toCheckRun(r, annotations));
  }
  return out;
}

export async function listCheckSuitesForRef(
  octokit: Octokit,
  repo: RepoRef,
  ref: string,
): Promise<CheckSuiteData[]> {
  const suites = await callGitHub('Listing check suites', () =>
    octokit.paginate(octokit.rest.checks.listSuitesForRef, { ...at(repo), ref, per_page: 100 }),
  );
  return suites.map((s) => ({
    id: s.id,
    headSha: s.head_sha,
    headBranch: s.head_branch,
    status: s.status === null ? null : toStatus(s.status),
    conclusion: (s.conclusion as CheckConclusion | null) ?? null,
    appSlug: s.app?.slug ?? null,
    latestCheckRunsCount: s.latest_check_runs_count,
  }));
}

interface OctokitWorkflowRun {
  id: number;
  name?: string | null;
  head_sha: string;
  head_branch: string | null;
  event: string;
  status: string | null;
  conclusion: string | null;
  run_attempt?: number;
  html_url: string;
  check_suite_id?: number;
  pull_requests: { number: number }[] | null;
  created_at: string;
}

function toWorkflowRun(r: OctokitWorkflowRun): WorkflowRunData {
  return {
    id: r.id,
    name: r.name ?? '',
    headSha: r.head_sha,
    headBranch: r.head_branch,
    event: r.event,
    status: r.status,
    conclusion: r.conclusion,
    runAttempt: r.run_attempt ?? 1,
    htmlUrl: r.html_url,
    checkSuiteId: r.check_suite_id ?? null,
    pullNumbers: (r.pull_requests ?? []).map((p) => p.number),
    createdAt: r.created_at,
  };
}

export async function listWorkflowRunsForSha(
  octokit: Octokit,
  repo: RepoRef,
  headSha: string,
): Promise<WorkflowRunData[]> {
  const runs = await callGitHub('Listing workflow runs', () =>
    octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, {
      ...at(repo),
      head_sha: headSha,
      per_page: 100,
    }),
  );
  return runs.map(toWorkflowRun);
}

export async function getWorkflowRun(
  octokit: Octokit,
  repo: RepoRef,
  runId: number,
): Promise<WorkflowRunData> {
  const { data } = await callGitHub('Reading a workflow run', () =>
    octokit.rest.actions.getWorkflowRun({ ...at(repo), run_id: runId }),
  );
  return toWorkflowRun(data);
}

export async function listJobsForWorkflowRun(
  octokit: Octokit,
  repo: RepoRef,
  runId: number,
  filter: 'latest' | 'all' = 'latest',
): Promise<WorkflowJobData[]> {
  const jobs = await callGitHub('Listing workflow jobs', () =>
    octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, {
      ...at(repo),
      run_id: runId,
      filter,
      per_page: 100,
    }),
  );
  return jobs.map((j) => ({
    id: j.id,
    runId: j.run_id,
    runAttempt: j.run_attempt ?? 1,
    name: j.name,
    headSha: j.head_sha,
    status: j.status,
    conclusion: j.conclusion,
    htmlUrl: j.html_url,
    startedAt: j.started_at,
    completedAt: j.completed_at,
    steps: (j.steps ?? []).map((s) => ({
      number: s.number,
      name: s.name,
      status: s.status,
      conclusion: s.conclusion,
    })),
  }));
}

export async function getCombinedStatus(
  octokit: Octokit,
  repo: RepoRef,
  ref: string,
): Promise<CombinedStatusData> {
  const { data } = await callGitHub('Reading the combined status', () =>
    octokit.rest.repos.getCombinedStatusForRef({ ...at(repo), ref, per_page: 100 }),
  );
  return {
    sha: data.sha,
    state: data.state === 'success' || data.state === 'failure' ? data.state : 'pending',
    totalCount: data.total_count,
    statuses: data.statuses.map((s) => ({
      context: s.context,
      state: s.state as CombinedStatusData['statuses'][number]['state'],
      description: s.description,
      targetUrl: s.target_url,
      createdAt: s.created_at,
    })),
  };
}

export async function rerunFailedJobs(
  octokit: Octokit,
  repo: RepoRef,
  runId: number,
  permissions: Readonly<Record<string, string>>,
): Promise<void> {
  if (permissions.actions !== 'write') {
    // Asked before the call: the installation was not granted `actions: write`, so the call would 403.
    throw new PullwrightError('forbidden', 'Re-running jobs needs the actions: write permission', {
      retryable: false,
    });
  }
  await callGitHub('Re-running failed jobs', () =>
    octokit.rest.actions.reRunWorkflowFailedJobs({ ...at(repo), run_id: runId }),
  );
}
