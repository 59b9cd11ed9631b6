import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { jobsOf, stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 item 1, flaky checks: with `actions: write` granted, a repair first re-runs the
 * failed jobs and ends its job (no worker slot waits for CI); the re-run's completion queues it
 * again, and a check that then passes is reported as flaky and nothing is changed.
 */
/**
 * A genuinely flaky job: its first attempt fails, any later one passes (a marker file on the
 * host, where the twin's CI runs). It takes a few seconds, like real CI: a red result that
 * arrives before Pullwright has opened the PR and recorded its head is not repaired (a known
 * gap of the follow-ups, see the issue note), and a scripted instant outcome hit it under load.
 */
const marker = join(tmpdir(), `pw-flaky-${process.pid}-${Date.now().toString(36)}`);
const FLAKY = `sleep 5; if [ -e '${marker}' ]; then exit 0; fi; touch '${marker}'; echo 'not ok 1 - flaky'; exit 1`;

describe('CI repair and flaky checks, end to end', { timeout: 480_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      ci: true,
      repoFiles: {
        '.twin-ci.json': JSON.stringify({ name: 'test', command: FLAKY }),
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
    rmSync(marker, { force: true });
  });

  it('re-runs the failed job, sees it pass, reports it as flaky and pushes nothing', async () => {
    const { github, repo } = s;
    const title = 'Fix the math';
    const { number } = github.seed.issue({ repo, title, body: 'Please.', author: 'alice' });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const pull = await waitFor('the pull request', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
    // The first repair job starts the re-run and ends; the re-run's completion continues it.
    const report = await waitFor('the flaky report', () => {
      const c = trackingComment(s, pull.number);
      return c && !c.body.includes('⏳') && !c.body.includes('Re-running the failed jobs') ? c : null;
    });
    expect(report.body).toContain('Flaky (failed, then passed on a re-run), not repaired');
    expect(report.body).toContain('`test`');
    const runs = github.ci.workflowRuns(repo).filter((r) => r.headSha === pull.headSha);
    expect(runs.some((r) => r.runAttempt === 2 && r.conclusion === 'success')).toBe(true);
    expect(github.inspect.pull(repo, pull.number)?.headSha).toBe(pull.headSha);

    // No worker slot was held while the re-run ran: the first job had finished before it completed.
    const repairs = (await jobsOf(s))
      .filter((j) => j.data.kind === 'repair-ci' && j.data.number === pull.number)
      .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
    expect(repairs).toHaveLength(2);
    expect(repairs[1]?.id).toContain(`rerun-${pull.headSha}`);
    const rerunDone = github.deliveries.find(
      (d) =>
        d.event === 'workflow_run' &&
        d.action === 'completed' &&
        d.body.includes(pull.headSha) &&
        d.body.includes('"run_attempt":2'),
    );
    expect(rerunDone).toBeDefined();
    expect(repairs[0]?.finishedOn).toBeLessThan(Date.parse(rerunDone!.at));
  });
});
