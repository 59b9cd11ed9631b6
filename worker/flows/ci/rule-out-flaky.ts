import type { RerunState } from '../../../src/queue/ci-reruns.js';
import type { FlowContext } from '../flow-context.js';
import { type CiState, gatherCiState } from './gather-ci-failures.js';
import { waitForReruns } from './rerun-failed.js';

/**
 * Re-running failed Actions jobs once before changing code (issue 15 item 1): a check that
 * passes the second time is flaky, not broken. Needs `actions: write`.
 *
 * For a follow-up with the follow-up store (Redis), the repair does not wait for the re-runs in its worker
 * slot: it records what was failing and which runs it re-ran (src/queue/ci-reruns.ts), starts
 * them and ends (`started`); the last re-run's `workflow_run.completed` makes the app queue the
 * repair again, which finds the record `done` and compares (`decided`). A writer's request, or no
 * store (a unit harness), waits in place, bounded by RERUN_TIMEOUT_MS.
 */
export type FlakyCheck =
  /** Re-runs started (or already running): the job ends and continues when they finish. */
  | { kind: 'started' | 'pending' }
  /** `failing`: what still fails (and failed before); `flaky`: what passed on the re-run. */
  | { kind: 'decided'; state: CiState; flaky: string[] }
  /** Not applicable (no permission, no Actions run) or the re-runs could not start. */
  | { kind: 'none' };

export async function ruleOutFlaky(
  ctx: FlowContext,
  input: {
    target: { installationId: number; repo: FlowContext['task']['repo']; number: number };
    headSha: string;
    state: CiState;
    /** This head's re-run record, read before the state was filtered. */
    rerun: RerunState | null;
  },
): Promise<FlakyCheck> {
  const { github } = ctx;
  const { state, headSha, target, rerun } = input;
  const marks = ctx.deps.followUps;
  if (rerun?.status === 'done') {
    const still = new Set(state.failures.map((f) => f.name));
    return {
      kind: 'decided',
      state: { ...state, failures: state.failures.filter((f) => rerun.failures.includes(f.name)) },
      flaky: rerun.failures.filter((name) => !still.has(name)),
    };
  }
  if (
    state.failures.length === 0 ||
    github.tokenPermissions.actions !== 'write' ||
    state.failedRuns.length === 0
  )
    return { kind: 'none' };
  const followUp = ctx.task.trigger.source === 'follow-up';
  // A writer asking meanwhile is not held up by a record whose re-run never reported back.
  if (rerun?.status === 'pending' && followUp) return { kind: 'pending' };
  ctx.tracking?.update({ step: 'Re-running the failed jobs to rule out flakiness' });
  // Only a follow-up continues by webhook: the app finds its PR by the recorded head and queues the
  // continuation for the PR's requester. A writer's `@agent fix ci` (maybe on a PR Pullwright never
  // pushed to, so without a mark) waits for its re-runs in place, as it is theirs.
  if (followUp && rerun === null && marks?.startRerun && marks.forgetRerun) {
    // Recorded first: a re-run that finishes at once must find the record.
    await marks.startRerun(
      target,
      headSha,
      state.failedRuns.map((r) => ({ id: r.id, runAttempt: r.runAttempt })),
      { failures: state.failures.map((f) => f.name) },
    );
    try {
      for (const run of state.failedRuns) await github.rerunFailedJobs(run.id);
      return { kind: 'started' };
    } catch (err) {
      // Without re-runs the failures are treated as real, as when re-runs are not allowed.
      ctx.log.warn({ err }, 'Could not re-run the failed jobs');
      await marks.forgetRerun(target, headSha);
      return { kind: 'none' };
    }
  }
  if (!(await waitForReruns(github, state.failedRuns, ctx.signal))) return { kind: 'none' };
  const again = await gatherCiState(github, headSha, { botLogin: ctx.deps.bot.login });
  const still = new Set(again.failures.map((f) => f.name));
  return {
    kind: 'decided',
    state: {
      ...again,
      failures: again.failures.filter((f) => state.failures.some((g) => g.name === f.name)),
    },
    flaky: state.failures.filter((f) => !still.has(f.name)).map((f) => f.name),
  };
}
