import { type CommitDetail, commitDetails } from './git-ci.js';
import { nowIso } from './http.js';
import { CiSerializer } from './serialize-ci.js';
import type { RepoRec } from './state.js';
import type {
  AnnotationRec,
  CheckRunRec,
  CheckStatus,
  CheckSuiteRec,
  Conclusion,
  JobRec,
  StatusRec,
  StatusState,
  WorkflowRunRec,
} from './state-ci.js';
import type { TwinCore } from './twin-core.js';

/**
 * Creating and changing CI records, shared by the REST routes, the scripted CI and the seed API, and
 * the webhooks each change sends (`check_run`, `check_suite`, `workflow_run`, `workflow_job`, `status`).
 * `send: false` (REST changes while `restWebhooks` is off) changes state without a delivery.
 */

const cache = new WeakMap<TwinCore, CiSerializer>();
export function ciSer(core: TwinCore): CiSerializer {
  let s = cache.get(core);
  if (!s) {
    s = new CiSerializer(core.config.url, core.state, core.ser);
    cache.set(core, s);
  }
  return s;
}

// Commits never change: one git process per commit, however many webhooks name it.
const heads = new Map<string, Promise<CommitDetail | undefined>>();
export function headOf(repo: RepoRec, sha: string): Promise<CommitDetail | undefined> {
  const key = `${repo.gitDir}:${sha}`;
  let found = heads.get(key);
  if (!found) {
    found = commitDetails(repo.gitDir, ['-1', sha]).then(
      (list) => list[0],
      () => undefined,
    );
    heads.set(key, found);
  }
  return found;
}

export function ensureSuite(
  core: TwinCore,
  repo: RepoRec,
  sha: string,
  app: 'app' | 'actions',
  branch: string | null,
  before: string | null = null,
): CheckSuiteRec {
  const found = core.state.ci.suiteFor(repo.id, sha, app);
  if (found) return found;
  const at = nowIso();
  const suite: CheckSuiteRec = {
    id: core.state.id(),
    repoId: repo.id,
    headSha: sha,
    headBranch: branch,
    app,
    before,
    after: sha,
    createdAt: at,
    updatedAt: at,
  };
  core.state.ci.suites.set(suite.id, suite);
  return suite;
}

export async function sendCheckRun(
  core: TwinCore,
  repo: RepoRec,
  run: CheckRunRec,
  action: string,
  sender: string,
) {
  await core.sendEvent('check_run', { action, check_run: ciSer(core).checkRun(repo, run) }, { repo, sender });
}

export async function sendSuite(
  core: TwinCore,
  repo: RepoRec,
  suite: CheckSuiteRec,
  action: string,
  sender: string,
) {
  const json = ciSer(core).checkSuite(repo, suite, await headOf(repo, suite.headSha));
  await core.sendEvent('check_suite', { action, check_suite: json }, { repo, sender });
}

export interface CheckRunInput {
  name: string;
  headSha: string;
  status?: CheckStatus;
  conclusion?: Conclusion | null;
  detailsUrl?: string | null;
  externalId?: string | null;
  startedAt?: string | null;
  completedAt?: string | null;
  output?: { title?: string | null; summary?: string | null; text?: string | null };
  annotations?: AnnotationRec[];
}

export function newCheckRun(
  core: TwinCore,
  repo: RepoRec,
  suite: CheckSuiteRec,
  input: CheckRunInput,
): CheckRunRec {
  const completed = input.conclusion != null;
  const status: CheckStatus = completed ? 'completed' : (input.status ?? 'queued');
  const run: CheckRunRec = {
    id: core.state.id(),
    repoId: repo.id,
    suiteId: suite.id,
    headSha: input.headSha,
    name: input.name,
    app: suite.app,
    status,
    conclusion: completed ? input.conclusion! : null,
    detailsUrl: input.detailsUrl ?? null,
    externalId: input.externalId ?? null,
    startedAt: input.startedAt ?? nowIso(),
    completedAt: status === 'completed' ? (input.completedAt ?? nowIso()) : null,
    output: {
      title: input.output?.title ?? null,
      summary: input.output?.summary ?? null,
      text: input.output?.text ?? null,
    },
    annotations: [...(input.annotations ?? [])],
  };
  core.state.ci.checkRuns.set(run.id, run);
  suite.updatedAt = nowIso();
  return run;
}

/** Applies a change; annotations are appended, as GitHub does on updates. Says whether it just completed. */
export function changeCheckRun(run: CheckRunRec, change: Omit<Partial<CheckRunInput>, 'headSha'>): boolean {
  const was = run.status;
  if (change.name !== undefined) run.name = change.name;
  if (change.detailsUrl !== undefined) run.detailsUrl = change.detailsUrl;
  if (change.externalId !== undefined) run.externalId = change.externalId;
  if (change.startedAt !== undefined) run.startedAt = change.startedAt;
  if (change.output) {
    if (change.output.title !== undefined) run.output.title = change.output.title;
    if (change.output.summary !== undefined) run.output.summary = change.output.summary;
    if (change.output.text !== undefined) run.output.text = change.output.text;
  }
  if (change.annotations) run.annotations.push(...change.annotations);
  if (change.conclusion != null) {
    run.status = 'completed';
    run.conclusion = change.conclusion;
    run.completedAt = change.completedAt ?? nowIso();
  } else if (change.status !== undefined && run.status !== 'completed') {
    run.status = change.status;
  }
  return was !== 'completed' && run.status === 'completed';
}

/** After a check run completed: `check_run.completed`, then `check_suite.completed` once all its runs are done. */
export async function afterCompleted(core: TwinCore, repo: RepoRec, run: CheckRunRec, sender: string) {
  await sendCheckRun(core, repo, run, 'completed', sender);
  const suite = core.state.ci.suites.get(run.suiteId);
  if (suite && ciSer(core).suiteState(suite).status === 'completed')
    await sendSuite(core, repo, suite, 'completed', sender);
}

export function newStatus(
  core: TwinCore,
  repo: RepoRec,
  input: {
    sha: string;
    state: StatusState;
    context?: string;
    description?: string | null;
    targetUrl?: string | null;
    creator: string;
  },
): StatusRec {
  const rec: StatusRec = {
    id: core.state.id(),
    repoId: repo.id,
    sha: input.sha,
    state: input.state,
    context: input.context || 'default',
    description: input.description ?? null,
    targetUrl: input.targetUrl ?? null,
    creator: input.creator,
    createdAt: nowIso(),
  };
  core.state.ci.statuses.push(rec);
  return rec;
}

/** The `status` webhook: the status fields at the top level, with the commit and the branches holding it. */
export async function sendStatus(core: TwinCore, repo: RepoRec, s: StatusRec, branches: string[]) {
  const head = await headOf(repo, s.sha);
  const commit = head ? ciSer(core).commit(repo, head) : { sha: s.sha };
  return core.sendEvent(
    'status',
    {
      id: s.id,
      sha: s.sha,
      name: repo.fullName,
      target_url: s.targetUrl,
      avatar_url: null,
      context: s.context,
      description: s.description,
      state: s.state,
      commit,
      branches: branches.map((name) => ({
        name,
        commit: { sha: s.sha, url: `${core.config.url}/repos/${repo.fullName}/commits/${s.sha}` },
        protected: false,
      })),
      created_at: s.createdAt,
      updated_at: s.createdAt,
    },
    { repo, sender: s.creator },
  );
}

/** Latest status per context, newest first, and GitHub's combined state. */
export function combined(
  core: TwinCore,
  repo: RepoRec,
  sha: string,
): { state: string; statuses: StatusRec[] } {
  const latest = new Map<string, StatusRec>();
  for (const s of core.state.ci.statuses) if (s.repoId === repo.id && s.sha === sha) latest.set(s.context, s);
  const statuses = [...latest.values()].reverse();
  const state = statuses.some((s) => s.state === 'failure' || s.state === 'error')
    ? 'failure'
    : statuses.length === 0 || statuses.some((s) => s.state === 'pending')
      ? 'pending'
      : 'success';
  return { state, statuses };
}

export async function sendWorkflowRun(core: TwinCore, repo: RepoRec, run: WorkflowRunRec, action: string) {
  const s = ciSer(core);
  await core.sendEvent(
    'workflow_run',
    {
      action,
      workflow: s.workflow(repo, run),
      workflow_run: s.workflowRun(repo, run, await headOf(repo, run.headSha)),
    },
    { repo, sender: run.actor },
  );
}

export async function sendWorkflowJob(
  core: TwinCore,
  repo: RepoRec,
  run: WorkflowRunRec,
  job: JobRec,
  action: string,
) {
  await core.sendEvent(
    'workflow_job',
    { action, workflow_job: ciSer(core).job(repo, run, job) },
    { repo, sender: run.actor },
  );
}
