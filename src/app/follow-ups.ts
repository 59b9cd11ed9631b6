import type { FollowUpReason, FollowUpTrigger, RepoRef, TargetTask } from '../domain/task.js';
import type { Logger } from '../logger.js';
import type { PullMark } from '../queue/follow-up-marks.js';
import type { Target } from '../queue/queue-names.js';
import { effectiveConfigOf } from './config-problems-comment.js';
import type { HandledDeliveryOutcome } from './delivery-outcome.js';
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

/** CI conclusions that mean "the code is red". Cancelled, skipped, neutral and stale are not failures. */
const FAILING = new Set(['failure', 'timed_out', 'action_required', 'startup_failure', 'error']);

export function isFailingConclusion(conclusion: string | null | undefined): boolean {
  return conclusion !== null && conclusion !== undefined && FAILING.has(conclusion.toLowerCase());
}

const DEFAULT_CI_SETTLE_MS = 15_000;
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

function followUpTask(
  target: Target,
  mark: PullMark,
  kind: 'repair-ci' | 'update-branch',
  reason: FollowUpReason,
  headSha?: string,
): TargetTask {
  const { origin } = mark;
  // A maintenance PR has no requester: its task id is the authority (the actor is only a label).
  const trigger: FollowUpTrigger = {
    source: 'follow-up',
    actor: origin.maintenanceTaskId !== undefined ? 'schedule' : origin.requester,
    ...(origin.maintenanceTaskId === undefined && origin.requesterId !== undefined
      ? { actorId: origin.requesterId }
      : {}),
    reason,
    ...(headSha !== undefined ? { headSha } : {}),
  };
  return {
    kind,
    installationId: target.installationId,
    repo: target.repo,
    number: target.number,
    ...(origin.maintenanceTaskId !== undefined ? { maintenanceTaskId: origin.maintenanceTaskId } : {}),
    trigger,
    requestedAt: new Date().toISOString(),
  };
}

/** Adds the follow-up job; a PR with a running job gets it when that job ends. */
async function enqueueFollowUp(
  ctx: IntakeContext,
  task: TargetTask,
  deliveryId: string,
  delayMs: number,
  log: Logger,
): Promise<'enqueued' | 'deferred' | 'duplicate'> {
  const result = await ctx.taskQueue.enqueueTask(task, {
    deliveryId,
    followUp: { delayMs },
  });
  const fields = { number: task.number, kind: task.kind, jobId: result.jobId, reason: reasonOf(task) };
  if (result.status === 'duplicate') {
    ctx.metrics.inc('pullwright_dedup_hits_total', { kind: task.kind, by: 'target' });
    log.info(fields, 'Follow-up joined the queued job for this pull request');
  } else {
    ctx.metrics.inc('pullwright_jobs_enqueued_total', { kind: task.kind });
    log.info(
      fields,
      result.status === 'deferred' ? 'Follow-up queued after the running job' : 'Follow-up enqueued',
    );
  }
  return result.status;
}

function reasonOf(task: TargetTask): string | undefined {
  return task.trigger.source === 'follow-up' ? task.trigger.reason : undefined;
}

export interface CiResult {
  installationId: number;
  repo: RepoRef;
  headSha: string;
  /** What reported it, for logs: check_suite, workflow_run or status. */
  via: string;
  /** The PRs the event lists with their current head (empty for forks and `status`). */
  pulls: { number: number; headSha?: string }[];
  log: Logger;
}

/**
 * A red CI result on some commit. Only a head Pullwright itself pushed last, on a
 * PR Pullwright opened, in a repo with `ci.repair` on, gets a repair; once per head,
 * `ci.maxRepairs` times per PR (counted across heads), then once more for the
 * "still failing, stopping" report. Everything else is ignored: a person's head,
 * a fork's PR, a PR someone else opened (a writer can still ask `@agent fix ci`).
 */
export async function queueRepairForFailedHead(
  ctx: IntakeContext,
  ci: CiResult,
): Promise<HandledDeliveryOutcome> {
  const { installationId, repo, headSha, log } = ci;
  const found = await ctx.followUps.findPullByHead(installationId, repo, headSha);
  if (found === null) {
    log.debug({ headSha, via: ci.via }, 'Red CI on a head Pullwright did not push');
    return 'ignored';
  }
  const { number, mark } = found;
  const target: Target = { installationId, repo, number };
  if (!mark.openedByPullwright) {
    log.info({ number, headSha }, 'Red CI on a PR Pullwright did not open: no automatic repair');
    return 'ignored';
  }
  // A newer head exists (Pullwright pushed again, or a person pushed since, as the event says).
  const listed = ci.pulls.find((p) => p.number === number);
  if (mark.headSha !== headSha || (listed?.headSha !== undefined && listed.headSha !== headSha)) {
    log.info({ number, headSha, lastPushed: mark.headSha }, 'Red CI on a head that is no longer the PR head');
    return 'ignored';
  }
  const config = effectiveConfigOf(ctx, await ctx.repoConfigs.load(installationId, repo));
  if (!config.ci.repair) {
    log.info({ number, headSha }, 'CI repair is off for this repository');
    return 'ignored';
  }
  const claim = await ctx.followUps.claimRepair(target, headSha, { maxRepairs: config.ci.maxRepairs });
  if (claim.status === 'duplicate') {
    ctx.metrics.inc('pullwright_dedup_hits_total', { kind: 'repair-ci', by: 'head' });
    log.info({ number, headSha, via: ci.via }, 'Repair already claimed for this head');
    return 'duplicate';
  }
  log.info(
    {
      number,
      headSha,
      via: ci.via,
      ...(claim.status === 'claimed'
        ? { attempt: claim.attempt, maxAttempts: claim.maxAttempts }
        : { attempts: claim.attempts, maxAttempts: claim.maxAttempts }),
    },
    claim.status === 'claimed' ? 'CI repair claimed' : 'CI repair limit reached: queuing the final report',
  );
  const task = followUpTask(target, mark, 'repair-ci', 'ci-failed', headSha);
  try {
    const status = await enqueueFollowUp(
      ctx,
      task,
      `repair-${headSha}`,
      ctx.settings.ciSettleMs ?? DEFAULT_CI_SETTLE_MS,
      log,
    );
    if (status === 'duplicate') {
      // Another job (a person's revise, a branch update) is queued on this PR and will push a
      // new head: give the claim back so this head does not count as repaired.
      await ctx.followUps.releaseRepair(target, headSha);
      return 'duplicate';
    }
    return 'enqueued';
  } catch (err) {
    await ctx.followUps.releaseRepair(target, headSha).catch(() => {});
    throw err;
  }
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
