import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnnotations, parseCiFile } from './ci-commands.js';
import { startGitHubTwin } from './index.js';
import type { GitHubTwin } from './types.js';

/** The twin's scripted CI: what runs, with what, for how long, and what GitHub-like records and webhooks follow. */
describe('scripted CI', () => {
  let twin: GitHubTwin;
  const ci = (o: object) => JSON.stringify(o);

  beforeAll(async () => {
    twin = await startGitHubTwin({ ci: true });
    twin.seed.user({ login: 'alice' });
    await twin.seed.repo({ owner: 'alice', name: 'r', files: { 'a.txt': 'a\n' } });
    twin.seed.installation({ account: 'alice' });
  });

  afterAll(async () => {
    await twin?.close();
  });

  const push = async (branch: string, files: Record<string, string>) => {
    const { sha } = await twin.actions.pushFiles({ repo: 'alice/r', branch, files, sender: 'alice' });
    await twin.ci.idle();
    return { sha, runs: twin.ci.workflowRuns('alice/r').filter((r) => r.headSha === sha) };
  };

  it('runs the command of .twin-ci.json at the pushed commit, without credentials in its environment', async () => {
    const token = twin.createInstallationToken(1).token;
    const { runs } = await push('env', {
      '.twin-ci.json': ci({ name: 'env', command: 'env; cat a.txt; test -z "$GITHUB_TOKEN"' }),
    });
    expect(runs).toHaveLength(1);
    const log = runs[0]!.jobs[0]!.log;
    expect(runs[0]).toMatchObject({ conclusion: 'success', headBranch: 'env', event: 'push' });
    expect(log).toContain(' a\n');
    expect(log).toContain('CI=true');
    // Nothing of the twin's or the test's secrets reaches the command.
    expect(log).not.toContain(token);
    expect(log).not.toContain(twin.app.webhookSecret);
    expect(log).not.toMatch(/ [A-Z_]*(TOKEN|PRIVATE_KEY|SECRET)[A-Z_]*=/);
    expect(log).not.toMatch(/gh[spu]_[A-Za-z0-9]{10,}/);
    // Only what the runner sets: PATH, HOME, CI, GITHUB_SHA, GITHUB_REF, LANG (and what sh adds).
    expect(log).toMatch(/ GITHUB_SHA=[0-9a-f]{40}/);
  });

  it('kills a command over its time cap (with what it started) and reports timed_out', async () => {
    const started = Date.now();
    const { runs } = await push('slow', {
      '.twin-ci.json': ci({ name: 'slow', command: 'echo start; sleep 30 & sleep 30', timeoutMs: 300 }),
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(runs[0]!.jobs[0]).toMatchObject({ conclusion: 'timed_out' });
    expect(runs[0]!.jobs[0]!.log).toMatch(/start[\s\S]*exceeded the maximum execution time/);
  });

  it('no .twin-ci.json: no run; an invalid one: a failed run saying so', async () => {
    expect((await push('none', { 'b.txt': 'b\n' })).runs).toEqual([]);
    const { runs } = await push('broken', { '.twin-ci.json': '{ not json' });
    expect(runs[0]!.jobs[0]).toMatchObject({ name: 'workflow', conclusion: 'failure' });
    expect(runs[0]!.jobs[0]!.log).toContain('.twin-ci.json is invalid');
  });

  it('scripted outcomes per branch override the command, and a job can exist only in the script', async () => {
    twin.ci.outcome({
      repo: 'alice/r',
      branch: 'scripted',
      job: 'test',
      outcomes: ['failure'],
      log: 'FAIL a.test.ts',
      annotations: [{ path: 'a.txt', line: 1, message: 'boom' }],
    });
    const first = await push('scripted', { 'c.txt': 'c\n' });
    expect(first.runs[0]!.jobs.map((j) => [j.name, j.conclusion])).toEqual([['test', 'failure']]);
    expect(twin.ci.checkRuns('alice/r', first.sha)[0]).toMatchObject({
      app: 'github-actions',
      conclusion: 'failure',
      annotations: [{ path: 'a.txt', startLine: 1, message: 'boom' }],
    });
    // Still failing on the next push to that branch, until cleared.
    expect((await push('scripted', { 'c.txt': 'cc\n' })).runs[0]!.conclusion).toBe('failure');
    twin.ci.outcome({ repo: 'alice/r', branch: 'scripted', job: 'test', outcomes: [] });
    expect((await push('scripted', { 'c.txt': 'ccc\n' })).runs).toEqual([]);
  });

  it('sends the webhooks of a run in GitHub’s order, and records a run on a commit on demand', async () => {
    twin.setWebhookUrl(null);
    const before = twin.deliveries.length;
    const { sha } = await push('hooks', { '.twin-ci.json': ci({ name: 'unit', command: 'true' }) });
    const seq = twin.deliveries.slice(before).map((d) => `${d.event}.${d.action ?? ''}`);
    expect(seq.filter((e) => !e.startsWith('push'))).toEqual([
      'workflow_run.requested',
      'workflow_job.queued',
      'check_run.created',
      'status.',
      'workflow_run.in_progress',
      'workflow_job.in_progress',
      'workflow_job.completed',
      'status.',
      'check_run.completed',
      'check_suite.completed',
      'workflow_run.completed',
    ]);
    // CI statuses come from Actions' bot, as on GitHub (an app can tell them from a person's).
    const status = twin.deliveries.slice(before).find((d) => d.event === 'status')!;
    expect((JSON.parse(status.body) as { sender: { login: string; type: string } }).sender).toMatchObject({
      login: 'github-actions[bot]',
      type: 'Bot',
    });
    const made = await twin.ci.run({
      repo: 'alice/r',
      sha,
      branch: 'hooks',
      jobs: [{ name: 'e2e', conclusion: 'failure', log: 'x' }],
    });
    expect(twin.ci.workflowRuns('alice/r').find((r) => r.id === made.runId)).toMatchObject({
      conclusion: 'failure',
    });
  });

  it('parses the CI file and Actions annotation commands strictly', () => {
    expect(parseCiFile('{"command":"npm test"}')).toEqual({
      name: 'CI',
      jobs: [{ name: 'test', command: 'npm test', timeoutMs: 60_000 }],
    });
    expect(parseCiFile('{"jobs":[{"name":"a","command":"x","timeoutMs":9999999}]}')?.jobs[0]?.timeoutMs).toBe(
      600_000,
    );
    expect(parseCiFile('{"jobs":[{"name":"a"}]}')).toBeNull();
    expect(parseCiFile('[]')).toBeNull();
    expect(
      parseAnnotations(
        '::error file=src/x.ts,line=4,title=T::bad thing\n::warning file=y,line=2::meh\n::error::no file',
      ),
    ).toEqual([
      {
        path: 'src/x.ts',
        startLine: 4,
        endLine: 4,
        level: 'failure',
        message: 'bad thing',
        title: 'T',
        rawDetails: null,
      },
      {
        path: 'y',
        startLine: 2,
        endLine: 2,
        level: 'warning',
        message: 'meh',
        title: null,
        rawDetails: null,
      },
    ]);
  });
});
