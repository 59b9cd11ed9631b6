import type { CommitDetail } from './git-ci.js';
import { type Json, nodeId, type Serializer } from './serialize.js';
import type { IssueRec, RepoRec, TwinState } from './state.js';
import {
  ACTIONS_APP,
  type AnnotationRec,
  type CheckRunRec,
  type CheckSuiteRec,
  type JobRec,
  type StatusRec,
  type WorkflowRunRec,
} from './state-ci.js';

/** GitHub JSON for the CI objects (checks, Actions, statuses, commits), checked against the OpenAPI description. */
export class CiSerializer {
  constructor(
    private readonly base: string,
    private readonly state: TwinState,
    private readonly ser: Serializer,
  ) {}

  private api(repo: RepoRec, path: string): string {
    return `${this.base}/repos/${repo.fullName}${path}`;
  }

  /** The app a suite or check run belongs to: the installed app, or GitHub Actions. */
  integration(app: 'app' | 'actions'): Json {
    if (app === 'app') return this.ser.appJson();
    return {
      id: ACTIONS_APP.id,
      slug: ACTIONS_APP.slug,
      client_id: 'Iv1.0000000000003c08',
      node_id: nodeId('App', ACTIONS_APP.id),
      owner: this.ser.user(ACTIONS_APP.owner),
      name: ACTIONS_APP.name,
      description: 'Automate your workflow from idea to production',
      external_url: `${this.base}/features/actions`,
      html_url: `${this.base}/apps/github-actions`,
      created_at: '2018-07-30T09:30:17Z',
      updated_at: '2019-12-10T19:04:12Z',
      permissions: {
        actions: 'write',
        checks: 'write',
        contents: 'write',
        metadata: 'read',
        statuses: 'write',
      },
      events: ['check_run', 'check_suite', 'push', 'pull_request', 'workflow_dispatch'],
    };
  }

  /** `pull-request-minimal`: the open PRs of this repository whose head is the commit. */
  pullsAt(repo: RepoRec, sha: string): Json[] {
    const repoMin = { id: repo.id, url: this.api(repo, ''), name: repo.name };
    return [...this.state.issuesOf(repo).values()]
      .filter(
        (i: IssueRec) => i.pull && i.state === 'open' && i.pull.headSha === sha && i.pull.headRepoId === null,
      )
      .map((i) => ({
        id: i.pull!.id,
        number: i.number,
        url: this.api(repo, `/pulls/${i.number}`),
        head: { ref: i.pull!.head, sha: i.pull!.headSha, repo: repoMin },
        base: { ref: i.pull!.base, sha: i.pull!.baseSha, repo: repoMin },
      }));
  }

  annotation(repo: RepoRec, run: CheckRunRec, a: AnnotationRec): Json {
    return {
      path: a.path,
      blob_href: `${this.base}/${repo.fullName}/blob/${run.headSha}/${a.path}`,
      start_line: a.startLine,
      end_line: a.endLine,
      start_column: null,
      end_column: null,
      annotation_level: a.level,
      title: a.title,
      message: a.message,
      raw_details: a.rawDetails,
    };
  }

  checkRun(repo: RepoRec, r: CheckRunRec): Json {
    const url = this.api(repo, `/check-runs/${r.id}`);
    return {
      id: r.id,
      node_id: nodeId('CheckRun', r.id),
      head_sha: r.headSha,
      external_id: r.externalId,
      url,
      html_url: `${this.base}/${repo.fullName}/runs/${r.id}`,
      details_url: r.detailsUrl,
      status: r.status,
      conclusion: r.conclusion,
      started_at: r.startedAt,
      completed_at: r.completedAt,
      output: {
        title: r.output.title,
        summary: r.output.summary,
        text: r.output.text,
        annotations_count: r.annotations.length,
        annotations_url: `${url}/annotations`,
      },
      name: r.name,
      check_suite: { id: r.suiteId },
      app: this.integration(r.app),
      pull_requests: this.pullsAt(repo, r.headSha),
    };
  }

  /** A suite's status and conclusion follow its latest check runs, as on GitHub. */
  suiteState(s: CheckSuiteRec): { status: string; conclusion: string | null; runs: CheckRunRec[] } {
    const latest = new Map<string, CheckRunRec>();
    for (const r of this.state.ci.checkRuns.values()) if (r.suiteId === s.id) latest.set(r.name, r);
    const runs = [...latest.values()];
    if (runs.length === 0) return { status: 'queued', conclusion: null, runs };
    if (runs.some((r) => r.status !== 'completed')) {
      return {
        status: runs.some((r) => r.status === 'in_progress') ? 'in_progress' : 'queued',
        conclusion: null,
        runs,
      };
    }
    const order = [
      'action_required',
      'cancelled',
      'timed_out',
      'failure',
      'neutral',
      'success',
      'skipped',
      'stale',
    ];
    const conclusion = order.find((c) => runs.some((r) => r.conclusion === c)) ?? 'success';
    // A suite of only neutral/skipped runs concludes neutral/skipped; success wins over both otherwise.
    return {
      status: 'completed',
      conclusion: conclusion === 'skipped' && runs.length > 1 ? 'success' : conclusion,
      runs,
    };
  }

  headCommit(c: CommitDetail | undefined, sha: string): Json {
    return {
      id: sha,
      tree_id: c?.tree ?? sha,
      message: c?.message ?? '',
      timestamp: c?.committerDate ?? new Date().toISOString(),
      author: { name: c?.authorName ?? '', email: c?.authorEmail ?? '' },
      committer: { name: c?.committerName ?? '', email: c?.committerEmail ?? '' },
    };
  }

  checkSuite(repo: RepoRec, s: CheckSuiteRec, head: CommitDetail | undefined): Json {
    const st = this.suiteState(s);
    return {
      id: s.id,
      node_id: nodeId('CheckSuite', s.id),
      head_branch: s.headBranch,
      head_sha: s.headSha,
      status: st.status,
      conclusion: st.conclusion,
      url: this.api(repo, `/check-suites/${s.id}`),
      before: s.before,
      after: s.after,
      pull_requests: this.pullsAt(repo, s.headSha),
      app: this.integration(s.app),
      repository: this.ser.repo(repo),
      created_at: s.createdAt,
      updated_at: s.updatedAt,
      head_commit: this.headCommit(head, s.headSha),
      latest_check_runs_count: st.runs.length,
      check_runs_url: this.api(repo, `/check-suites/${s.id}/check-runs`),
      rerequestable: true,
      runs_rerequestable: true,
    };
  }

  workflow(repo: RepoRec, run: WorkflowRunRec): Json {
    return {
      id: run.workflowId,
      node_id: nodeId('Workflow', run.workflowId),
      name: run.name,
      path: '.twin-ci.json',
      state: 'active',
      created_at: run.createdAt,
      updated_at: run.createdAt,
      url: this.api(repo, `/actions/workflows/${run.workflowId}`),
      html_url: `${this.base}/${repo.fullName}/blob/${repo.defaultBranch}/.twin-ci.json`,
      badge_url: `${this.base}/${repo.fullName}/workflows/${encodeURIComponent(run.name)}/badge.svg`,
    };
  }

  workflowRun(repo: RepoRec, run: WorkflowRunRec, head: CommitDetail | undefined): Json {
    const url = this.api(repo, `/actions/runs/${run.id}`);
    const minimal = this.ser.repo(repo);
    return {
      id: run.id,
      name: run.name,
      node_id: nodeId('WorkflowRun', run.id),
      check_suite_id: run.suiteId,
      check_suite_node_id: nodeId('CheckSuite', run.suiteId),
      head_branch: run.headBranch,
      head_sha: run.headSha,
      path: '.twin-ci.json',
      display_title: head?.message.split('\n')[0] ?? run.name,
      run_number: run.runNumber,
      run_attempt: run.runAttempt,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: run.workflowId,
      url,
      html_url: `${this.base}/${repo.fullName}/actions/runs/${run.id}`,
      pull_requests: this.pullsAt(repo, run.headSha),
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      run_started_at: run.runStartedAt,
      actor: this.ser.user(run.actor),
      triggering_actor: this.ser.user(run.actor),
      jobs_url: `${url}/jobs`,
      logs_url: `${url}/logs`,
      check_suite_url: this.api(repo, `/check-suites/${run.suiteId}`),
      artifacts_url: `${url}/artifacts`,
      cancel_url: `${url}/cancel`,
      rerun_url: `${url}/rerun`,
      previous_attempt_url: run.runAttempt > 1 ? `${url}/attempts/${run.runAttempt - 1}` : null,
      workflow_url: this.api(repo, `/actions/workflows/${run.workflowId}`),
      head_commit: this.headCommit(head, run.headSha),
      repository: minimal,
      head_repository: minimal,
    };
  }

  job(repo: RepoRec, run: WorkflowRunRec, j: JobRec): Json {
    const steps = [
      { name: 'Set up job', number: 1 },
      { name: `Run ${j.name}`, number: 2 },
    ].map((s) => ({
      ...s,
      status: j.status,
      conclusion: s.number === 1 && j.status === 'completed' ? 'success' : j.conclusion,
      started_at: j.startedAt,
      completed_at: j.completedAt,
    }));
    return {
      id: j.id,
      run_id: run.id,
      run_url: this.api(repo, `/actions/runs/${run.id}`),
      run_attempt: j.runAttempt,
      node_id: nodeId('Job', j.id),
      head_sha: run.headSha,
      head_branch: run.headBranch,
      workflow_name: run.name,
      url: this.api(repo, `/actions/jobs/${j.id}`),
      html_url: `${this.base}/${repo.fullName}/actions/runs/${run.id}/job/${j.id}`,
      status: j.status,
      conclusion: j.conclusion,
      created_at: j.createdAt,
      started_at: j.startedAt,
      completed_at: j.completedAt,
      name: j.name,
      steps,
      check_run_url: this.api(repo, `/check-runs/${j.checkRunId}`),
      labels: ['ubuntu-latest'],
      runner_id: j.status === 'queued' ? null : 1,
      runner_name: j.status === 'queued' ? null : 'twin-runner',
      runner_group_id: j.status === 'queued' ? null : 1,
      runner_group_name: j.status === 'queued' ? null : 'twin',
    };
  }

  status(repo: RepoRec, s: StatusRec): Json {
    return {
      url: this.api(repo, `/statuses/${s.sha}`),
      avatar_url: null,
      id: s.id,
      node_id: nodeId('StatusContext', s.id),
      state: s.state,
      description: s.description,
      target_url: s.targetUrl,
      context: s.context,
      created_at: s.createdAt,
      updated_at: s.createdAt,
      creator: this.ser.user(s.creator),
    };
  }

  /** `commit`: a commit as the pull request commits and compare endpoints list it. */
  commit(repo: RepoRec, c: CommitDetail): Json {
    const person = (name: string, email: string, date: string) => ({ name, email, date });
    const login = (email: string) => loginForEmail(this.state, email);
    const a = login(c.authorEmail);
    const m = login(c.committerEmail);
    return {
      url: this.api(repo, `/commits/${c.sha}`),
      sha: c.sha,
      node_id: nodeId('Commit', c.sha),
      html_url: `${this.base}/${repo.fullName}/commit/${c.sha}`,
      comments_url: this.api(repo, `/commits/${c.sha}/comments`),
      commit: {
        url: this.api(repo, `/git/commits/${c.sha}`),
        author: person(c.authorName, c.authorEmail, c.authorDate),
        committer: person(c.committerName, c.committerEmail, c.committerDate),
        message: c.message,
        comment_count: 0,
        tree: { sha: c.tree, url: this.api(repo, `/git/trees/${c.tree}`) },
        verification: {
          verified: false,
          reason: 'unsigned',
          signature: null,
          payload: null,
          verified_at: null,
        },
      },
      author: a ? this.ser.user(a) : null,
      committer: m ? this.ser.user(m) : null,
      parents: c.parents.map((p) => ({
        sha: p,
        url: this.api(repo, `/commits/${p}`),
        html_url: `${this.base}/${repo.fullName}/commit/${p}`,
      })),
    };
  }
}

/**
 * The account a commit email belongs to, as GitHub links commits: the noreply forms
 * (`login@users.noreply.*`, `id+login@users.noreply.*`, bots included) of a known user; otherwise none.
 */
export function loginForEmail(state: TwinState, email: string): string | null {
  const m = /^(?:\d+\+)?([^@]+)@users\.noreply\.[^@]+$/i.exec(email);
  if (!m) return null;
  return state.findUser(m[1]!)?.login ?? null;
}
