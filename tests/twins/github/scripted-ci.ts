import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CI_FILE,
  DEFAULT_TIMEOUT_MS,
  type JobSpec,
  parseAnnotations,
  parseCiFile,
  runCommand,
} from './ci-commands.js';
import { listBranches } from './git.js';
import { checkoutCommit, fileAt } from './git-ci.js';
import { nowIso } from './http.js';
import {
  afterCompleted,
  ensureSuite,
  newCheckRun,
  newStatus,
  sendCheckRun,
  sendStatus,
  sendWorkflowJob,
  sendWorkflowRun,
} from './records-ci.js';
import type { IssueRec, RepoRec } from './state.js';
import type { AnnotationRec, CiOutcomeRec, Conclusion, JobRec, WorkflowRunRec } from './state-ci.js';
import type { TwinCore } from './twin-core.js';

/**
 * A scripted CI, the honest way for tests to get red or green: on a push, the twin reads
 * `.twin-ci.json` at the pushed commit, runs each job's command in a throwaway checkout on the host
 * (time-capped, output capped, an environment with no credentials), and records what GitHub Actions
 * would: a workflow run with a job per command (its output is the job's log), a check suite with a check
 * run per job (annotations from `::error file=…,line=…::` lines), a commit status per job, and the
 * webhooks of each step. Tests can also script a job's outcome per attempt (`seed.ciOutcome`), e.g.
 * fail then pass on a re-run (a flaky test), without running anything.
 */

/** Jobs run at once across the twin: the dev machine has 2 cores. */
const MAX_PARALLEL = 2;

/** GitHub's log lines: each prefixed with its time. */
function logLines(text: string): string {
  const at = nowIso().replace('Z', '.0000000Z');
  return text
    .split('\n')
    .map((l) => `${at} ${l}`)
    .join('\n');
}

export class ScriptedCi {
  private active = new Set<Promise<unknown>>();
  private slots = MAX_PARALLEL;
  private waiting: (() => void)[] = [];

  constructor(private readonly core: TwinCore) {
    // Actions' accounts, as on GitHub: its bot sets the statuses, `github` owns the app. Neither has a token.
    const users = core.state.users;
    if (!users.has('github-actions[bot]')) {
      users.set('github-actions[bot]', {
        login: 'github-actions[bot]',
        id: 41898282,
        type: 'Bot',
        token: '',
      });
    }
    if (!users.has('github'))
      users.set('github', { login: 'github', id: 9919, type: 'Organization', token: '' });
  }

  enabledFor(repo: RepoRec): boolean {
    const e = this.core.state.ci.enabled;
    return e === 'all' || e.has(repo.id);
  }

  /** Called on every branch move; starts a run in the background when CI applies. */
  onPush(repo: RepoRec, branch: string, before: string, after: string, actor: string): void {
    if (this.enabledFor(repo)) this.track(this.runForPush(repo, branch, before, after, actor));
    // A push to a fork's branch that heads a pull request runs the parent's CI too (its `pull_request`
    // workflows), on the parent, which holds the commit under refs/pull/N/head.
    const parent = repo.forkOf === null ? undefined : this.core.state.repoById(repo.forkOf);
    if (!parent || !this.enabledFor(parent)) return;
    const heads = [...this.core.state.issuesOf(parent).values()].some(
      (i) =>
        i.pull &&
        i.state === 'open' &&
        i.pull.headRepoId === repo.id &&
        i.pull.head === branch &&
        i.pull.headSha === after,
    );
    if (heads) this.track(this.runForPush(parent, branch, before, after, actor, 'pull_request'));
  }

  /**
   * A pull request opened from a fork: GitHub runs the base repository's `pull_request` workflows
   * on its head (with a read-only token and no secrets). A same-repository head already had its
   * run on the push, which the twin labels `pull_request` once the PR exists.
   */
  onPullOpened(repo: RepoRec, issue: IssueRec, actor: string): void {
    const pull = issue.pull;
    if (!pull || pull.headRepoId === null || !this.enabledFor(repo)) return;
    this.track(this.runForPush(repo, pull.head, pull.baseSha, pull.headSha, actor, 'pull_request'));
  }

  /** Resolves when no CI run is in progress (runs started meanwhile are awaited too). */
  async idle(): Promise<void> {
    while (this.active.size) await Promise.allSettled([...this.active]);
    await this.core.deliverer.settled();
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch(() => {}).finally(() => this.active.delete(t));
    this.active.add(t);
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.slots === 0) await new Promise<void>((r) => this.waiting.push(r));
    this.slots -= 1;
    try {
      return await fn();
    } finally {
      this.slots += 1;
      this.waiting.shift()?.();
    }
  }

  private rulesFor(repo: RepoRec, sha: string, branch: string | null): CiOutcomeRec[] {
    return this.core.state.ci.outcomes.filter(
      (r) => r.repoId === repo.id && (r.sha ? r.sha === sha : r.branch === branch),
    );
  }

  private async runForPush(
    repo: RepoRec,
    branch: string,
    before: string,
    sha: string,
    actor: string,
    forced?: 'pull_request',
  ) {
    const text = await fileAt(repo.gitDir, sha, CI_FILE);
    const parsed = text === null ? null : parseCiFile(text);
    const rules = this.rulesFor(repo, sha, branch);
    const jobs: JobSpec[] = parsed?.jobs ?? [];
    for (const r of rules) if (!jobs.some((j) => j.name === r.job)) jobs.push({ name: r.job, timeoutMs: 0 });
    if (text !== null && parsed === null)
      jobs.push({ name: 'workflow', command: `echo "${CI_FILE} is invalid" >&2; exit 1`, timeoutMs: 5_000 });
    if (jobs.length === 0) return;
    const event =
      forced ??
      ([...this.core.state.issuesOf(repo).values()].some(
        (i) => i.pull && i.state === 'open' && i.pull.head === branch,
      )
        ? 'pull_request'
        : 'push');
    await this.run(repo, { sha, branch, before, actor, event, name: parsed?.name ?? 'CI', jobs });
  }

  /** Records a workflow run on `sha` and runs (or scripts) its jobs; also used by `seed.ciRun`. */
  async run(
    repo: RepoRec,
    input: {
      sha: string;
      branch: string | null;
      before?: string;
      actor: string;
      event: string;
      name: string;
      jobs: JobSpec[];
      scripted?: { name: string; conclusion: Conclusion; log?: string; annotations?: AnnotationRec[] }[];
    },
  ): Promise<WorkflowRunRec> {
    const { core } = this;
    const ci = core.state.ci;
    const suite = ensureSuite(core, repo, input.sha, 'actions', input.branch, input.before ?? null);
    const at = nowIso();
    const runNumber = (ci.runNumbers.get(repo.id) ?? 0) + 1;
    ci.runNumbers.set(repo.id, runNumber);
    const run: WorkflowRunRec = {
      id: core.state.id(),
      repoId: repo.id,
      workflowId: 161335 + repo.id,
      name: input.name,
      headSha: input.sha,
      headBranch: input.branch,
      event: input.event,
      status: 'queued',
      conclusion: null,
      runNumber,
      runAttempt: 1,
      suiteId: suite.id,
      createdAt: at,
      updatedAt: at,
      runStartedAt: at,
      actor: input.actor,
      jobs: [],
    };
    ci.workflowRuns.set(run.id, run);
    const specs = input.scripted ? input.scripted.map((s) => ({ name: s.name, timeoutMs: 0 })) : input.jobs;
    await this.attempt(repo, run, specs, input.scripted);
    return run;
  }

  /** Re-runs the failed jobs of a run as its next attempt (rerun-failed-jobs). */
  rerunFailed(repo: RepoRec, run: WorkflowRunRec): void {
    const latest = latestJobs(run);
    const failed = latest.filter((j) => j.conclusion !== 'success' && j.conclusion !== 'skipped');
    run.runAttempt += 1;
    run.status = 'queued';
    run.conclusion = null;
    const specs = failed.map((j) => ({
      name: j.name,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      command: this.commands.get(`${run.id}:${j.name}`),
    }));
    this.track(this.attempt(repo, run, specs));
  }

  private commands = new Map<string, string | undefined>();
  private scriptedJobs = new Map<
    string,
    { conclusion: Conclusion; log?: string; annotations?: AnnotationRec[] }
  >();

  private async attempt(
    repo: RepoRec,
    run: WorkflowRunRec,
    specs: JobSpec[],
    scripted?: { name: string; conclusion: Conclusion; log?: string; annotations?: AnnotationRec[] }[],
  ) {
    const { core } = this;
    const suite = core.state.ci.suites.get(run.suiteId)!;
    const jobs: JobRec[] = [];
    const branches = Object.entries(await listBranches(repo.gitDir))
      .filter(([, s]) => s === run.headSha)
      .map(([b]) => b);
    await sendWorkflowRun(core, repo, run, 'requested');
    for (const spec of specs) {
      this.commands.set(`${run.id}:${spec.name}`, spec.command);
      const check = newCheckRun(core, repo, suite, {
        name: spec.name,
        headSha: run.headSha,
        status: 'queued',
      });
      const at = nowIso();
      const job: JobRec = {
        id: core.state.id(),
        runId: run.id,
        runAttempt: run.runAttempt,
        name: spec.name,
        status: 'queued',
        conclusion: null,
        createdAt: at,
        startedAt: at,
        completedAt: null,
        log: '',
        checkRunId: check.id,
      };
      run.jobs.push(job);
      jobs.push(job);
      // As Actions' check runs: details link to the job's page, external id names the job.
      check.detailsUrl = `${core.config.url}/${repo.fullName}/actions/runs/${run.id}/job/${job.id}`;
      check.externalId = String(job.id);
      await sendWorkflowJob(core, repo, run, job, 'queued');
      await sendCheckRun(core, repo, check, 'created', run.actor);
      await sendStatus(
        core,
        repo,
        newStatus(core, repo, {
          sha: run.headSha,
          state: 'pending',
          context: `ci/${spec.name}`,
          description: 'Running',
          creator: 'github-actions[bot]',
        }),
        branches,
      );
    }
    run.status = 'in_progress';
    run.updatedAt = nowIso();
    await sendWorkflowRun(core, repo, run, 'in_progress');
    for (const [i, job] of jobs.entries()) {
      const spec = specs[i]!;
      const check = core.state.ci.checkRuns.get(job.checkRunId)!;
      job.status = 'in_progress';
      job.startedAt = nowIso();
      check.status = 'in_progress';
      await sendWorkflowJob(core, repo, run, job, 'in_progress');
      // A job recorded by `ci.run` repeats its scripted result on a re-run (unless an outcome rule says otherwise).
      const key = `${run.id}:${spec.name}`;
      const given = scripted?.find((s) => s.name === spec.name);
      if (given) this.scriptedJobs.set(key, given);
      const result = await this.outcome(repo, run, spec, given ?? this.scriptedJobs.get(key));
      job.log = logLines(`##[group]Run ${spec.command ?? spec.name}\n##[endgroup]\n${result.log}`);
      job.status = 'completed';
      job.conclusion = result.conclusion;
      job.completedAt = nowIso();
      const tail = result.log.trimEnd().split('\n').slice(-20).join('\n');
      check.output = {
        title: result.conclusion === 'success' ? `${spec.name} passed` : `${spec.name}: ${result.conclusion}`,
        summary: tail ? `\`\`\`\n${tail}\n\`\`\`` : '',
        text: null,
      };
      check.annotations = result.annotations;
      check.status = 'completed';
      check.conclusion = result.conclusion;
      check.completedAt = job.completedAt;
      await sendWorkflowJob(core, repo, run, job, 'completed');
      const state =
        result.conclusion === 'success' || result.conclusion === 'skipped' ? 'success' : 'failure';
      // A job waiting for a person (a fork PR's run awaiting approval) has no result to report yet.
      if (result.conclusion !== 'action_required')
        await sendStatus(
          core,
          repo,
          newStatus(core, repo, {
            sha: run.headSha,
            state,
            context: `ci/${spec.name}`,
            description: check.output.title,
            targetUrl: `${core.config.url}/${repo.fullName}/actions/runs/${run.id}/job/${job.id}`,
            creator: 'github-actions[bot]',
          }),
          branches,
        );
      await afterCompleted(core, repo, check, run.actor);
    }
    const latest = latestJobs(run);
    run.status = 'completed';
    const settled = (j: JobRec) => j.conclusion === 'success' || j.conclusion === 'skipped';
    run.conclusion = latest.every(settled)
      ? 'success'
      : latest.every((j) => settled(j) || j.conclusion === 'action_required')
        ? 'action_required'
        : 'failure';
    run.updatedAt = nowIso();
    await sendWorkflowRun(core, repo, run, 'completed');
  }

  private async outcome(
    repo: RepoRec,
    run: WorkflowRunRec,
    spec: JobSpec,
    scripted?: { conclusion: Conclusion; log?: string; annotations?: AnnotationRec[] },
  ): Promise<{ conclusion: Conclusion; log: string; annotations: AnnotationRec[] }> {
    const rule = this.rulesFor(repo, run.headSha, run.headBranch).find((r) => r.job === spec.name);
    if (scripted && !(rule && run.runAttempt > 1)) {
      return {
        conclusion: scripted.conclusion,
        log: scripted.log ?? '',
        annotations: scripted.annotations ?? [],
      };
    }
    if (rule && rule.outcomes.length > 0) {
      const conclusion = rule.outcomes[Math.min(run.runAttempt, rule.outcomes.length) - 1]!;
      const log = rule.log ?? `${spec.name}: ${conclusion} (scripted)`;
      const annotations = (rule.annotations ?? []).map((a) => ({
        path: a.path,
        startLine: a.line,
        endLine: a.line,
        level: 'failure' as const,
        message: a.message,
        title: null,
        rawDetails: null,
      }));
      return { conclusion, log, annotations: conclusion === 'success' ? [] : annotations };
    }
    if (!spec.command) return { conclusion: 'success', log: '', annotations: [] };
    return this.slot(async () => {
      const dir = await checkoutCommit(repo.gitDir, run.headSha);
      try {
        const env = {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          CI: 'true',
          GITHUB_SHA: run.headSha,
          GITHUB_REF: `refs/heads/${run.headBranch ?? ''}`,
          LANG: 'C.UTF-8',
        };
        const r = await runCommand(spec.command!, join(dir, 'work'), spec.timeoutMs, env);
        const conclusion: Conclusion = r.timedOut ? 'timed_out' : r.code === 0 ? 'success' : 'failure';
        const log = r.timedOut
          ? `${r.output}\n##[error]The job exceeded the maximum execution time of ${spec.timeoutMs} ms.`
          : `${r.output}${r.code === 0 ? '' : `\n##[error]Process completed with exit code ${r.code}.`}`;
        return { conclusion, log, annotations: parseAnnotations(r.output) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
}

/** The newest attempt of each job name. */
export function latestJobs(run: WorkflowRunRec): JobRec[] {
  const byName = new Map<string, JobRec>();
  for (const j of run.jobs) byName.set(j.name, j);
  return [...byName.values()];
}
