import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { forkNameOf } from '../../src/github/ensure-fork.js';
import { FIXED_LINES } from '../twins/model/scenarios/follow-through.js';
import { jobsOf, stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 follow-ups on fork pull requests, end to end (twin GitHub with its scripted CI, model
 * twin, app, Redis, worker, Docker, git):
 *
 * - Pullwright's own fork-delivered PR (`delivery: fork`): CI runs on the base repository for the
 *   fork's head (a `pull_request` run, no secrets); a red result is repaired automatically and
 *   `@agent update` merges the base, both pushed to the fork with the fork's token. Nothing is
 *   ever pushed to a branch of the base repository, where it would run with its secrets.
 * - A contributor's fork PR: no automatic repair; a writer's `@agent fix ci` is refused with what
 *   they can do instead.
 */
const FORK_OWNER = 'pw-forks';
const CI = JSON.stringify({ name: 'test', command: 'node --test', timeoutMs: 60_000 });

type Push = { ref: string };

describe('follow-ups on fork pull requests, end to end', { timeout: 720_000 }, () => {
  let s: LocalStack;
  let fork: string;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      ci: true,
      env: { FORK_OWNER, FORCE_FORK_DELIVERY: 'true' },
      repoFiles: {
        '.twin-ci.json': CI,
        '.github/pullwright.yml': ['verify:', '  - npm test', 'ci:', '  maxRepairs: 2', ''].join('\n'),
      },
    });
    s.github.seed.user({ login: FORK_OWNER, type: 'Organization' });
    s.github.seed.installation({
      account: FORK_OWNER,
      permissions: { metadata: 'read', contents: 'write', administration: 'write' },
    });
    const [owner = '', name = ''] = s.repo.split('/');
    fork = `${FORK_OWNER}/${forkNameOf({ owner, name })}`;
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Pushes to the base repository other than to `main` (which the test itself moves). */
  const basePushes = () => s.github.inspect.pushes(s.repo).filter((p: Push) => p.ref !== 'refs/heads/main');

  const idle = () =>
    waitFor('the queue to drain', async () =>
      (await s.app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active'])).length === 0 ? true : null,
    );

  it('repairs red CI on its own fork PR by pushing to the fork, and @agent update merges the base there too', async () => {
    const { github, repo } = s;
    const branchesBefore = await github.inspect.branches(repo);
    const { number } = github.seed.issue({
      repo,
      title: 'Changelog entry [changelog-only]',
      body: 'Please add a changelog line.',
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const pull = await waitFor('the pull request from the fork', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
    expect(pull.headRepo).toBe(fork);

    // The base repository's CI ran on the fork's head (the PR's pull_request run) and failed.
    const red = await waitFor('red CI on the fork head', () =>
      github.ci.checkRuns(repo, pull.headSha).find((c) => c.name === 'test' && c.status === 'completed'),
    );
    expect(red.conclusion).toBe('failure');
    const repaired = await waitFor('a repair commit on the fork branch', () => {
      const now = github.inspect.pull(repo, pull.number);
      return now && now.headSha !== pull.headSha ? now : null;
    });
    expect(repaired.headRepo).toBe(fork);
    expect((await github.inspect.branches(fork))[pull.head]).toBe(repaired.headSha);
    const commits = await github.inspect.commits(fork, pull.head);
    expect(commits.map((c) => c.sha)).toContain(pull.headSha);
    expect(commits[0]?.message).toMatch(/^Fix CI: test/);
    const math = await github.inspect.file(fork, pull.head, 'src/math.js');
    for (const line of FIXED_LINES) expect(math).toContain(line);
    const green = await waitFor('CI on the repair commit', () =>
      github.ci.checkRuns(repo, repaired.headSha).find((c) => c.name === 'test' && c.status === 'completed'),
    );
    expect(green.conclusion).toBe('success');
    const report = await waitFor('the repair report', () => {
      const c = trackingComment(s, pull.number);
      return c?.body.includes('✅') ? c : null;
    });
    expect(report.body).toContain('attempt 1 of 2');
    expect(report.body).toContain(fork);
    // Never a branch (or any push) on the base repository.
    expect(await github.inspect.branches(repo)).toEqual(branchesBefore);
    expect(basePushes()).toEqual([]);

    // The base moves (no conflict, so nothing automatic with `updateBranch: conflicts`); a writer asks.
    await idle();
    await github.actions.pushFiles({
      repo,
      branch: 'main',
      files: { 'docs/NEW.md': 'new on main\n' },
      message: 'docs on main',
      sender: 'alice',
    });
    const mainSha = (await github.inspect.branches(repo)).main!;
    await github.actions.commentOnIssue({
      repo,
      number: pull.number,
      body: '@agent update',
      sender: 'alice',
    });
    const updated = await waitFor('the merge on the fork branch', () => {
      const now = github.inspect.pull(repo, pull.number);
      return now && now.headSha !== repaired.headSha ? now : null;
    });
    expect(updated.headRepo).toBe(fork);
    const merged = await github.inspect.commits(fork, pull.head);
    expect(merged.map((c) => c.sha)).toEqual(expect.arrayContaining([repaired.headSha, mainSha]));
    expect(await github.inspect.file(fork, pull.head, 'docs/NEW.md')).toBe('new on main\n');
    const done = await waitFor('the update report', () => {
      const c = trackingComment(s, pull.number);
      return c?.body.includes('updating the branch') && c.body.includes('✅') ? c : null;
    });
    expect(done.body).toContain('Merged `main`');
    expect(basePushes()).toEqual([]);
    const { main: _moved, ...others } = await github.inspect.branches(repo);
    const { main: _before, ...othersBefore } = branchesBefore;
    expect(others).toEqual(othersBefore);
  });

  it("never repairs a contributor's fork PR by itself; a writer's @agent fix ci gets a refusal that says what to do", async () => {
    const { github, repo } = s;
    await idle();
    github.seed.user({ login: 'carol' });
    const [, name = ''] = repo.split('/');
    await github.seed.fork({ repo, owner: 'carol' });
    const theirs = `carol/${name}`;
    await github.actions.pushFiles({
      repo: theirs,
      branch: 'carol-change',
      files: { 'CHANGELOG.md': '# Changelog\n\ncarol was here\n' },
      message: 'a contributor change',
      sender: 'carol',
    });
    const { number } = await github.seed.pullRequest({
      repo,
      head: 'carol-change',
      headRepo: theirs,
      title: 'A contribution',
      author: 'carol',
    });
    const head = github.inspect.pull(repo, number)!.headSha;
    // Red CI on the contributor's head (reported on the base repository, as for a fork PR's run).
    await github.ci.run({
      repo,
      sha: head,
      jobs: [{ name: 'test', conclusion: 'failure', log: 'not ok 1' }],
    });
    await github.ci.idle();
    await github.settled();
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await jobsOf(s)).filter((j) => j.data.number === number)).toEqual([]);

    await github.actions.commentOnIssue({ repo, number, body: '@agent fix ci', sender: 'alice' });
    const refusal = await waitFor('the refusal', () => {
      const c = trackingComment(s, number);
      return c?.body.includes('🚫') ? c : null;
    });
    expect(refusal.body).toContain(`in its author's fork (\`${theirs}\`)`);
    expect(refusal.body).toContain('What you can do:');
    expect(refusal.body).toContain(`git fetch origin pull/${number}/head:`);
    expect(github.inspect.pull(repo, number)?.headSha).toBe(head);
    expect((await github.inspect.branches(theirs))['carol-change']).toBe(head);
    expect(basePushes()).toEqual([]);
  });
});
