import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, conformanceKit, tok } from './conformance-kit.js';
import { startGitHubTwin } from './index.js';
import { loadOpenApi, type OpenApiValidator } from './openapi.js';
import type { GitHubTwin } from './types.js';
import { expectShapedLikeExample } from './webhook-examples.js';

/**
 * The CI endpoints (checks, Actions, statuses, commits) against GitHub's OpenAPI description, with a
 * success and an error status each, on records the scripted CI made from a real push; and every CI
 * webhook against GitHub's payload examples. Kept apart from conformance.test.ts so both stay short.
 */

let api: OpenApiValidator;
let twin: GitHubTwin;
let token: string;
let readOnly: string;
let bobToken: string;
let pr: number;
let headSha: string;
let baseSha: string;
const kit = conformanceKit({ api: () => api, url: () => twin.url });
const { call, check } = kit;
const R = '/repos/alice/ci';

beforeAll(async () => {
  api = loadOpenApi();
  twin = await startGitHubTwin({ webhookUrl: null });
  twin.seed.user({ login: 'alice' });
  bobToken = twin.seed.user({ login: 'bob' }).token;
  baseSha = (
    await twin.seed.repo({
      owner: 'alice',
      name: 'ci',
      files: { 'src/a.ts': 'a\nb\n' },
    })
  ).headSha;
  const inst = twin.seed.installation({
    account: 'alice',
    permissions: {
      contents: 'write',
      pull_requests: 'write',
      issues: 'write',
      metadata: 'read',
      checks: 'write',
      actions: 'write',
      statuses: 'write',
    },
  });
  twin.seed.collaborator('alice/ci', 'bob', 'write');
  token = twin.createInstallationToken(inst.id).token;
  readOnly = twin.createInstallationToken(inst.id, { permissions: { contents: 'read' } }).token;
  await twin.seed.branch({ repo: 'alice/ci', branch: 'feature', files: { 'src/b.ts': 'b\n' } });
  pr = (await twin.seed.pullRequest({ repo: 'alice/ci', head: 'feature', title: 'B', author: 'bob' })).number;
  twin.ci.enable('alice/ci');
  // Scripted outcomes: no command runs here (scripted-ci.test.ts covers running them), so this stays a fast unit test.
  twin.ci.outcome({
    repo: 'alice/ci',
    branch: 'feature',
    job: 'lint',
    outcomes: ['success'],
    log: 'lint ok',
  });
  twin.ci.outcome({
    repo: 'alice/ci',
    branch: 'feature',
    job: 'test',
    outcomes: ['failure'],
    log: 'FAIL src/a.test.ts\nexpected 2, got 3',
    annotations: [{ path: 'src/a.ts', line: 2, message: 'expected 2, got 3' }],
  });
  headSha = (
    await twin.actions.pushFiles({
      repo: 'alice/ci',
      branch: 'feature',
      files: { 'src/c.ts': 'c\n' },
      sender: 'bob',
    })
  ).sha;
  await twin.ci.idle();
}, 60_000);

afterAll(async () => {
  await twin?.close();
});

describe('check runs and suites', () => {
  it('create, read, update, annotations, list for a ref', async () => {
    const runs = `${R}/check-runs`;
    const t = '/repos/{owner}/{repo}/check-runs';
    const created = await check('POST', t, runs, 201, {
      auth: tok(token),
      body: {
        name: 'Pullwright',
        head_sha: headSha,
        status: 'in_progress',
        output: { title: 'Working', summary: 'Step 1' },
      },
    });
    const id = (created.json as { id: number }).id;
    await check('POST', t, runs, 422, { auth: tok(token), body: { head_sha: headSha } });
    await check('POST', t, runs, 403, { auth: tok(bobToken), body: { name: 'x', head_sha: headSha } });
    // GitHub's output limits: 65535 characters for the summary (and the text).
    await check('POST', t, runs, 422, {
      auth: tok(token),
      body: { name: 'big', head_sha: headSha, output: { title: 't', summary: 'x'.repeat(65_536) } },
    });
    // And 65536 for an issue body (the dashboard issue).
    const tooLong = await call('POST', `${R}/issues`, {
      auth: tok(token),
      body: { title: 't', body: 'x'.repeat(65_537) },
    });
    expect(tooLong.status).toBe(422);
    const one = '/repos/{owner}/{repo}/check-runs/{check_run_id}';
    await check('GET', one, `${runs}/${id}`, 200, { auth: tok(token) });
    await check('GET', one, `${runs}/1`, 404, { auth: tok(token) });
    const done = await check('PATCH', one, `${runs}/${id}`, 200, {
      auth: tok(token),
      body: {
        conclusion: 'neutral',
        output: {
          title: 'Done',
          summary: 'ok',
          annotations: [
            { path: 'src/a.ts', start_line: 1, end_line: 1, annotation_level: 'warning', message: 'look' },
          ],
        },
      },
    });
    expect(done.json).toMatchObject({
      status: 'completed',
      conclusion: 'neutral',
      output: { annotations_count: 1 },
    });
    await check('PATCH', one, `${runs}/${id}`, 422, { auth: tok(token), body: { conclusion: 'maybe' } });
    const actionsRun = twin.ci.checkRuns('alice/ci', headSha).find((r) => r.name === 'test')!;
    await check('PATCH', one, `${runs}/${actionsRun.id}`, 403, {
      auth: tok(token),
      body: { name: 'mine now' },
    });
    const ann = '/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations';
    const a = await check('GET', ann, `${runs}/${actionsRun.id}/annotations`, 200, { auth: tok(token) });
    expect(a.json).toMatchObject([
      { path: 'src/a.ts', start_line: 2, annotation_level: 'failure', message: 'expected 2, got 3' },
    ]);
    await check('GET', ann, `${runs}/1/annotations`, 404, { auth: tok(token) });
    const forRef = '/repos/{owner}/{repo}/commits/{ref}/check-runs';
    const listed = await check('GET', forRef, `${R}/commits/feature/check-runs`, 200, { auth: tok(token) });
    const byName = Object.fromEntries(
      (
        listed.json as { check_runs: { name: string; conclusion: string; app: { slug: string } }[] }
      ).check_runs.map((r) => [r.name, r]),
    );
    expect(byName.test).toMatchObject({ conclusion: 'failure', app: { slug: 'github-actions' } });
    expect(byName.lint).toMatchObject({ conclusion: 'success' });
    expect(byName.Pullwright).toMatchObject({ conclusion: 'neutral', app: { slug: 'pullwright' } });
    await check('GET', forRef, `${R}/commits/nope/check-runs`, 422, { auth: tok(token) });
    await check('GET', forRef, `${R}/commits/${headSha}/check-runs`, 403, { auth: tok(readOnly) });
    const suites = '/repos/{owner}/{repo}/commits/{ref}/check-suites';
    const s = await check('GET', suites, `${R}/commits/${headSha}/check-suites`, 200, { auth: tok(token) });
    const bySlug = Object.fromEntries(
      (s.json as { check_suites: { app: { slug: string }; conclusion: string }[] }).check_suites.map((x) => [
        x.app.slug,
        x,
      ]),
    );
    expect(bySlug['github-actions']).toMatchObject({ conclusion: 'failure', latest_check_runs_count: 2 });
    await check('GET', suites, `${R}/commits/nope/check-suites`, 422, { auth: tok(token) });
  });
});

describe('actions', () => {
  it('runs, jobs, a job log behind a redirect, re-running failed jobs', async () => {
    const list = '/repos/{owner}/{repo}/actions/runs';
    const runs = await check('GET', list, `${R}/actions/runs?head_sha=${headSha}`, 200, { auth: tok(token) });
    const run = (
      runs.json as {
        workflow_runs: { id: number; conclusion: string; pull_requests: { number: number }[] }[];
      }
    ).workflow_runs[0]!;
    expect(run).toMatchObject({ conclusion: 'failure', pull_requests: [{ number: pr }] });
    await check('GET', list, `${R}/actions/runs`, 403, { auth: tok(readOnly) });
    const one = '/repos/{owner}/{repo}/actions/runs/{run_id}';
    await check('GET', one, `${R}/actions/runs/${run.id}`, 200, { auth: tok(token) });
    await check('GET', one, `${R}/actions/runs/1`, 404, { auth: tok(token) });
    const jobsT = '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs';
    const jobs = await check('GET', jobsT, `${R}/actions/runs/${run.id}/jobs`, 200, { auth: tok(token) });
    const test = (jobs.json as { jobs: { id: number; name: string; conclusion: string }[] }).jobs.find(
      (j) => j.name === 'test',
    )!;
    expect(test.conclusion).toBe('failure');
    await check('GET', jobsT, `${R}/actions/runs/1/jobs`, 404, { auth: tok(token) });
    const logT = '/repos/{owner}/{repo}/actions/jobs/{job_id}/logs';
    const redirect = await check('GET', logT, `${R}/actions/jobs/${test.id}/logs`, 302, {
      auth: tok(token),
      redirect: 'manual',
    });
    const location = redirect.headers.get('location')!;
    // The link is its own credential: no token needed, and it expires.
    const log = await fetch(location);
    expect(log.status).toBe(200);
    // GitHub's log format: every line prefixed with its time.
    expect(await log.text()).toMatch(/Z FAIL src\/a\.test\.ts\n\S+Z expected 2, got 3/);
    await check('GET', logT, `${R}/actions/jobs/1/logs`, 404, { auth: tok(token), redirect: 'manual' });
    const rerun = '/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs';
    await check('POST', rerun, `${R}/actions/runs/${run.id}/rerun-failed-jobs`, 403, {
      auth: tok(twin.createInstallationToken(1, { permissions: { actions: 'read' } }).token),
    });
    await check('POST', rerun, `${R}/actions/runs/${run.id}/rerun-failed-jobs`, 201, { auth: tok(token) });
    await twin.ci.idle();
    const again = twin.ci.workflowRuns('alice/ci').find((r) => r.id === run.id)!;
    expect(again.runAttempt).toBe(2);
    expect(again.jobs.filter((j) => j.name === 'test').map((j) => j.runAttempt)).toEqual([1, 2]);
  });
});

describe('statuses, commits and comparisons', () => {
  it('statuses: create, list, combined', async () => {
    const create = '/repos/{owner}/{repo}/statuses/{sha}';
    await check('POST', create, `${R}/statuses/${headSha}`, 201, {
      auth: tok(token),
      body: { state: 'success', context: 'deploy', description: 'ok' },
    });
    await check('POST', create, `${R}/statuses/${headSha}`, 422, {
      auth: tok(token),
      body: { state: 'great' },
    });
    const combined = '/repos/{owner}/{repo}/commits/{ref}/status';
    const c = await check('GET', combined, `${R}/commits/feature/status`, 200, { auth: tok(token) });
    const contexts = (c.json as { state: string; statuses: { context: string; state: string }[] }).statuses;
    expect((c.json as { state: string }).state).toBe('failure');
    expect(Object.fromEntries(contexts.map((s) => [s.context, s.state]))).toMatchObject({
      deploy: 'success',
      'ci/lint': 'success',
      'ci/test': 'failure',
    });
    await check('GET', combined, `${R}/commits/nope/status`, 404, { auth: tok(token) });
    const list = '/repos/{owner}/{repo}/commits/{ref}/statuses';
    await check('GET', list, `${R}/commits/${headSha}/statuses`, 200, { auth: tok(token) });
    await check('GET', list, `${R}/commits/nope/statuses`, 404, { auth: tok(token) });
  });

  it('compare, pull request commits, a commit’s pull requests, mergeable from git', async () => {
    // Plain pushes from here on: no CI run needed (keeps this unit test fast).
    twin.ci.disable('alice/ci');
    const cmp = '/repos/{owner}/{repo}/compare/{basehead}';
    await twin.actions.pushFiles({
      repo: 'alice/ci',
      branch: 'main',
      files: { 'src/a.ts': 'A\nb\n' },
      sender: 'alice',
    });
    const res = await check('GET', cmp, `${R}/compare/main...feature`, 200, { auth: tok(token) });
    expect(res.json).toMatchObject({
      status: 'diverged',
      ahead_by: 2,
      behind_by: 1,
      merge_base_commit: { sha: baseSha },
    });
    await check('GET', cmp, `${R}/compare/main...ghost`, 404, { auth: tok(token) });
    const commits = '/repos/{owner}/{repo}/pulls/{pull_number}/commits';
    const cs = await check('GET', commits, `${R}/pulls/${pr}/commits`, 200, { auth: tok(token) });
    expect(
      (cs.json as { sha: string; author: { login: string } | null }[]).map((c) => c.author?.login),
    ).toEqual(['alice', 'bob']);
    await check('GET', commits, `${R}/pulls/999/commits`, 404, { auth: tok(token) });
    const pulls = '/repos/{owner}/{repo}/commits/{commit_sha}/pulls';
    const ps = await check('GET', pulls, `${R}/commits/${headSha}/pulls`, 200, { auth: tok(token) });
    expect((ps.json as { number: number }[]).map((p) => p.number)).toEqual([pr]);
    expect((await call('GET', `${R}/commits/${baseSha}/pulls`, { auth: tok(token) })).json).toEqual([]);
    await check('GET', pulls, `${R}/commits/${'f'.repeat(40)}/pulls`, 404, { auth: tok(token) });
    // Mergeable: unknown first (GitHub computes it in the background), then from a real merge.
    const first = await call('GET', `${R}/pulls/${pr}`, { auth: tok(token) });
    expect(first.json).toMatchObject({ mergeable: null, mergeable_state: 'unknown' });
    await twin.ci.settleMergeability('alice/ci', pr);
    const clean = await check('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', `${R}/pulls/${pr}`, 200, {
      auth: tok(token),
    });
    // Mergeable, but CI failed on the head: `unstable`.
    expect(clean.json).toMatchObject({ mergeable: true, mergeable_state: 'unstable' });
    await twin.actions.pushFiles({
      repo: 'alice/ci',
      branch: 'feature',
      files: { 'src/a.ts': 'X\nb\n' },
      sender: 'bob',
    });
    await twin.ci.settleMergeability('alice/ci', pr);
    const dirty = await call('GET', `${R}/pulls/${pr}`, { auth: tok(token) });
    expect(dirty.json).toMatchObject({ mergeable: false, mergeable_state: 'dirty' });
    await twin.ci.idle();
  });

  it('GraphQL resolveReviewThread resolves with write access only', async () => {
    const { threadId } = twin.seed.reviewThread({
      repo: 'alice/ci',
      number: pr,
      path: 'src/b.ts',
      line: 1,
      comments: [{ author: 'alice', body: 'rename' }],
    });
    const query =
      'mutation($id: ID!) { resolveReviewThread(input: { threadId: $id }) { thread { id isResolved } } }';
    const denied = await call('POST', '/graphql', {
      auth: bearer(readOnly),
      body: { query, variables: { id: threadId } },
    });
    expect((denied.json as { errors: { type: string }[] }).errors[0]?.type).toBe('FORBIDDEN');
    const ok = await check('POST', '/graphql', '/graphql', 200, {
      auth: bearer(token),
      body: { query, variables: { id: threadId } },
    });
    expect(ok.json).toEqual({
      data: { resolveReviewThread: { thread: { id: threadId, isResolved: true } } },
    });
    const missing = await call('POST', '/graphql', {
      auth: bearer(token),
      body: { query, variables: { id: 'nope' } },
    });
    expect((missing.json as { errors: { type: string }[] }).errors[0]?.type).toBe('NOT_FOUND');
  });
});

describe('CI webhooks and coverage', () => {
  it('every CI webhook is shaped like GitHub’s examples', () => {
    const events = new Set<string>();
    for (const d of twin.deliveries.filter((x) =>
      ['check_run', 'check_suite', 'workflow_run', 'workflow_job', 'status'].includes(x.event),
    )) {
      expectShapedLikeExample(d);
      events.add(`${d.event}.${d.action}`);
      // The objects inside the payload are the REST objects: validate them against their OpenAPI schemas.
      const payload = JSON.parse(d.body) as Record<string, unknown>;
      const inner = {
        check_run: 'check-run',
        check_suite: 'check-suite',
        workflow_run: 'workflow-run',
        workflow_job: 'job',
      }[d.event as 'check_run'];
      if (inner) {
        const v = api.validateComponent(inner, payload[d.event]);
        expect(v.ok, `${d.event}.${d.action} ${inner}: ${v.errors}`).toBe(true);
      }
      if (d.event === 'workflow_run')
        expect(api.validateComponent('workflow', payload.workflow).ok).toBe(true);
    }
    expect([...events].sort()).toEqual(
      expect.arrayContaining([
        'check_run.completed',
        'check_run.created',
        'check_suite.completed',
        'status.null',
        'workflow_job.completed',
        'workflow_job.in_progress',
        'workflow_job.queued',
        'workflow_run.completed',
        'workflow_run.in_progress',
        'workflow_run.requested',
      ]),
    );
  });

  it('every CI endpoint was checked with a success and an error status', () => {
    const served = [
      'POST /repos/{owner}/{repo}/check-runs',
      'GET /repos/{owner}/{repo}/check-runs/{check_run_id}',
      'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}',
      'GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations',
      'GET /repos/{owner}/{repo}/commits/{ref}/check-runs',
      'GET /repos/{owner}/{repo}/commits/{ref}/check-suites',
      'GET /repos/{owner}/{repo}/actions/runs',
      'GET /repos/{owner}/{repo}/actions/runs/{run_id}',
      'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
      'GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs',
      'POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs',
      'POST /repos/{owner}/{repo}/statuses/{sha}',
      'GET /repos/{owner}/{repo}/commits/{ref}/status',
      'GET /repos/{owner}/{repo}/commits/{ref}/statuses',
      'GET /repos/{owner}/{repo}/compare/{basehead}',
      'GET /repos/{owner}/{repo}/pulls/{pull_number}/commits',
      'GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls',
    ];
    expect(kit.missingChecks(served)).toEqual([]);
  });
});
