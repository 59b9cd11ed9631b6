import type { RepoRef } from '../domain/task.js';
import type { Logger } from '../logger.js';
import type { Target } from '../queue/queue-names.js';
import { effectiveConfigOf } from './config-problems-comment.js';
import type { HandledDeliveryOutcome } from './delivery-outcome.js';
import {
  type CiResult,
  DEFAULT_CI_SETTLE_MS,
  enqueueFollowUp,
  followUpTask,
  queueCiRepair,
  type RepairIntake,
} from './follow-up-queue.js';
import type { IntakeContext } from './intake-context.js';

/**
 * Follow-ups: work the app queues by itself on a pull request Pullwright opened,
 * when its CI fails on a head Pullwright pushed (`repair-ci`) or its base moves
 * and it conflicts or falls behind (`update-branch`).
 *
 * Whose authority: never the webhook's sender (a CI bot, whoever pushed to the
 * base). A follow-up acts for the person whose request opened the PR (recorded by
 * the worker with the push, `src/queue/follow-up-marks.ts`), and the worker
 * re-checks that person's write access; a maintenance PR's follow-up carries its
 * task id, which the worker re-checks against the config.
 */

export { type CiResult, isFailingConclusion } from './follow-up-queue.js';

const MERGEABILITY_CONCURRENCY = 4;

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** The app's side of the repair decision: its marks, queue, counters and the repo's cached config. */
export function repairIntakeOf(ctx: IntakeContext): RepairIntake {
  return {
    followUps: ctx.followUps,
    taskQueue: ctx.taskQueue,
    metrics: ctx.metrics,
    settleMs: ctx.settings.ciSettleMs ?? DEFAULT_CI_SETTLE_MS,
    async ciSettings(installationId, repo) {
      return effectiveConfigOf(ctx, await ctx.repoConfigs.load(installationId, repo)).ci;
    },
  };
}

/**
 * A red CI result reported by a webhook: the shared decision (src/app/follow-up-queue.ts).
 * A red result that comes before the worker recorded the head is ignored here; the worker
 * reconciles it when it records the head (worker/flows/reconcile-ci.ts).
 */
export function queueRepairForFailedHead(ctx: IntakeContext, ci: CiResult): Promise<HandledDeliveryOutcome> {
  return queueCiRepair(repairIntakeOf(ctx), ci);
}

/**
 * A re-run of a workflow run finished (`run_attempt` > 1). When it is one Pullwright started
 * to rule out a flaky check (the repair records them, src/queue/ci-reruns.ts) and the last of
 * them, the repair of that head is queued again, exactly once, green or red: it compares what
 * failed before with what fails now. The repair that started the re-runs released its worker
 * slot instead of waiting for them.
 */
export async function continueAfterRerun(
  ctx: IntakeContext,
  input: {
    installationId: number;
    repo: RepoRef;
    headSha: string;
    runId: number;
    runAttempt: number;
    log: Logger;
  },
): Promise<HandledDeliveryOutcome> {
  const { installationId, repo, headSha, log } = input;
  const found = await ctx.followUps.findPullByHead(installationId, repo, headSha);
  if (found === null) return 'ignored';
  const target: Target = { installationId, repo, number: found.number };
  if (!(await ctx.followUps.rerunFinished(target, headSha, input.runId, input.runAttempt))) return 'ignored';
  log.info({ number: found.number, headSha }, 'Re-runs finished: continuing the repair');
  const task = followUpTask(target, found.mark, 'repair-ci', 'ci-failed', headSha);
  const status = await enqueueFollowUp(ctx, task, `rerun-${headSha}`, 0, log);
  return status === 'duplicate' ? 'duplicate' : 'enqueued';
}

/**
 * A push to branch `baseRef`: Pullwright's open PRs on that base that now conflict
 * (GitHub's `mergeable: false`), or with `updateBranch: always-behind` that lack the
 * new base commits, get an `update-branch` follow-up, once per (PR, base head).
 * `updateBranch: off` turns it off. Runs after the delivery is answered: GitHub
 * computes mergeability asynchronously, which can take seconds.
 */
export async function queueBranchUpdates(
  ctx: IntakeContext,
  input: { installationId: number; repo: RepoRef; baseRef: string; baseSha: string; log: Logger },
): Promise<number> {
  const { installationId, repo, baseRef, baseSha, log } = input;
  const pulls = (await ctx.followUps.listPullsOnBase(installationId, repo, baseRef)).filter(
    (p) => p.mark.openedByPullwright,
  );
  if (pulls.length === 0) return 0;
  const config = effectiveConfigOf(ctx, await ctx.repoConfigs.load(installationId, repo));
  if (config.updateBranch === 'off') {
    log.info({ baseRef, pulls: pulls.length }, 'Branch updates are off for this repository');
    return 0;
  }
  let queued = 0;
  // GitHub computes mergeability in the background: poll a few PRs at once, not one after another.
  await forEachLimited(pulls, MERGEABILITY_CONCURRENCY, async ({ number, mark }) => {
    const target: Target = { installationId, repo, number };
    try {
      const pull = await ctx.github.getPullMergeability(installationId, repo, number, {
        timeoutMs: ctx.settings.mergeabilityTimeoutMs ?? 10_000,
      });
      if (pull.state !== 'open') {
        await ctx.followUps.forgetPull(target);
        return;
      }
      // The PR was retargeted since Pullwright last pushed: its base is not this branch now.
      if (pull.baseRef !== baseRef) return;
      let reason: 'conflict' | 'behind' | null = null;
      if (pull.mergeable === null) {
        // GitHub had not computed it within the timeout: the next base push checks again.
        log.warn({ number }, 'Mergeability still unknown: branch update not checked');
      }
      if (pull.mergeable === false) reason = 'conflict';
      else if (config.updateBranch === 'always-behind') {
        const compare = await ctx.github.compareCommits(installationId, repo, baseSha, pull.headSha);
        if (compare.behindBy > 0) reason = 'behind';
      }
      if (reason === null) {
        log.debug({ number, mergeable: pull.mergeable }, 'Pull request still current enough');
        return;
      }
      if (!(await ctx.followUps.claimUpdate(target, baseSha))) return;
      const task = followUpTask(target, mark, 'update-branch', reason);
      try {
        const status = await enqueueFollowUp(ctx, task, `update-${baseSha}`, 0, log);
        if (status === 'duplicate') await ctx.followUps.releaseUpdate(target, baseSha);
        else queued++;
      } catch (err) {
        await ctx.followUps.releaseUpdate(target, baseSha).catch(() => {});
        throw err;
      }
    } catch (err) {
      // One PR failing (GitHub blip) does not stop the others.
      log.warn({ err, number }, 'Branch update check failed');
    }
  });
  return queued;
}
