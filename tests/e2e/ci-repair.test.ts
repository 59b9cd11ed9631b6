import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { FIXED_LINES } from '../twins/model/scenarios/follow-through.js';
import { stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 item 1 end to end: the twin's scripted CI runs `node --test` on every push of
 * the sample repository, the app reads the red results, and the worker repairs the PR
 * Pullwright opened (twin GitHub, model twin, real Redis, Docker and git).
 */

const CI = JSON.stringify({ name: 'test', command: 'node --test', timeoutMs: 60_000 });

function config(maxRepairs: number): string {
  return ['verify:', '  - npm test', 'ci:', `  maxRepairs: ${maxRepairs}`, ''].join('\n');
}

describe('CI repair, end to end', { timeout: 600_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      ci: true,
      repoFiles: { '.twin-ci.json': CI, '.github/pullwright.yml': config(2) },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Opens a PR through the bot: `[changelog-only]` leaves the sample's bugs, so its CI is red. */
  async function openRedPull(title: string) {
    const { github, repo } = s;
    const { number } = github.seed.issue({
      repo,
      title,
      body: 'Please add a changelog line.',
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const pull = await waitFor('the pull request', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
    return pull;
  }

  function testCheck(sha: string) {
    return s.github.ci.checkRuns(s.repo, sha).find((c) => c.name === 'test' && c.status === 'completed');
  }

  it('repairs red CI on its own PR with a new commit, reported as attempt 1 of 2, and CI goes green', async () => {
    const { github, repo } = s;
    const pull = await openRedPull('Changelog entry [changelog-only]');
    const red = await waitFor('red CI on the PR head', () => testCheck(pull.headSha));
    expect(red.conclusion).toBe('failure');

    // Item 4: watched while the repair runs, the Pullwright check run on the red head is in progress.
    const seen = new Set<string>();
    const repaired = await waitFor('a repair commit', () => {
      // (The implement run that opened the PR left its own, completed, on this head too.)
      for (const own of github.ci.checkRuns(repo, pull.headSha).filter((c) => c.name === 'Pullwright'))
        seen.add(`${own.status}:${own.title ?? ''}`);
      const now = github.inspect.pull(repo, pull.number);
      return now && now.headSha !== pull.headSha ? now : null;
    });
    const green = await waitFor('CI on the repair commit', () => testCheck(repaired.headSha));
    expect(green.conclusion).toBe('success');
    const math = await github.inspect.file(repo, repaired.head, 'src/math.js');
    for (const line of FIXED_LINES) expect(math).toContain(line);
    // A new commit on the same branch, never a rewrite.
    const commits = await github.inspect.commits(repo, repaired.head);
    expect(commits.map((c) => c.sha)).toContain(pull.headSha);

    const comment = await waitFor('the repair report', () => {
      const c = trackingComment(s, pull.number);
      return c?.body.includes('✅') ? c : null;
    });
    expect(comment.body).toContain('attempt 1 of 2');
    expect(comment.body).toContain('`test`');
    expect(comment.body).toContain(repaired.headSha.slice(0, 7));

    // Item 4: in progress on the red head while working, then completed there and on the commit it pushed.
    expect([...seen]).toContain('in_progress:Working');
    const own = await waitFor('the Pullwright check run on the repair commit', () =>
      github.ci.checkRuns(repo, repaired.headSha).find((c) => c.name === 'Pullwright'),
    );
    expect(own.status).toBe('completed');
    expect(own.conclusion).toBe('success');
    expect(own.summary).toContain('turns');
    expect(own.summary).toContain('src/math.js');
    const onRed = github.ci.checkRuns(repo, pull.headSha).filter((c) => c.name === 'Pullwright');
    expect(onRed.map((c) => c.status)).toEqual(['completed', 'completed']);
  });

  it('stops at ci.maxRepairs and says what is still failing', async () => {
    const { github, repo } = s;
    // Both repairs "fix" nothing ([no-fix] in the title reaches the repair task as the PR title).
    const pull = await openRedPull('Changelog entry [changelog-only] [no-fix]');
    const report = await waitFor(
      'the limit report',
      () => {
        const c = trackingComment(s, pull.number);
        return c?.body.includes('Stopped at a limit') ? c : null;
      },
      480_000,
    );
    expect(report.body).toContain('Still failing');
    expect(report.body).toContain('`test`');
    expect(report.body).toContain('stopped after 2 repair attempt(s)');
    const commits = await github.inspect.commits(repo, pull.head);
    // The PR's own commit plus exactly two repairs.
    const bot = commits.filter((c) => c.message.startsWith('Fix CI'));
    expect(bot).toHaveLength(2);
  });

  it('does not repair a check already failing on the base branch, nor a head a person pushed', async () => {
    const { github, repo } = s;
    const main = (await github.inspect.branches(repo)).main!;
    await github.ci.run({ repo, sha: main, branch: 'main', jobs: [{ name: 'test', conclusion: 'failure' }] });
    const pull = await openRedPull('Another entry [changelog-only]');
    const report = await waitFor('the base-branch report', () => {
      const c = trackingComment(s, pull.number);
      return c && !c.body.includes('⏳') ? c : null;
    });
    expect(report.body).toContain('Already failing on the base branch');
    expect(github.inspect.pull(repo, pull.number)?.headSha).toBe(pull.headSha);

    // A person pushes to the PR: its red CI is theirs; no repair job, no commit.
    const before = report.body;
    const { sha } = await github.actions.pushFiles({
      repo,
      branch: pull.head,
      files: { 'NOTES.md': 'mine\n' },
      message: 'a person commits',
      sender: 'alice',
    });
    await waitFor("red CI on the person's head", () => testCheck(sha));
    await github.ci.idle();
    await github.settled();
    await new Promise((r) => setTimeout(r, 3_000));
    const jobs = await s.app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.data.kind === 'repair-ci' && j.data.trigger?.headSha === sha)).toHaveLength(
      0,
    );
    expect(github.inspect.pull(repo, pull.number)?.headSha).toBe(sha);
    expect(trackingComment(s, pull.number)?.body).toBe(before);
  });
});
