import type { WorkflowRunData } from '../../../src/github/ci-data.js';
import type { RepoGitHub } from '../../../src/github/github-for-worker.js';
import { checkCancelled } from '../../session/check-cancelled.js';

/** How long a repair waits for re-runs to finish before repairing anyway. */
export const RERUN_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 2_000;

/**
 * Re-runs the failed jobs of each failed workflow run once (needs `actions: write`, which an
 * installation may grant) and waits until every re-run finished. False when a re-run could
 * not be started or did not finish in time: the caller then treats the failures as real.
 */
export async function waitForReruns(
  github: Pick<RepoGitHub, 'rerunFailedJobs' | 'getWorkflowRun'>,
  runs: WorkflowRunData[],
  signal: AbortSignal,
  timeoutMs = RERUN_TIMEOUT_MS,
): Promise<boolean> {
  // The attempt each run was at before the re-run: finished means a later attempt completed.
  const waiting = new Map(runs.map((r) => [r.id, r.runAttempt]));
  try {
    for (const run of runs) await github.rerunFailedJobs(run.id);
  } catch {
    return false;
  }
  const deadline = Date.now() + timeoutMs;
  // Polled quickly at first (a short job), then every POLL_MS.
  for (let n = 0; waiting.size > 0; n++) {
    checkCancelled(signal);
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, 100 * 2 ** n)));
    for (const [id, attempt] of [...waiting]) {
      const now = await github.getWorkflowRun(id);
      if (now.runAttempt > attempt && now.status === 'completed') waiting.delete(id);
    }
  }
  return true;
}
