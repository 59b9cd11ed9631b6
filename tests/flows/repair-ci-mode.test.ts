import { describe, expect, it } from 'vitest';
import type { TargetTask } from '../../src/domain/task.js';
import type { AgentTask } from '../../worker/agent/tool.js';
import { capLog } from '../../worker/flows/ci/cap-log.js';
import { gatherCiState } from '../../worker/flows/ci/gather-ci-failures.js';
import { createHarness, fakePull, runTask } from './fakes.js';

const HEAD = fakePull().headSha;

function repairTask(overrides: Partial<TargetTask> = {}): TargetTask {
  return {
    kind: 'repair-ci',
    installationId: 1,
    repo: { owner: 'o', name: 'r' },
    number: 12,
    trigger: { actor: 'alice', source: 'follow-up', reason: 'ci-failed', headSha: HEAD },
    requestedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** A harness with the PR, a failed `test` check (annotations, an Actions job with a log) on its head. */
function harness(options: { repairs?: { attempt: number; maxAttempts: number; exhausted: boolean } } = {}) {
  const h = createHarness();
  const pull = fakePull();
  h.github.pulls.push(pull);
  h.github.branches.set(pull.headRef, HEAD);
  const ci = (name: string, conclusion: 'failure' | 'success', sha = HEAD, appSlug = 'github-actions') =>
    h.github.checkRuns.push({
      id: h.github.checkRuns.length + 1,
      name,
      headSha: sha,
      status: 'completed',
      conclusion,
      detailsUrl: null,
      htmlUrl: null,
      startedAt: null,
      completedAt: null,
      output: { title: `${name} ${conclusion}`, summary: '1 test failed', text: null, annotationsCount: 1 },
      annotations: [
        { path: 'src/add.js', startLine: 2, endLine: 2, level: 'failure', message: 'expected 5, got -1' },
      ],
      appSlug,
      checkSuiteId: 1,
    });
  ci('test', 'failure');
  ci('lint', 'success');
  // Pullwright's own check run on the head never counts as CI.
  ci('Pullwright', 'failure', HEAD, 'pullwright');
  h.github.workflowRuns.push({
    id: 500,
    name: 'CI',
    headSha: HEAD,
    headBranch: pull.headRef,
    event: 'pull_request',
    status: 'completed',
    conclusion: 'failure',
    runAttempt: 1,
    htmlUrl: '',
    checkSuiteId: 1,
    pullNumbers: [12],
    createdAt: '',
  });
  h.github.jobs.push({
    id: 900,
    runId: 500,
    runAttempt: 1,
    name: 'test',
    headSha: HEAD,
    status: 'completed',
    conclusion: 'failure',
    htmlUrl: null,
    startedAt: '',
    completedAt: null,
    steps: [],
  });
  h.github.jobLogs.set(
    900,
    '2026-12-06T01:02:03.4567890Z \u001b[31mnot ok 1 - add sums two numbers\u001b[0m\n',
  );
  const seenTasks: AgentTask[] = [];
  const recorded: unknown[] = [];
  h.deps.session.agent = {
    run: async (input) => {
      seenTasks.push(input.task);
      return {
        outcome: 'succeeded',
        summary: 'Fixed add().',
        usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, costUsd: 0.01 },
        turns: 3,
        durationMs: 5,
        plan: [],
        memory: {
          understanding: '',
          decisions: [],
          progress: [],
          filesTouched: [],
          openQuestions: [],
          nextSteps: [],
        },
        memoryBytes: 0,
      };
    },
  };
  h.deps.followUps = {
    getRepair: async () => options.repairs ?? { attempt: 1, maxAttempts: 2, exhausted: false },
    getPull: async () => ({
      origin: { requester: 'alice', kind: 'implement' as const },
      openedByPullwright: true,
      headRef: pull.headRef,
      baseRef: 'main',
      headSha: HEAD,
      pushedAt: '',
      pushedBy: 'implement' as const,
      repairs: 1,
      pushedHeads: [HEAD],
    }),
    claimRepair: async () => ({ status: 'claimed' as const, attempt: 1, maxAttempts: 2 }),
    recordPush: async (_target, push) => {
      recorded.push(push);
    },
  };
  return { h, pull, seenTasks, recorded };
}

const run = (h: ReturnType<typeof createHarness>, task: TargetTask) => runTask(h, task, 'job-r');

/** The twin's re-run of a failed job passes: the check was flaky. */
function rerunsPass(h: ReturnType<typeof createHarness>): void {
  h.github.rerunFailedJobs = async (id) => {
    h.github.reruns.push(id);
    const rerun = h.github.workflowRuns.find((r) => r.id === id)!;
    rerun.runAttempt = 2;
    rerun.conclusion = 'success';
    h.github.checkRuns[0]!.conclusion = 'success';
  };
}

describe('CI logs for the agent', () => {
  it('keep the head and the tail, drop colour codes and Actions timestamps', () => {
    const log = `${'start\n'.repeat(10)}${'middle line\n'.repeat(5_000)}\u001b[31mFAIL add\u001b[0m\nend\n`;
    const capped = capLog(log, 200, 300);
    expect(capped.startsWith('start')).toBe(true);
    expect(capped).toMatch(/lines \(\d+ characters\) omitted/);
    expect(capped.endsWith('FAIL add\nend')).toBe(true);
    expect(capped).not.toContain('\u001b');
    expect(capLog('2026-12-06T01:02:03.1234567Z hello')).toBe('hello');
  });
});

describe('repair-ci mode (orchestration with fakes)', () => {
  it('tells the agent what failed (check output, annotations, the job log) and pushes the repair as a new commit', async () => {
    const { h, pull, seenTasks, recorded } = harness();
    const outcome = await run(h, repairTask());
    expect(outcome.status).toBe('succeeded');
    const task = seenTasks[0];
    expect(task?.kind).toBe('repair-ci');
    if (task?.kind !== 'repair-ci') return;
    expect(task.attempt).toBe(1);
    expect(task.maxAttempts).toBe(2);
    expect(task.failures.map((f) => f.name)).toEqual(['test']);
    expect(task.failures[0]?.annotations[0]).toEqual({
      path: 'src/add.js',
      line: 2,
      message: 'expected 5, got -1',
    });
    expect(task.failures[0]?.log).toBe('not ok 1 - add sums two numbers');
    // A new commit on the PR's branch, on top of the failing head (no force).
    expect(h.pushes).toHaveLength(1);
    expect(h.pushes[0]).toMatchObject({ branch: pull.headRef, parentSha: HEAD });
    expect(h.pushes[0]?.replaceSha).toBeUndefined();
    expect(h.pushes[0]?.message).toMatch(/^Fix CI: test \(#12\)/);
    const tracking = h.github.comments.at(-1)?.body ?? '';
    expect(tracking).toContain('attempt 1 of 2');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ pushedBy: 'repair-ci', baseRef: 'main' });
  });

  it("a writer's @agent fix ci takes the PR's current head and claims an attempt that the limit never refuses", async () => {
    const { h, seenTasks } = harness();
    const claims: unknown[] = [];
    h.deps.followUps!.claimRepair = async (_target, sha, options) => {
      claims.push({ sha, ...options });
      return { status: 'claimed' as const, attempt: 3, maxAttempts: 3 };
    };
    const outcome = await run(
      h,
      repairTask({ trigger: { actor: 'alice', source: 'issue_comment', instruction: 'fix ci' } }),
    );
    expect(outcome.status).toBe('succeeded');
    expect(claims).toEqual([{ sha: HEAD, maxRepairs: 2, requested: true }]);
    expect(seenTasks[0]).toMatchObject({ attempt: 3, maxAttempts: 3, instruction: 'fix ci' });
  });

  it('at the limit runs no agent and reports what still fails', async () => {
    const { h, seenTasks } = harness({ repairs: { attempt: 2, maxAttempts: 2, exhausted: true } });
    const outcome = await run(h, repairTask());
    expect(outcome.status).toBe('limit');
    expect(seenTasks).toHaveLength(0);
    expect(h.pushes).toHaveLength(0);
    expect(h.github.comments.at(-1)?.body).toContain('Still failing');
    expect(h.github.comments.at(-1)?.body).toContain('stopped after 2 repair attempt(s)');
  });

  it('leaves a head it did not push alone, and a branch that moved on', async () => {
    const { h, seenTasks } = harness();
    const other = 'f'.repeat(40);
    expect(
      (
        await run(
          h,
          repairTask({
            trigger: { actor: 'alice', source: 'follow-up', reason: 'ci-failed', headSha: other },
          }),
        )
      ).status,
    ).toBe('skipped');
    h.github.pulls[0]!.headSha = other;
    expect(
      (
        await run(
          h,
          repairTask({
            trigger: { actor: 'alice', source: 'follow-up', reason: 'ci-failed', headSha: other },
          }),
        )
      ).status,
    ).toBe('skipped');
    expect(h.github.comments.at(-1)?.body).toContain('was not pushed by Pullwright');
    expect(seenTasks).toHaveLength(0);
  });

  it('reports a check also failing on the base branch instead of repairing it (first repair only)', async () => {
    const { h, seenTasks } = harness();
    h.github.checkRuns.push({ ...h.github.checkRuns[0]!, id: 99, headSha: 'base000' });
    const outcome = await run(h, repairTask());
    expect(outcome.status).toBe('skipped');
    expect(h.github.comments.at(-1)?.body).toContain('Already failing on the base branch');
    expect(seenTasks).toHaveLength(0);
  });

  it('re-runs failed jobs once when it may (actions: write): a check that then passes is flaky, not repaired', async () => {
    const { h, seenTasks } = harness();
    h.github.tokenPermissions.actions = 'write';
    rerunsPass(h);
    const outcome = await run(h, repairTask());
    expect(h.github.reruns).toEqual([500]);
    expect(outcome.status).toBe('skipped');
    expect(h.github.comments.at(-1)?.body).toContain('Flaky');
    expect(seenTasks).toHaveLength(0);
  }, 15_000);

  it('a statuses-only CI counts too, and a status that mirrors a failed check is not listed twice', async () => {
    const { h } = harness();
    h.github.statuses.push({
      sha: HEAD,
      state: 'failure',
      totalCount: 2,
      statuses: [
        { context: 'ci/test', state: 'failure', description: 'mirror', targetUrl: null, createdAt: '' },
        {
          context: 'deploy/preview',
          state: 'error',
          description: 'preview failed',
          targetUrl: null,
          createdAt: '',
        },
      ],
    });
    const state = await gatherCiState(h.github, HEAD, { botLogin: 'pullwright[bot]' });
    expect(state.failures.map((f) => f.name)).toEqual(['test', 'deploy/preview']);
    expect(state.passed).toEqual(['lint']);
  });
});

describe('repair-ci on fork pull requests', () => {
  const FORK = { owner: 'pw-forks', name: 'o--r' };

  it("on Pullwright's own fork PR, pushes the repair to the fork with the fork's token, never to this repository", async () => {
    const { h, pull } = harness();
    h.github.pulls[0]!.headRepoFullName = `${FORK.owner}/${FORK.name}`;
    h.deps.delivery = { forkOwner: FORK.owner, forceFork: false };
    h.deps.github.forkFor = async () => ({
      repo: FORK,
      token: 'fork-token-secret',
      tokenExpiresAt: '',
      defaultBranch: 'main',
      getBranchSha: async () => HEAD,
    });
    const prepared: { ref: string; refs?: string[] }[] = [];
    const prepare = h.deps.workspaces.prepare;
    h.deps.workspaces.prepare = (input) => {
      prepared.push({ ref: input.ref, refs: input.refs });
      return prepare(input);
    };
    const outcome = await run(h, repairTask());
    expect(outcome.status).toBe('succeeded');
    // The head comes from the base repository's refs/pull/12/head; the push goes to the fork only.
    expect(prepared[0]).toEqual({ ref: HEAD, refs: ['refs/pull/12/head'] });
    expect(h.pushes).toHaveLength(1);
    expect(h.pushes[0]).toMatchObject({
      branch: pull.headRef,
      parentSha: HEAD,
      pushTo: { repo: FORK, token: 'fork-token-secret' },
    });
    const tracking = h.github.comments.at(-1)?.body ?? '';
    expect(tracking).toContain('attempt 1 of 2');
    expect(tracking).toContain('pw-forks/o--r');
    expect(tracking).not.toContain('fork-token-secret');
  });

  it("on a contributor's fork PR, a writer's @agent fix ci is refused with what they can do; nothing runs", async () => {
    const { h, seenTasks } = harness();
    h.github.pulls[0]!.headRepoFullName = 'carol/r';
    h.github.pulls[0]!.headRef = 'fix-things';
    const outcome = await run(
      h,
      repairTask({ trigger: { actor: 'alice', source: 'issue_comment', instruction: 'fix ci' } }),
    );
    expect(outcome.status).toBe('refused');
    expect(seenTasks).toHaveLength(0);
    expect(h.pushes).toHaveLength(0);
    const body = h.github.comments.at(-1)?.body ?? '';
    expect(body).toContain("in its author's fork (`carol/r`)");
    expect(body).toContain('did not repair the checks');
    expect(body).toContain('What you can do:');
    expect(body).toContain('Ask its author to fix the failing checks');
    expect(body).toContain(
      'git fetch origin pull/12/head:pullwright/pr-12 && git push origin pullwright/pr-12',
    );
    // (Mentions in the report are made inert with a zero-width space after the @.)
    expect(body).toMatch(/ask `@\u200b?agent fix ci` there/);
  });
});

describe('flaky-check re-runs that do not hold the worker slot', () => {
  /** The follow-up store's re-run record, in memory (src/queue/ci-reruns.ts on Redis in production). */
  function withRerunStore(h: ReturnType<typeof createHarness>) {
    const records = new Map<string, { status: 'pending' | 'done'; failures: string[] }>();
    Object.assign(h.deps.followUps!, {
      startRerun: async (_t: unknown, sha: string, _runs: unknown, state: { failures: string[] }) => {
        records.set(sha, { status: 'pending', failures: state.failures });
      },
      getRerun: async (_t: unknown, sha: string) => records.get(sha) ?? null,
      forgetRerun: async (_t: unknown, sha: string) => {
        records.delete(sha);
      },
    });
    return records;
  }

  it('starts the re-runs and ends the job; when they finish green the next job reports the check as flaky', async () => {
    const { h, seenTasks } = harness();
    h.github.tokenPermissions.actions = 'write';
    const records = withRerunStore(h);
    let waited = false;
    h.github.getWorkflowRun = async () => {
      waited = true;
      throw new Error('the job must not poll for the re-run');
    };
    const first = await run(h, repairTask());
    expect(first.status).toBe('skipped');
    expect(h.github.reruns).toEqual([500]);
    expect(waited).toBe(false);
    expect(records.get(HEAD)).toEqual({ status: 'pending', failures: ['test'] });
    expect(h.github.comments.at(-1)?.body).toContain('Re-running the failed jobs of');

    // The re-run passed; the app saw its completion and queued the repair again.
    records.set(HEAD, { status: 'done', failures: ['test'] });
    h.github.checkRuns[0]!.conclusion = 'success';
    h.github.workflowRuns[0]!.conclusion = 'success';
    const second = await run(h, repairTask());
    expect(second.status).toBe('skipped');
    expect(h.github.reruns).toEqual([500]);
    expect(h.github.comments.at(-1)?.body).toContain('Flaky (failed, then passed on a re-run), not repaired');
    expect(seenTasks).toHaveLength(0);
    expect(h.pushes).toHaveLength(0);
  });

  it('a check that fails again after the re-run is repaired, without a second re-run', async () => {
    const { h, seenTasks } = harness();
    h.github.tokenPermissions.actions = 'write';
    const records = withRerunStore(h);
    await run(h, repairTask());
    records.set(HEAD, { status: 'done', failures: ['test'] });
    const second = await run(h, repairTask());
    expect(second.status).toBe('succeeded');
    expect(h.github.reruns).toEqual([500]);
    expect(seenTasks).toHaveLength(1);
    expect(h.pushes).toHaveLength(1);
    expect(h.github.comments.at(-1)?.body).not.toContain('Flaky');
  });

  it('a re-run that cannot start leaves no record and the failure is repaired at once', async () => {
    const { h, seenTasks } = harness();
    h.github.tokenPermissions.actions = 'write';
    const records = withRerunStore(h);
    h.github.rerunFailedJobs = async () => {
      throw new Error('forbidden');
    };
    const outcome = await run(h, repairTask());
    expect(outcome.status).toBe('succeeded');
    expect(records.size).toBe(0);
    expect(seenTasks).toHaveLength(1);
  });
});

describe("a writer's @agent fix ci and flaky checks", () => {
  it('waits for its re-runs in place (its PR may have no mark for the app to continue from)', async () => {
    const { h } = harness();
    h.github.tokenPermissions.actions = 'write';
    const started: string[] = [];
    Object.assign(h.deps.followUps!, {
      startRerun: async (_t: unknown, sha: string) => {
        started.push(sha);
      },
      getRerun: async () => null,
      forgetRerun: async () => {},
    });
    rerunsPass(h);
    const outcome = await run(
      h,
      repairTask({ trigger: { actor: 'alice', source: 'issue_comment', instruction: 'fix ci' } }),
    );
    expect(started).toEqual([]);
    expect(h.github.reruns).toEqual([500]);
    expect(outcome.status).toBe('skipped');
    expect(h.github.comments.at(-1)?.body).toContain('Flaky');
  }, 15_000);
});

describe('a re-run that never reported back', () => {
  it("does not hold up a writer's @agent fix ci: it re-runs and waits in place", async () => {
    const { h } = harness();
    h.github.tokenPermissions.actions = 'write';
    Object.assign(h.deps.followUps!, {
      startRerun: async () => {},
      getRerun: async () => ({ status: 'pending' as const, failures: ['test'] }),
      forgetRerun: async () => {},
    });
    rerunsPass(h);
    const outcome = await run(
      h,
      repairTask({ trigger: { actor: 'alice', source: 'issue_comment', instruction: 'fix ci' } }),
    );
    expect(h.github.reruns).toEqual([500]);
    expect(outcome.status).toBe('skipped');
    expect(h.github.comments.at(-1)?.body).toContain('Flaky');
  }, 15_000);
});
