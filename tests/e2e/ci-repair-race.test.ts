import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { FIXED_LINES } from '../twins/model/scenarios/follow-through.js';
import { jobsOf, stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 item 1, the race: CI that fails before Pullwright has opened the PR and recorded
 * the head it pushed. The app ignores a red webhook on a head with no record (it cannot tell
 * Pullwright's head from a person's), so without the worker's reconcile (it reads the head's
 * CI state right after recording it, worker/flows/reconcile-ci.ts) the PR would sit red.
 *
 * To make the race certain rather than likely, GitHub (the twin) takes 20 s to answer the
 * request that opens the PR: the scripted CI (`node --test` on the sample, red until its bugs
 * are fixed) finishes and its webhooks are handled well before the PR exists.
 */

const CI = JSON.stringify({ name: 'test', command: 'node --test', timeoutMs: 60_000 });
const PR_OPEN_LATENCY_MS = 20_000;

type Payload = { check_suite?: { head_sha?: string } };

describe('CI repair when CI fails before the PR is recorded, end to end', { timeout: 600_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      ci: true,
      repoFiles: {
        '.twin-ci.json': CI,
        '.github/pullwright.yml': ['verify:', '  - npm test', 'ci:', '  maxRepairs: 2', ''].join('\n'),
      },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('repairs the head once, though its red CI was reported before the PR existed', async () => {
    const { github, repo } = s;
    github.faults.add({
      method: 'POST',
      path: `/repos/${repo}/pulls`,
      kind: 'latency',
      latencyMs: PR_OPEN_LATENCY_MS,
      times: 1,
    });
    const { number } = github.seed.issue({
      repo,
      title: 'Changelog entry [changelog-only]',
      body: 'Please add a changelog line.',
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const pull = await waitFor('the pull request', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );

    // The race happened: the red suite's webhook was delivered (and answered) before the PR was opened.
    const redSuite = github.deliveries.find(
      (d) =>
        d.event === 'check_suite' &&
        d.action === 'completed' &&
        (JSON.parse(d.body) as Payload).check_suite?.head_sha === pull.headSha,
    );
    expect(redSuite).toBeDefined();
    expect(redSuite!.status).toBe(200);
    expect(Date.parse(redSuite!.at)).toBeLessThan(Date.parse(pull.createdAt));
    const red = s.github.ci
      .checkRuns(repo, pull.headSha)
      .find((c) => c.name === 'test' && c.status === 'completed');
    expect(red?.conclusion).toBe('failure');

    const repaired = await waitFor('a repair commit', () => {
      const now = github.inspect.pull(repo, pull.number);
      return now && now.headSha !== pull.headSha ? now : null;
    });
    const green = await waitFor('CI on the repair commit', () =>
      s.github.ci
        .checkRuns(repo, repaired.headSha)
        .find((c) => c.name === 'test' && c.status === 'completed'),
    );
    expect(green.conclusion).toBe('success');
    const math = await github.inspect.file(repo, repaired.head, 'src/math.js');
    for (const line of FIXED_LINES) expect(math).toContain(line);
    const report = await waitFor('the repair report', () => {
      const c = trackingComment(s, pull.number);
      return c?.body.includes('✅') ? c : null;
    });
    expect(report.body).toContain('attempt 1 of 2');

    // Exactly once: one repair job for the red head and one repair commit, also after every
    // late webhook of the red head (workflow run, statuses) has been handled.
    await github.ci.idle();
    await github.settled();
    await waitFor('the queue to drain', async () =>
      (await s.app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active'])).length === 0 ? true : null,
    );
    const repairs = (await jobsOf(s)).filter(
      (j) => j.data.kind === 'repair-ci' && j.data.trigger?.headSha === pull.headSha,
    );
    expect(repairs).toHaveLength(1);
    const commits = await github.inspect.commits(repo, repaired.head);
    expect(commits.filter((c) => c.message.startsWith('Fix CI'))).toHaveLength(1);
    expect(github.inspect.pull(repo, pull.number)?.headSha).toBe(repaired.headSha);
  });
});
