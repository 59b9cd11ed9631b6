import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { issueBranch } from '../../worker/flows/flow-config.js';
import { stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 item 1, flaky checks: with `actions: write` granted, a repair first re-runs the
 * failed jobs; a check that then passes is reported as flaky and nothing is changed.
 */
describe('CI repair and flaky checks, end to end', { timeout: 480_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      ci: true,
      repoFiles: {
        '.twin-ci.json': JSON.stringify({ name: 'test', command: 'node --test' }),
        '.github/pullwright.yml': 'ci:\n  maxRepairs: 2\n',
      },
      installationPermissions: {
        contents: 'write',
        issues: 'write',
        pull_requests: 'write',
        metadata: 'read',
        checks: 'write',
        statuses: 'read',
        actions: 'write',
      },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('re-runs the failed job, sees it pass, reports it as flaky and pushes nothing', async () => {
    const { github, repo } = s;
    const title = 'Fix the math';
    const { number } = github.seed.issue({ repo, title, body: 'Please.', author: 'alice' });
    // The PR's first CI run fails, its re-run passes: a flaky test.
    github.ci.outcome({
      repo,
      branch: issueBranch('pullwright/', number, title),
      job: 'test',
      outcomes: ['failure', 'success'],
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const pull = await waitFor('the pull request', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
    const report = await waitFor('the flaky report', () => {
      const c = trackingComment(s, pull.number);
      return c && !c.body.includes('⏳') ? c : null;
    });
    expect(report.body).toContain('Flaky (failed, then passed on a re-run), not repaired');
    expect(report.body).toContain('`test`');
    const runs = github.ci.workflowRuns(repo).filter((r) => r.headSha === pull.headSha);
    expect(runs.some((r) => r.runAttempt === 2 && r.conclusion === 'success')).toBe(true);
    expect(github.inspect.pull(repo, pull.number)?.headSha).toBe(pull.headSha);
  });
});
