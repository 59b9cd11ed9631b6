import { randomBytes } from 'node:crypto';
import { type Ctx, error, forbidden, notFound } from './http.js';
import { ciSer, headOf as head } from './records-ci.js';
import { paginate, R, type RouteKit } from './router.js';
import { latestJobs, type ScriptedCi } from './scripted-ci.js';
import type { RepoRec } from './state.js';
import type { WorkflowRunRec } from './state-ci.js';

/** How long a log download link stays valid (GitHub's signed URLs last about a minute). */
export const LOG_LINK_TTL_MS = 60_000;

/**
 * Actions: workflow runs (list, read), their jobs, a job's log (a 302 to a short-lived download link, as
 * GitHub answers; the link itself is served by the admin API, `/_twin/job-logs/{token}`), and re-running
 * failed jobs.
 */
export function registerActionRoutes({ core, auth, on }: RouteKit, ci: ScriptedCi): void {
  const { state } = core;
  const read = { perm: 'actions', level: 'read' } as const;
  const write = { perm: 'actions', level: 'write' } as const;
  const runParam = (ctx: Ctx, repo: RepoRec): WorkflowRunRec => {
    const run = state.ci.workflowRuns.get(Number(ctx.params[2]));
    if (!run || run.repoId !== repo.id) throw notFound();
    return run;
  };

  on('GET', `/repos/${R}/${R}/actions/runs`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const q = ctx.url.searchParams;
    const runs = [...state.ci.workflowRuns.values()]
      .filter((r) => r.repoId === repo.id)
      .filter((r) => !q.get('head_sha') || r.headSha === q.get('head_sha'))
      .filter((r) => !q.get('branch') || r.headBranch === q.get('branch'))
      .filter((r) => !q.get('event') || r.event === q.get('event'))
      .filter((r) => !q.get('status') || r.status === q.get('status') || r.conclusion === q.get('status'))
      .reverse();
    const page = paginate(ctx, core.config.url, runs);
    const json = [];
    for (const r of page.items) json.push(ciSer(core).workflowRun(repo, r, await head(repo, r.headSha)));
    return { status: 200, json: { total_count: runs.length, workflow_runs: json }, headers: page.headers };
  });

  on('GET', `/repos/${R}/${R}/actions/runs/(\\d+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const run = runParam(ctx, repo);
    return { status: 200, json: ciSer(core).workflowRun(repo, run, await head(repo, run.headSha)) };
  });

  on('GET', `/repos/${R}/${R}/actions/runs/(\\d+)/jobs`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const run = runParam(ctx, repo);
    const jobs = (ctx.url.searchParams.get('filter') ?? 'latest') === 'all' ? run.jobs : latestJobs(run);
    const page = paginate(ctx, core.config.url, jobs);
    return {
      status: 200,
      json: { total_count: jobs.length, jobs: page.items.map((j) => ciSer(core).job(repo, run, j)) },
      headers: page.headers,
    };
  });

  on('GET', `/repos/${R}/${R}/actions/jobs/(\\d+)/logs`, async (ctx) => {
    const repo = auth.repoAccess(ctx, read);
    const found = state.ci.job(Number(ctx.params[2]));
    if (!found || found.run.repoId !== repo.id) throw notFound();
    // Like GitHub's signed storage URL: a bearer link of its own, valid briefly, needing no token.
    const token = randomBytes(16).toString('hex');
    state.ci.logLinks.set(token, {
      runId: found.run.id,
      jobId: found.job.id,
      expiresAt: Date.now() + LOG_LINK_TTL_MS,
    });
    return { status: 302, headers: { location: `${core.config.url}/_twin/job-logs/${token}` } };
  });

  on('POST', `/repos/${R}/${R}/actions/runs/(\\d+)/rerun-failed-jobs`, async (ctx) => {
    const repo = auth.repoAccess(ctx, write);
    const run = runParam(ctx, repo);
    if (run.status !== 'completed') throw forbidden('This workflow run is not completed.');
    if (!latestJobs(run).some((j) => j.conclusion !== 'success' && j.conclusion !== 'skipped')) {
      throw error(403, 'This workflow run has no failed jobs to re-run.');
    }
    ci.rerunFailed(repo, run);
    return { status: 201, json: {} };
  });
}

/** `GET /_twin/job-logs/{token}`: the log text behind a download link; 410 once the link expired. */
export function jobLogDownload(core: RouteKit['core'], token: string): { status: number; text: string } {
  const link = core.state.ci.logLinks.get(token);
  if (!link) return { status: 404, text: 'Not Found' };
  if (link.expiresAt < Date.now()) {
    core.state.ci.logLinks.delete(token);
    return { status: 410, text: 'Gone' };
  }
  const found = core.state.ci.job(link.jobId);
  return found ? { status: 200, text: found.job.log } : { status: 404, text: 'Not Found' };
}
